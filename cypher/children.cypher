// children: the direct subgoals of an intent.
// Returns: id, JSON, one row per child (intentgraph orders them by id). Parameters: $id.
:param id => 'demo';
MATCH (:Intent {id: $id})<-[:IS_SUBGOAL_OF]-(c:Intent)
RETURN c.id, c.data
