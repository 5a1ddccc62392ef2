// undo after: (FalkorDB) the undo records of the open transaction after a number, newest
// first (a rollback applies them in this order).
// Returns: seq, the record (JSON). Parameters: $after.
:param after => -1;
MATCH (u:IntentGraphUndo)
WHERE u.seq > $after
RETURN u.seq, u.op
ORDER BY u.seq DESC
