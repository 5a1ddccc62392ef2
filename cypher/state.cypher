// state: an intent's every property, the maintained blocked state included (before a write).
// Returns: one row (the property map) or none. Parameters: $id.
:param id => 'demo';
MATCH (i:Intent {id: $id})
RETURN properties(i)
