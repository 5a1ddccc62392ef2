// feed changes: the committed changes after a number, oldest first (changes()).
// Returns: seq, op, intent id, target, type, status. Parameters: $since, $mark (the
// committed mark: nothing past it is shown), $limit.
:param since => 0; :param mark => 100; :param limit => 1000;
MATCH (c:IntentChange)
WHERE c.seq > $since AND c.seq <= $mark
RETURN c.seq, c.op, c.intent_id, c.target, c.type, c.status
ORDER BY c.seq
LIMIT $limit
