// impact layer: one breadth-first layer of the walk impact() and blocked() make: for each
// intent given, its subgoals, what waits for it (dependents), and its parent, each with its
// status. Returns: id, list of [child id, status], list of [dependent id, status] (one entry
// per blocking edge), list of [parent id, status]. Parameters: $ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
RETURN id,
  [(n)<-[:IS_SUBGOAL_OF]-(c:Intent) | [c.id, c.status]],
  [(n)<-[:DEPENDS_ON]-(d:Intent) | [d.id, d.status]]
    + [(n)-[:BLOCKS]->(b:Intent) | [b.id, b.status]],
  [(n)-[:IS_SUBGOAL_OF]->(p:Intent) | [p.id, p.status]]
