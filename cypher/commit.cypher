// commit: the commit point of a transaction on FalkorDB: one query that publishes
// its changes to the change feed's readers and drops its undo records.
// Returns: nothing. Parameters: none.
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.changes_committed = m.changes
WITH count(*) AS meta_n
OPTIONAL MATCH (u:IntentGraphUndo)
DELETE u
