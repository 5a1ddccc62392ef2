// status labels: give every intent a second label naming its status (Pending, Active,
// Executing, Completed, Failed, Suspended, Archived), so that Neo4j Browser colours intents by
// status with cypher/intentgraph.grass (a style sheet can only select by label).
// For exploring only: intentgraph never reads these labels, and does not keep them up to
// date; run this again to refresh the colours after the graph changed.
// Returns: how many intents were labelled. Parameters: none.
MATCH (i:Intent)
REMOVE i:Pending:Active:Executing:Completed:Failed:Suspended:Archived
WITH i
FOREACH (_ IN CASE WHEN i.status = 'pending' THEN [1] ELSE [] END | SET i:Pending)
FOREACH (_ IN CASE WHEN i.status = 'active' THEN [1] ELSE [] END | SET i:Active)
FOREACH (_ IN CASE WHEN i.status = 'executing' THEN [1] ELSE [] END | SET i:Executing)
FOREACH (_ IN CASE WHEN i.status = 'completed' THEN [1] ELSE [] END | SET i:Completed)
FOREACH (_ IN CASE WHEN i.status = 'failed' THEN [1] ELSE [] END | SET i:Failed)
FOREACH (_ IN CASE WHEN i.status = 'suspended' THEN [1] ELSE [] END | SET i:Suspended)
FOREACH (_ IN CASE WHEN i.status = 'archived' THEN [1] ELSE [] END | SET i:Archived)
RETURN count(i)
