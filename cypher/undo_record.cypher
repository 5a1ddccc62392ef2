// undo record: (FalkorDB) the start of every change query inside a transaction on FalkorDB,
// which has no transaction of its own: it records, in the same query as the change, how to
// undo it. intentgraph sends this query's text without its last line, followed by the change.
// Returns: one row. Parameters: $undo_seq (numbers the records of a transaction), $undo_op
// (the undo record, JSON).
:param undo_seq => 1; :param undo_op => '{"op": "drop_intents", "ids": ["demo"]}';
CREATE (:IntentGraphUndo {seq: $undo_seq, op: $undo_op})
WITH count(*) AS undo_n
RETURN undo_n
