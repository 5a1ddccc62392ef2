// load intents: write intents as they are (bulk_load: restore, copy), replacing a stored
// intent with the same id; the maintained state is recomputed afterwards.
// Returns: nothing. Parameters: $rows, property maps as for create_intents.cypher.
:param rows => [{id: 'demo', name: 'demo', status: 'active', priority: 0, version: 3, data: '{"id":"demo"}'}];
UNWIND $rows AS r
MERGE (i:Intent {id: r.id})
SET i = r
