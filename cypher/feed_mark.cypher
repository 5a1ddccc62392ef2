// feed mark: the change feed's committed position, and the first change kept (changes()).
// Returns: the last committed change number, the first kept. Parameters: none.
MATCH (m:IntentGraphMeta {key: 'schema'})
RETURN coalesce(m.changes_committed, 0), coalesce(m.changes_kept_from, 1)
