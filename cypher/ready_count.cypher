// ready count: how many ready intents have at least a given priority (how far down the rp
// index ready() must read). Returns: one row, the count. Parameters: $floor.
:param floor => 0;
MATCH (i:Intent)
WHERE i.rp >= $floor
RETURN count(i)
