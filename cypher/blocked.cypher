// blocked: actionable intents that cannot run yet: waiting for an unfinished dependency
// (unmet > 0) or subgoal (open_subgoals > 0), or held by a suspended, failed or archived
// ancestor (held = 1), with the dependencies and subgoals they wait for.
// Returns: id, JSON, the JSON of each dependency not completed (one per blocking edge), the
// JSON of each subgoal not finished; intentgraph orders them.
// Parameters: $actionable (the actionable statuses), $done (completed), $finished (the
// finished subgoal statuses).
:param actionable => ['active']; :param done => 'completed';
:param finished => ['archived', 'completed'];
MATCH (i:Intent)
WHERE i.status IN $actionable AND (i.unmet > 0 OR i.held > 0 OR i.open_subgoals > 0)
RETURN i.id, i.data,
  [(i)-[:DEPENDS_ON]->(d:Intent) WHERE d.status <> $done | d.data]
    + [(i)<-[:BLOCKS]-(b:Intent) WHERE b.status <> $done | b.data],
  [(i)<-[:IS_SUBGOAL_OF]-(c:Intent) WHERE NOT c.status IN $finished | c.data]
