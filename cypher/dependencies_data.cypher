// dependencies data: one breadth-first layer of dependencies (dependencies(), transitive or
// not), with each dependency's JSON, so that a closure needs no other query.
// Returns: id, list of [dependency id, JSON] (one entry per blocking edge). Parameters: $ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
RETURN id, [(n)-[:DEPENDS_ON]->(d:Intent) | [d.id, d.data]]
  + [(n)<-[:BLOCKS]-(b:Intent) | [b.id, b.data]]
