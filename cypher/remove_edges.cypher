// remove edges: delete edges given by (source, target, type) (remove_edge, undo of an add).
// Returns: source, target, type and the JSON of each edge removed.
// Parameters: $keys, a list of {source, target, type} maps.
:param keys => [{source: 'a', target: 'b', type: 'DEPENDS_ON'}];
UNWIND $keys AS k
MATCH (:Intent {id: k.source})-[r]->(:Intent {id: k.target})
WHERE type(r) = k.type
WITH k, r, r.data AS data
DELETE r
RETURN k.source, k.target, k.type, data
