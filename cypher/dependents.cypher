// dependents: one breadth-first layer of dependents: for each intent given, what waits for it
// (DEPENDS_ON into it, BLOCKS out of it).
// Returns: id, list of dependent ids (one entry per blocking edge). Parameters: $ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
RETURN id, [(n)<-[:DEPENDS_ON]-(d:Intent) | d.id] + [(n)-[:BLOCKS]->(b:Intent) | b.id]
