// update: replace an intent's fields if it is still at the version that was read
// (update, set_status; an optimistic check on top of intentgraph's writer lock).
// Returns: its id, or no row when the version moved. Parameters: $id, $version, $props
// (property maps as for create_intents.cypher, without the maintained blocked state).
:param id => 'demo'; :param version => 1;
:param props => {name: 'renamed', version: 2};
MATCH (i:Intent {id: $id})
WHERE i.version = $version
SET i += $props
RETURN i.id
