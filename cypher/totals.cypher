// totals: how many intents and edges the graph holds (bulk_load's count of what it replaces).
// Returns: intents, edges. Parameters: none.
MATCH (i:Intent)
WITH count(i) AS intents
OPTIONAL MATCH (:Intent)-[r]->(:Intent)
RETURN intents, count(r)
