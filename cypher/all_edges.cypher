// all edges: every edge in the graph, or every edge of one type.
// Returns: one row per edge: its JSON. Parameters: $type (an edge type name, or null).
:param type => null;
MATCH (:Intent)-[r]->(:Intent)
WHERE $type IS NULL OR type(r) = $type
RETURN r.data
