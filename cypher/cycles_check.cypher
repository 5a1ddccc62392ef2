// cycles check: every blocking edge as (dependent, dependency): DEPENDS_ON as it is, BLOCKS
// reversed. intentgraph finds cycles (cycles(), plan(), stats(), a bulk add_edges) on these.
// Returns: dependent id, dependency id. Parameters: none.
MATCH (a:Intent)-[:DEPENDS_ON]->(b:Intent)
RETURN a.id, b.id
UNION ALL
MATCH (b:Intent)-[:BLOCKS]->(a:Intent)
RETURN a.id, b.id
