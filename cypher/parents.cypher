// parents: the parent (IS_SUBGOAL_OF target) of each of these intents.
// Returns: child id, parent id, one row per intent that has a parent. Parameters: $ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (:Intent {id: id})-[:IS_SUBGOAL_OF]->(p:Intent)
RETURN id, p.id
