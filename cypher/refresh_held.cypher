// refresh held: for each intent given, recompute whether a suspended, failed or archived
// ancestor holds it; where that changed, recompute its whole subtree, and whether each is
// ready (rp). Returns: nothing.
// Parameters: $ids, $holding (the holding statuses), $actionable.
:param ids => ['demo']; :param holding => ['archived', 'failed', 'suspended'];
:param actionable => ['active'];
UNWIND $ids AS id
MATCH (r:Intent {id: id})
OPTIONAL MATCH (r)-[:IS_SUBGOAL_OF]->(p:Intent)
WITH r, CASE WHEN p.held = 1 OR p.status IN $holding THEN 1 ELSE 0 END AS h
WHERE r.held <> h
MATCH (r)<-[:IS_SUBGOAL_OF*0..]-(n:Intent)
WITH DISTINCT n
WITH n, CASE WHEN size([(n)-[:IS_SUBGOAL_OF*1..]->(a:Intent) WHERE a.status IN $holding | a]) > 0
             THEN 1 ELSE 0 END AS held
SET n.held = held,
    n.rp = CASE WHEN n.status IN $actionable AND n.unmet = 0 AND held = 0
                     AND n.open_subgoals = 0 THEN n.priority END
