// delete: remove an intent and every edge touching it.
// Returns: nothing. Parameters: $ids, a list of ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (i:Intent {id: id})
DETACH DELETE i
