// derived rebuild: recompute the maintained state (unmet, open_subgoals, held, rp) where it
// differs from the statuses and edges (rebuild_derived_state, and after a bulk load).
// Returns: how many intents changed. Parameters: $done, $finished, $holding, $actionable.
:param done => 'completed'; :param finished => ['archived', 'completed'];
:param holding => ['archived', 'failed', 'suspended']; :param actionable => ['active'];
MATCH (n:Intent)
WITH n,
  size([(n)-[:DEPENDS_ON]->(d:Intent) WHERE d.status <> $done | d])
    + size([(n)<-[:BLOCKS]-(b:Intent) WHERE b.status <> $done | b]) AS unmet,
  size([(n)<-[:IS_SUBGOAL_OF]-(c:Intent) WHERE NOT c.status IN $finished | c]) AS open,
  CASE WHEN size([(n)-[:IS_SUBGOAL_OF*1..]->(a:Intent) WHERE a.status IN $holding | a]) > 0
       THEN 1 ELSE 0 END AS held
WITH n, unmet, open, held,
  CASE WHEN n.status IN $actionable AND unmet = 0 AND held = 0 AND open = 0
       THEN n.priority END AS rp
WHERE coalesce(n.unmet <> unmet, true) OR coalesce(n.open_subgoals <> open, true)
   OR coalesce(n.held <> held, true) OR (n.rp IS NULL) <> (rp IS NULL) OR n.rp <> rp
SET n.unmet = unmet, n.open_subgoals = open, n.held = held, n.rp = rp
RETURN count(n)
