// put intents: store new intents (put, put_many), one row per intent, with their change-feed
// records in one IntentChange node (seqs $first on, intent_ids, statuses), in one query. A new
// intent has no edges: nothing unmet, held or open, and it is ready (rp) when its status is
// actionable. Rows leave out absent values (a new intent has nothing to remove), so fewer
// parameters travel.
// Returns: nothing. Parameters: $rows, property maps as for create_intents.cypher without the
// maintained state; $first (the change number of the first row), $actionable (the actionable
// statuses).
:param rows => [{id: 'demo', name: 'demo', goal: '', status: 'active', priority: 0, version: 1, data: '{"id":"demo"}'}];
:param first => 1; :param actionable => ['active'];
UNWIND $rows AS r
CREATE (i:Intent)
SET i = r, i.unmet = 0, i.held = 0, i.open_subgoals = 0,
    i.rp = CASE WHEN r.status IN $actionable THEN r.priority END
WITH count(*) AS created
CREATE (:IntentChange {seq: $first + size($rows) - 1, first: $first,
                       seqs: range($first, $first + size($rows) - 1), op: 'put',
                       intent_ids: [r IN $rows | r.id], statuses: [r IN $rows | r.status]})
