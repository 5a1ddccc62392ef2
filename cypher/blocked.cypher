// blocked: actionable intents that cannot run yet: waiting for an unfinished dependency
// (unmet > 0) or held by a suspended, failed or archived ancestor (held = 1).
// Returns: id, unmet, held, JSON, by priority (highest first), age, id.
// Parameters: $actionable (the actionable statuses).
:param actionable => ['active'];
MATCH (i:Intent)
WHERE i.status IN $actionable AND (i.unmet > 0 OR i.held > 0)
RETURN i.id, i.unmet, i.held, i.data
ORDER BY i.priority DESC, i.created_us, i.ik
