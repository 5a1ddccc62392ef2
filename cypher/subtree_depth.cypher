// subtree depth: everything below an intent down to a depth, each with its parent
// (subtree with max_depth).
// Returns: parent id, JSON, one row per descendant at most $max_depth levels down (see
// subtree.cypher). Parameters: $id, $max_depth (at least 1).
:param id => 'demo'; :param max_depth => 2;
MATCH path = (:Intent {id: $id})<-[:IS_SUBGOAL_OF*0..]-(p:Intent)<-[:IS_SUBGOAL_OF]-(n:Intent)
WHERE length(path) <= $max_depth
RETURN p.id, n.data
