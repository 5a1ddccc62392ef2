// merge edges: add edges, or replace the properties of existing ones (add_edge, add_edges).
// One FOREACH per edge type: a relationship type cannot be a parameter, and every type comes
// from intentgraph's EdgeType, never from the caller's text.
// Returns: nothing. Parameters: $rows, a list of {source, target, type, props} maps; props
// holds data (the edge as JSON), weight, created_at and metadata (JSON text).
:param rows => [{source: 'a', target: 'b', type: 'DEPENDS_ON', props: {data: '{}', created_at: '2025-01-01T00:00:00Z', metadata: '{}'}}];
UNWIND $rows AS r
MATCH (s:Intent {id: r.source})
MATCH (t:Intent {id: r.target})
FOREACH (_ IN CASE WHEN r.type = 'IS_SUBGOAL_OF' THEN [1] ELSE [] END |
  MERGE (s)-[e:IS_SUBGOAL_OF]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'DEPENDS_ON' THEN [1] ELSE [] END |
  MERGE (s)-[e:DEPENDS_ON]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'BLOCKS' THEN [1] ELSE [] END |
  MERGE (s)-[e:BLOCKS]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'CONFLICTS_WITH' THEN [1] ELSE [] END |
  MERGE (s)-[e:CONFLICTS_WITH]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'ENABLES' THEN [1] ELSE [] END |
  MERGE (s)-[e:ENABLES]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'RELATED_TO' THEN [1] ELSE [] END |
  MERGE (s)-[e:RELATED_TO]->(t) SET e = r.props)
FOREACH (_ IN CASE WHEN r.type = 'TRIGGERED_BY' THEN [1] ELSE [] END |
  MERGE (s)-[e:TRIGGERED_BY]->(t) SET e = r.props)
