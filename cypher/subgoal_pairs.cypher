// subgoal pairs: every IS_SUBGOAL_OF edge as (child, parent): what a bulk add_edges checks
// its new edges against. Returns: child id, parent id. Parameters: none.
MATCH (c:Intent)-[:IS_SUBGOAL_OF]->(p:Intent)
RETURN c.id, p.id
