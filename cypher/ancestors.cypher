// ancestors: the chain of parents of an intent, nearest first, up to the root.
// Returns: distance, id, JSON. Parameters: $id.
:param id => 'demo';
MATCH path = (:Intent {id: $id})-[:IS_SUBGOAL_OF*1..]->(a:Intent)
RETURN length(path) AS distance, a.id, a.data
ORDER BY distance
