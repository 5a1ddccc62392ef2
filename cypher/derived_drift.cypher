// derived drift: the intents whose maintained state (unmet, open_subgoals, held, rp)
// differs from a recomputation from the statuses and edges (check_integrity).
// Returns: one row per such intent: id. Parameters: $done, $finished, $holding, $actionable.
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
RETURN n.id
