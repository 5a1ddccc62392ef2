// refresh open: recount, for each intent given, its subgoals that are not finished (neither
// completed nor archived: a parent waits for those), and whether it is ready (rp). Run in the
// same transaction as every write that can change them. Returns: nothing.
// Parameters: $ids, $finished (the finished subgoal statuses), $actionable.
:param ids => ['demo']; :param finished => ['archived', 'completed'];
:param actionable => ['active'];
UNWIND $ids AS id
MATCH (n:Intent {id: id})
WITH n, size([(n)<-[:IS_SUBGOAL_OF]-(c:Intent) WHERE NOT c.status IN $finished | c]) AS open
SET n.open_subgoals = open,
    n.rp = CASE WHEN n.status IN $actionable AND n.unmet = 0 AND n.held = 0 AND open = 0
                THEN n.priority END
