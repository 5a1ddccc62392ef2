// unfinished: which of these intents are not finished (neither completed nor archived): the
// ones that can be top blockers in stats().
// Returns: one row per such id. Parameters: $ids, $finished.
:param ids => ['demo']; :param finished => ['archived', 'completed'];
UNWIND $ids AS id
MATCH (i:Intent {id: id})
WHERE NOT i.status IN $finished
RETURN i.id
