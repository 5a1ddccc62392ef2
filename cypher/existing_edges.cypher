// existing edges: which of these (source, target, type) edges are stored, with their JSON.
// Returns: source, target, type, JSON, one row per stored edge.
// Parameters: $keys, a list of {source, target, type} maps.
:param keys => [{source: 'a', target: 'b', type: 'DEPENDS_ON'}];
UNWIND $keys AS k
MATCH (s:Intent {id: k.source})-[r]->(t:Intent {id: k.target})
WHERE type(r) = k.type
RETURN k.source, k.target, k.type, r.data
