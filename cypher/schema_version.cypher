// schema version: read (and on a new graph create) the node that records the schema version
// (and the change feed's counters).
// Returns: one row, the stored version (the given one on a new graph).
// Parameters: $version, the version this release writes.
:param version => 1;
MERGE (m:IntentGraphMeta {key: 'schema'})
ON CREATE SET m.version = $version, m.writes = 0,
  m.changes = 0, m.changes_committed = 0, m.changes_kept_from = 1
RETURN m.version
