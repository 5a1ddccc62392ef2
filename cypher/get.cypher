// get: one intent by id.
// Returns: its JSON (the data property), or no row. Parameters: $id.
:param id => 'demo';
MATCH (i:Intent {id: $id})
RETURN i.data
