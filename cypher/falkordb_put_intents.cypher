// falkordb put intents: (FalkorDB) put_intents.cypher with the maintained state set by the
// query instead of sent in the rows: FalkorDB's client writes every parameter into the query
// text, where four more values per row cost more than these SET items (see
// backends/_cypher_dialect.py, state_in_rows).
// Returns: nothing. Parameters: $rows, property maps as for put_intents.cypher without
// unmet, held, open_subgoals and rp; $first (the change number of the first row);
// $actionable (the actionable statuses).
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
