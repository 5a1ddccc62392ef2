// feed restart: after a bulk load, move the change feed on by one and forget every older
// change, so that a poller behind it re-reads what it tracks.
// Returns: nothing. Parameters: $mark (the new position).
:param mark => 1;
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.changes = $mark, m.changes_committed = $mark, m.changes_kept_from = $mark + 1
