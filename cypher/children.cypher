// children: the direct subgoals of an intent.
// Returns: id, JSON, one row per child (intentgraph orders them by id). Parameters: $id.
:param id => 'demo';
MATCH (c:Intent)-[:IS_SUBGOAL_OF]->(:Intent {id: $id})
RETURN c.id, c.data
