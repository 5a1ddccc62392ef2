// falkordb indexes: the indexes a FalkorDB graph has (before falkordb_setup.cypher).
// Returns: label, list of indexed properties. Parameters: none.
CALL db.indexes() YIELD label, properties
RETURN label, properties
