// schema version: read (and on a new graph create) the node that records the schema version.
// Returns: one row, the stored version (the given one on a new graph).
// Parameters: $version, the version this release writes.
:param version => 1;
MERGE (m:IntentGraphMeta {key: 'schema'})
ON CREATE SET m.version = $version, m.writes = 0
RETURN m.version
