// falkordb constraints: the constraints a FalkorDB graph has, with their state (a new unique
// constraint is PENDING while FalkorDB checks the stored nodes, then OPERATIONAL or FAILED).
// Returns: type, label, list of properties, status. Parameters: none.
CALL db.constraints() YIELD type, label, properties, status
RETURN type, label, properties, status
