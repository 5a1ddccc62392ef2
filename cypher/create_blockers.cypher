// create blockers: add BLOCKS edges known to be new (add_edges, after its checks), with their
// change-feed records in one IntentChange node (see put_intents.cypher), and count the new unmet blockers into each blocked intent's unmet
// (and rp) in the same query (a BLOCKS b: b waits for a).
// Returns: how many edges it wrote (fewer than the rows: an endpoint is not stored, which
// add_edges then names). Parameters: $rows, a list of {source, target, seq, props} maps (as for
// create_subgoals.cypher); $done (the completed status), $actionable (the actionable statuses).
:param rows => [{source: 'a', target: 'b', seq: 1, props: {data: '{}', created_at: '2025-01-01T00:00:00Z', metadata: '{}'}}];
:param done => 'completed'; :param actionable => ['active'];
UNWIND $rows AS r
MATCH (s:Intent {id: r.source})
MATCH (t:Intent {id: r.target})
CREATE (s)-[e:BLOCKS]->(t)
SET e = r.props
WITH t, sum(CASE WHEN s.status = $done THEN 0 ELSE 1 END) AS added, count(*) AS made
WITH t, made, t.unmet + added AS unmet
SET t.unmet = unmet,
    t.rp = CASE WHEN t.status IN $actionable AND unmet = 0 AND t.held = 0
                     AND t.open_subgoals = 0 THEN t.priority END
WITH sum(made) AS made
CREATE (:IntentChange {seq: $rows[size($rows) - 1].seq, first: $rows[0].seq,
                       seqs: [r IN $rows | r.seq], op: 'add_edge', type: 'BLOCKS',
                       intent_ids: [r IN $rows | r.source], targets: [r IN $rows | r.target]})
RETURN made
