// write count: how many write transactions have committed (lock.cypher counts them). A
// writer whose write failed asks it, outside its transaction, to tell whether another
// writer committed while it ran: on a server that lets writers overlap (ArcadeDB) its
// reads may have been stale, and its write is tried again.
// Returns: one row, the count. Parameters: none.
MATCH (m:IntentGraphMeta {key: 'schema'})
RETURN coalesce(m.writes, 0)
