// feed trim: forget the changes up to a number (the feed keeps the last 100,000): the first
// kept moves first, so a reader never takes a gap for a complete batch.
// Returns: nothing. Parameters: $cut.
:param cut => 0;
MATCH (m:IntentGraphMeta {key: 'schema'})
SET m.changes_kept_from = $cut + 1
WITH count(*) AS meta_n
MATCH (c:IntentChange)
WHERE c.seq <= $cut
DELETE c
