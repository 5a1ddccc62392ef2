// create intents: store new intents (put, put_many), one row per intent.
// Returns: nothing. Parameters: $rows, a list of property maps (see docs/exploring.md):
// id, name, goal, status, priority, session_id, version, created_at, updated_at (ISO text),
// metadata (JSON text), data (the whole intent as JSON: what intentgraph reads back),
// lease_us (when its lease runs out, else absent), and the maintained blocked state: unmet,
// held, open_subgoals, rp (the priority while ready, else absent).
:param rows => [{id: 'demo', name: 'demo', goal: '', status: 'active', priority: 0, version: 1, unmet: 0, held: 0, open_subgoals: 0, rp: 0, data: '{"id":"demo"}'}];
UNWIND $rows AS r
CREATE (i:Intent)
SET i = r
