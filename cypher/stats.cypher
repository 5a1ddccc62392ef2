// stats: intents by status.
// Returns: status, count. Parameters: none.
MATCH (i:Intent)
RETURN i.status, count(*)
