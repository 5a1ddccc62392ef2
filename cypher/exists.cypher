// exists: which of these ids are stored (put's check for ids taken, add_edges' for endpoints).
// Returns: one row per stored id. Parameters: $ids, a list of ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (i:Intent {id: id})
RETURN i.id
