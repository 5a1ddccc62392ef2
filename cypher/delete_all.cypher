// delete all: remove up to $limit intents with their edges (bulk_load with replace, a batch
// at a time so that no transaction holds the whole graph).
// Returns: how many were removed. Parameters: $limit.
:param limit => 10000;
MATCH (i:Intent)
WITH i
LIMIT $limit
DETACH DELETE i
RETURN count(*)
