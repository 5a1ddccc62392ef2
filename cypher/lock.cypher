// lock: the first statement of every write transaction on Neo4j. Writing the one schema node
// takes its write lock, so intentgraph writers run one at a time (as SQLite's BEGIN IMMEDIATE),
// and counts the write transactions.
// Returns: the number of write transactions so far. Parameters: none.
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.writes = coalesce(m.writes, 0) + 1
RETURN m.writes
