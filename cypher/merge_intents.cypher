// merge intents: write every property of existing intents (update, and the undo of a write).
// A property given as null is removed. Returns: nothing.
// Parameters: $rows, property maps as for create_intents.cypher.
:param rows => [{id: 'demo', name: 'renamed', goal: '', status: 'active', priority: 0, version: 2}];
UNWIND $rows AS r
MERGE (i:Intent {id: r.id})
SET i += r
