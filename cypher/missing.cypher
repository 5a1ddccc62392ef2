// missing: which of these ids are not stored (add_edges' check for endpoints): no row back
// when every one is there, so a large batch costs no answer to parse.
// Returns: one row per id that is not stored. Parameters: $ids, a list of ids.
:param ids => ['demo'];
UNWIND $ids AS id
OPTIONAL MATCH (i:Intent {id: id})
WITH id, i
WHERE i IS NULL
RETURN id
