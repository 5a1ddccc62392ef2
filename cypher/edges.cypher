// edges: every edge touching an intent, both directions.
// Returns: one row per edge: its JSON (the data property). Parameters: $id.
:param id => 'demo';
MATCH (i:Intent {id: $id})-[r]-(:Intent)
RETURN r.data
