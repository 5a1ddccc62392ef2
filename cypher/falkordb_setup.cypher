// falkordb setup: the indexes of setup.cypher as FalkorDB takes them (no names, no IF NOT
// EXISTS: intentgraph lists what exists with falkordb_indexes.cypher and creates only what is
// missing). The unique constraint on Intent.id is then made with FalkorDB's own command,
// GRAPH.CONSTRAINT CREATE, once its index exists.
// Returns: nothing. Parameters: none.
CREATE INDEX FOR (n:Intent) ON (n.id);
CREATE INDEX FOR (n:Intent) ON (n.status);
CREATE INDEX FOR (n:Intent) ON (n.rp);
CREATE INDEX FOR (n:Intent) ON (n.unmet);
CREATE INDEX FOR (n:Intent) ON (n.held);
CREATE INDEX FOR (n:Intent) ON (n.lease_us);
CREATE INDEX FOR (n:IntentGraphMeta) ON (n.key);
CREATE INDEX FOR (n:IntentGraphUndo) ON (n.seq);
CREATE INDEX FOR (n:IntentChange) ON (n.seq);
