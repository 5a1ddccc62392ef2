// feed clear: remove up to $limit change records (bulk_load forgets the change feed).
// Returns: how many were removed. Parameters: $limit.
:param limit => 10000;
MATCH (c:IntentChange)
WITH c
LIMIT $limit
DELETE c
RETURN count(*)
