// get many: intents by id (get_many, and every query that loads intents it found by id).
// Returns: one row per stored id: id, JSON. Parameters: $ids, a list of ids.
:param ids => ['demo'];
UNWIND $ids AS id
MATCH (i:Intent {id: id})
RETURN i.id, i.data
