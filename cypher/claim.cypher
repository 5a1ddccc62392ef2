// claim: compare-and-swap an intent's status (claim): only from one of the expected statuses
// and at the version that was read, so of several workers exactly one wins.
// Returns: its id, or no row when another worker got there first.
// Parameters: $id, $expected_status (list), $version, $props (as update.cypher).
:param id => 'demo'; :param expected_status => ['active']; :param version => 1;
:param props => {status: 'executing', version: 2};
MATCH (i:Intent {id: $id})
WHERE i.status IN $expected_status AND i.version = $version
SET i += $props
RETURN i.id
