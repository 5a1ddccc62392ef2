// feed state: the change feed's position, and the server's time, read once by a write
// transaction after it took the writer lock (the time of its writes and leases).
// Returns: the server's time (ms since the epoch), the last change number written, the first
// kept. Parameters: none.
MATCH (m:IntentGraphMeta {key: 'schema'})
RETURN timestamp(), coalesce(m.changes, 0), coalesce(m.changes_kept_from, 1)
