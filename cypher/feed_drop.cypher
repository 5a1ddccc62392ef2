// feed drop: forget the change feed's records after a number (the undo of a change that
// recorded some): the counter goes back to it, and so does the committed mark if it was past.
// Returns: nothing. Parameters: $after.
:param after => 0;
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.changes = $after,
    m.changes_committed = CASE WHEN m.changes_committed > $after THEN $after
                               ELSE m.changes_committed END
WITH count(*) AS meta_n
MATCH (c:IntentChange)
WHERE c.seq > $after
DELETE c
