// expired leases: executing intents whose lease ran out by a given time (their workers died
// or hung), read from the index on lease_us (the lease's end, absent without a lease).
// Returns: id, JSON, one row per intent (intentgraph orders them by id).
// Parameters: $now (microseconds since the epoch, the store's clock).
:param now => 1767225600000000;
MATCH (i:Intent)
WHERE i.lease_us <= $now
RETURN i.id, i.data
