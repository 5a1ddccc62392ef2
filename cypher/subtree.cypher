// subtree: an intent and its descendants, with their depth and parent (subtree, plan).
// Returns: depth, id, parent id (null for the root), JSON; intentgraph orders by depth, id.
// Parameters: $id, $max_depth (null: no limit).
:param id => 'demo'; :param max_depth => null;
MATCH path = (:Intent {id: $id})<-[:IS_SUBGOAL_OF*0..]-(n:Intent)
WITH n, length(path) AS depth, nodes(path) AS chain
WHERE $max_depth IS NULL OR depth <= $max_depth
RETURN depth, n.id, CASE WHEN depth = 0 THEN null ELSE chain[depth - 1].id END, n.data
