// setup: the schema intentgraph creates, lazily and idempotently, before its first query.
// Returns: nothing. Parameters: none.
// A uniqueness constraint on Intent.id (backed by an index), indexes for the queries below,
// and the schema node that records the schema version. FalkorDB takes other statements for
// the same schema (see backends/_cypher_dialect.py); these are Neo4j 5's.
CREATE CONSTRAINT intentgraph_intent_id IF NOT EXISTS FOR (i:Intent) REQUIRE i.id IS UNIQUE;
CREATE INDEX intentgraph_intent_status IF NOT EXISTS FOR (i:Intent) ON (i.status);
CREATE INDEX intentgraph_intent_ready IF NOT EXISTS FOR (i:Intent) ON (i.rp);
CREATE INDEX intentgraph_intent_blocked IF NOT EXISTS FOR (i:Intent) ON (i.unmet, i.held);
CREATE INDEX intentgraph_intent_lease IF NOT EXISTS FOR (i:Intent) ON (i.lease_us);
CREATE INDEX intentgraph_meta_key IF NOT EXISTS FOR (m:IntentGraphMeta) ON (m.key);
CREATE INDEX intentgraph_undo_seq IF NOT EXISTS FOR (u:IntentGraphUndo) ON (u.seq);
CREATE INDEX intentgraph_change_seq IF NOT EXISTS FOR (c:IntentChange) ON (c.seq);
