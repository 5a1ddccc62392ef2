// undo pending: (FalkorDB) how many undo records are in the graph (left by a writer that
// died, when no live writer holds the lock). Returns: one row, the count. Parameters: none.
MATCH (u:IntentGraphUndo)
RETURN count(u)
