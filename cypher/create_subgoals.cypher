// create subgoals: add IS_SUBGOAL_OF edges known to be new (add_edges, after its checks),
// with their change-feed records in one IntentChange node (see put_intents.cypher), and count the new open subgoals into each parent's
// open_subgoals (and rp) in the same query: one query per batch does the write and the
// maintained state. A child had no parent before (one parent each), so nothing held it.
// Returns: one row: how many edges it wrote (fewer than the rows: an endpoint is not stored,
// which add_edges then names), and lists of the children whose new parent is held or holding
// (suspended, failed, archived): intentgraph recomputes held in their subtrees
// (refresh_held.cypher).
// Parameters: $rows, a list of {source, target, seq, props} maps (seq: the change number of
// its feed record, ascending; props as for merge_edges.cypher); $finished (the finished subgoal
// statuses), $holding (the holding statuses), $actionable (the actionable statuses).
:param rows => [{source: 'a', target: 'b', seq: 1, props: {data: '{}', created_at: '2025-01-01T00:00:00Z', metadata: '{}'}}];
:param finished => ['archived', 'completed']; :param holding => ['archived', 'failed', 'suspended'];
:param actionable => ['active'];
UNWIND $rows AS r
MATCH (s:Intent {id: r.source})
MATCH (t:Intent {id: r.target})
CREATE (s)-[e:IS_SUBGOAL_OF]->(t)
SET e = r.props
WITH t, collect(CASE WHEN t.held = 1 OR t.status IN $holding THEN s.id END) AS held,
     sum(CASE WHEN s.status IN $finished THEN 0 ELSE 1 END) AS added, count(*) AS made
WITH t, held, made, t.open_subgoals + added AS open
SET t.open_subgoals = open,
    t.rp = CASE WHEN t.status IN $actionable AND t.unmet = 0 AND t.held = 0 AND open = 0
                THEN t.priority END
WITH collect(held) AS held, sum(made) AS made
CREATE (:IntentChange {seq: $rows[size($rows) - 1].seq, first: $rows[0].seq,
                       seqs: [r IN $rows | r.seq], op: 'add_edge', type: 'IS_SUBGOAL_OF',
                       intent_ids: [r IN $rows | r.source], targets: [r IN $rows | r.target]})
RETURN made, held
