// feed changes: the committed changes after a number, oldest first (changes()). A node holds
// one change (seq, op, intent_id, target, type, status), or the changes of one batch query
// (seq its highest number, first its lowest, and the lists seqs, intent_ids, targets,
// statuses, one entry per change); the index on seq finds both.
// Returns: seq, op, intent id, target, type, status. Parameters: $since, $mark (the
// committed mark: nothing past it is shown), $limit.
:param since => 0; :param mark => 100; :param limit => 1000;
MATCH (c:IntentChange)
WHERE c.seq > $since AND coalesce(c.first, c.seq) <= $mark
UNWIND range(0, coalesce(size(c.seqs), 1) - 1) AS k
WITH c, k, coalesce(c.seqs[k], c.seq) AS seq
WHERE seq > $since AND seq <= $mark
RETURN seq, c.op, coalesce(c.intent_ids[k], c.intent_id), coalesce(c.targets[k], c.target),
       c.type, coalesce(c.statuses[k], c.status)
ORDER BY seq
LIMIT $limit
