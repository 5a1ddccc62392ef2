// holding: the intents that hold up others: suspended, failed or archived (blocked()).
// Returns: id, JSON. Parameters: $holding (the holding statuses).
:param holding => ['archived', 'failed', 'suspended'];
MATCH (i:Intent)
WHERE i.status IN $holding
RETURN i.id, i.data
