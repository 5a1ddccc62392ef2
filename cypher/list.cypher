// list: the intents a filter selects (list, count). A criterion given as null does not filter.
// Returns: id, JSON, in the order intentgraph's list() uses (intentgraph swaps in the ORDER BY
// of the order asked for, and pages with SKIP/LIMIT only when this query is exact).
// Parameters: $status (list), $ids (list), $session_id, $priority_min, $priority_max,
// $created_after, $created_before, $updated_after, $updated_before (microseconds since the
// epoch), $text (case-folded), $skip, $limit.
:param status => null; :param ids => null; :param session_id => null;
:param priority_min => null; :param priority_max => null;
:param created_after => null; :param created_before => null;
:param updated_after => null; :param updated_before => null; :param text => null;
:param skip => 0; :param limit => 100;
MATCH (i:Intent)
WHERE ($status IS NULL OR i.status IN $status)
  AND ($ids IS NULL OR i.id IN $ids)
  AND ($session_id IS NULL OR i.session_id = $session_id)
  AND ($priority_min IS NULL OR i.priority >= $priority_min)
  AND ($priority_max IS NULL OR i.priority <= $priority_max)
  AND ($created_after IS NULL OR i.created_us >= $created_after)
  AND ($created_before IS NULL OR i.created_us < $created_before)
  AND ($updated_after IS NULL OR i.updated_us >= $updated_after)
  AND ($updated_before IS NULL OR i.updated_us < $updated_before)
  AND ($text IS NULL OR i.search CONTAINS $text)
RETURN i.id, i.data
ORDER BY i.created_us, i.ik
SKIP $skip LIMIT $limit
