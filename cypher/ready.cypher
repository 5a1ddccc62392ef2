// ready: actionable intents that can run now: active, every dependency completed, every
// subgoal completed or archived, no suspended/failed/archived ancestor. Reads the maintained
// blocked state: rp is the priority of a ready intent and absent on any other, so the rp
// index holds exactly the ready ones.
// Returns: JSON, by priority (highest first), age, id.
// Parameters: $floor (the lowest priority to look at; intentgraph raises it to read only the
// top of the index), $limit.
:param floor => -9223372036854775808; :param limit => 100;
MATCH (i:Intent)
WHERE i.rp >= $floor
RETURN i.data
ORDER BY i.rp DESC, i.created_us, i.ik
LIMIT $limit
