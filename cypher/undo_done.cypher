// undo done: (FalkorDB) drop the undo records from a number on, once they were applied.
// Returns: nothing. Parameters: $seq.
:param seq => 1;
MATCH (u:IntentGraphUndo)
WHERE u.seq >= $seq
DELETE u
