// statuses: every intent's id and status (blocked() walks the graph with them).
// Returns: id, status. Parameters: none.
MATCH (i:Intent)
RETURN i.id, i.status
