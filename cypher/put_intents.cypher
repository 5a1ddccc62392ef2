// put intents: store new intents (put, put_many), one row per intent, with their change-feed
// records in one IntentChange node (seqs $first on, intent_ids, statuses), in one query. Rows
// leave out absent values (a new intent has nothing to remove), so fewer parameters travel;
// they carry the maintained state (a new intent has no edges: nothing unmet, held or open),
// since one SET of the whole map is what ArcadeDB does fastest.
// Returns: nothing. Parameters: $rows, property maps as for create_intents.cypher;
// $first (the change number of the first row).
:param rows => [{id: 'demo', name: 'demo', goal: '', status: 'active', priority: 0, version: 1, unmet: 0, held: 0, open_subgoals: 0, rp: 0, data: '{"id":"demo"}'}];
:param first => 1;
UNWIND $rows AS r
CREATE (i:Intent)
SET i = r
WITH count(*) AS created
CREATE (:IntentChange {seq: $first + size($rows) - 1, first: $first,
                       seqs: range($first, $first + size($rows) - 1), op: 'put',
                       intent_ids: [r IN $rows | r.id], statuses: [r IN $rows | r.status]})
