// snapshot page: one page of intents in the server's id order, each with its JSON and the
// edges that leave it (backup, copy, check_integrity read the whole graph this way).
// Returns: id, JSON, list of [target id, type, edge JSON]. Parameters: $after (the last id of
// the page before; null for the first page), $limit.
:param after => null; :param limit => 2000;
MATCH (i:Intent)
WHERE $after IS NULL OR i.id > $after
WITH i
ORDER BY i.id
LIMIT $limit
RETURN i.id, i.data, [(i)-[r]->(t:Intent) | [t.id, type(r), r.data]]
