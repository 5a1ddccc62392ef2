// edge counts: how many edges of each type (stats()).
// Returns: type, count. Parameters: none.
MATCH (:Intent)-[r]->(:Intent)
RETURN type(r), count(*)
