// feed record: the start of every change query that adds to the change feed (changes()):
// one IntentChange node per intent or edge the change touches, numbered on from the schema
// node's counter, in the same query as the change. intentgraph sends this query's text
// without its last line, followed by the change.
// Returns: one row. Parameters: $feed (list of {seq, op, intent_id, target, type, status}),
// $feed_last (the counter after them), $feed_mark (the committed mark readers go by: the
// same number on Neo4j, whose readers see only committed data; null on FalkorDB, where the
// commit query moves it).
:param feed => [{seq: 1, op: 'put', intent_id: 'demo', target: null, type: null, status: 'active'}];
:param feed_last => 1; :param feed_mark => 1;
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.changes = $feed_last, m.changes_committed = coalesce($feed_mark, m.changes_committed)
FOREACH (c IN $feed |
  CREATE (:IntentChange {seq: c.seq, op: c.op, intent_id: c.intent_id, target: c.target,
                         type: c.type, status: c.status}))
WITH count(*) AS feed_n
RETURN feed_n
