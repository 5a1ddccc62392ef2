// refresh unmet: recount, for each intent given, its blocking edges to a dependency that is
// not completed, and whether it is ready (rp). Run in the same transaction as every write that
// can change them. Returns: nothing.
// Parameters: $ids, $done (the completed status), $actionable (the actionable statuses).
:param ids => ['demo']; :param done => 'completed'; :param actionable => ['active'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
WITH n, size([(n)-[:DEPENDS_ON]->(d:Intent) WHERE d.status <> $done | d])
      + size([(n)<-[:BLOCKS]-(b:Intent) WHERE b.status <> $done | b]) AS unmet
SET n.unmet = unmet,
    n.rp = CASE WHEN n.status IN $actionable AND unmet = 0 AND n.held = 0
                     AND n.open_subgoals = 0 THEN n.priority END
