// records page: one page of intents in the server's id order with every property, and the
// edges that leave them with theirs (check_integrity and rebuild_derived_state compare the
// copied properties with the JSON record).
// Returns: id, properties, list of [target id, type, edge properties].
// Parameters: $after (null for the first page), $limit.
:param after => null; :param limit => 2000;
MATCH (i:Intent)
WHERE $after IS NULL OR i.id > $after
WITH i
ORDER BY i.id
LIMIT $limit
RETURN i.id, properties(i), [(i)-[r]->(t:Intent) | [t.id, type(r), properties(r)]]
