// server time: the graph server's clock, which leases and updated_at are measured by.
// Returns: milliseconds since the epoch. Parameters: none.
RETURN timestamp()
