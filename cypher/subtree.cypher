// subtree: everything below an intent, each with its parent (subtree, plan).
// Returns: parent id, JSON, one row per descendant at any depth (the intent itself is
// get.cypher's row). intentgraph derives each depth from the parent ids and orders by depth,
// then id; a row per descendant, two columns, keeps the answer as small as the raw walk's.
// Parameters: $id.
:param id => 'demo';
MATCH (:Intent {id: $id})<-[:IS_SUBGOAL_OF*0..]-(p:Intent)<-[:IS_SUBGOAL_OF]-(n:Intent)
RETURN p.id, n.data
