// orphans: how many intents no edge touches (stats()).
// Returns: one row, the count. Parameters: none.
MATCH (i:Intent)
WITH i, size([(i)-->(o:Intent) | o]) + size([(i)<--(p:Intent) | p]) AS degree
WHERE degree = 0
RETURN count(i)
