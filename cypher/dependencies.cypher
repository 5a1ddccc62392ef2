// dependencies: one breadth-first layer of dependencies: for each intent given, what it waits
// for (DEPENDS_ON out of it, BLOCKS into it). intentgraph calls it once per layer for
// transitive closures, keeping the visited set itself.
// Returns: id, list of dependency ids (one entry per blocking edge). Parameters: $ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
RETURN id, [(n)-[:DEPENDS_ON]->(d:Intent) | d.id] + [(n)<-[:BLOCKS]-(b:Intent) | b.id]
