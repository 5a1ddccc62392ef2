// readiness: what an intent waits for, from the maintained state (claim's check).
// Returns: unmet, held, open_subgoals of the intent, or no row. Parameters: $id.
:param id => 'demo';
MATCH (i:Intent {id: $id})
RETURN i.unmet, i.held, i.open_subgoals
