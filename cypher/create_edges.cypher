// create edges: add edges known to be new (add_edges, after its checks: cheaper than MERGE).
// One FOREACH per edge type: a relationship type cannot be a parameter, and every type comes
// from intentgraph's EdgeType, never from the caller's text.
// Returns: how many edges it wrote (fewer than the rows: an endpoint is not stored, which
// add_edges then names). Parameters: $rows, as for merge_edges.cypher.
:param rows => [{source: 'a', target: 'b', type: 'DEPENDS_ON', props: {data: '{}', created_at: '2025-01-01T00:00:00Z', metadata: '{}'}}];
UNWIND $rows AS r
MATCH (s:Intent {id: r.source})
MATCH (t:Intent {id: r.target})
FOREACH (_ IN CASE WHEN r.type = 'IS_SUBGOAL_OF' THEN [1] ELSE [] END |
  CREATE (s)-[e:IS_SUBGOAL_OF]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'DEPENDS_ON' THEN [1] ELSE [] END |
  CREATE (s)-[e:DEPENDS_ON]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'BLOCKS' THEN [1] ELSE [] END |
  CREATE (s)-[e:BLOCKS]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'CONFLICTS_WITH' THEN [1] ELSE [] END |
  CREATE (s)-[e:CONFLICTS_WITH]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'ENABLES' THEN [1] ELSE [] END |
  CREATE (s)-[e:ENABLES]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'RELATED_TO' THEN [1] ELSE [] END |
  CREATE (s)-[e:RELATED_TO]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'TRIGGERED_BY' THEN [1] ELSE [] END |
  CREATE (s)-[e:TRIGGERED_BY]->(t) SET e = r.props)
WITH count(*) AS made
RETURN made
