"""Graph queries and the blocked-state bookkeeping of the SQLite backend.

Each intent row carries ``unmet`` (blocking edges to a dependency that is not completed)
and ``held`` (1 when an ancestor is suspended, failed or archived). Every write that can
change them updates them for the affected rows only, in the write's own transaction, so
``ready()`` is one read of a partial index.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from intentgraph.backends._sqlite_query import json_list
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    IntentStatus,
)

__all__ = [
    "READY_SQL",
    "count_dependency",
    "count_dependency_of_dependents",
    "count_subgoal",
    "count_subgoal_of",
    "dependency_ids",
    "dependent_ids",
    "reach",
    "refresh_held",
    "refresh_unmet",
]

_HOLD = "(" + ", ".join(f"'{s.value}'" for s in sorted(HOLDING_STATUSES)) + ")"
_ACTIONABLE = "(" + ", ".join(f"'{s.value}'" for s in sorted(ACTIONABLE_STATUSES)) + ")"
_DONE = f"'{IntentStatus.COMPLETED.value}'"
_FINISHED = "(" + ", ".join(f"'{s.value}'" for s in sorted(FINISHED_SUBGOAL)) + ")"

# Written exactly as the partial index ix_intents_ready so that the planner uses it.
READY_WHERE = "status = 'active' AND unmet = 0 AND held = 0 AND open_subgoals = 0"
assert {s.value for s in ACTIONABLE_STATUSES} == {"active"}, "update ix_intents_ready"
READY_SQL = (
    f"SELECT data FROM intents INDEXED BY ix_intents_ready WHERE {READY_WHERE}"
    " ORDER BY priority DESC, created_us, id LIMIT ?"
)

# Direct dependencies of ?1 and direct dependents of ?1, one row per blocking edge.
_DEPENDENCIES = (
    "SELECT target FROM edges WHERE source = ?1 AND type = 'DEPENDS_ON' "
    "UNION ALL SELECT source FROM edges WHERE target = ?1 AND type = 'BLOCKS'"
)
_DEPENDENTS = (
    "SELECT source FROM edges WHERE target = ?1 AND type = 'DEPENDS_ON' "
    "UNION ALL SELECT target FROM edges WHERE source = ?1 AND type = 'BLOCKS'"
)
# The same over a JSON array of ids (one BFS layer), as (from, to) pairs.
_LAYER = {
    "dependencies": (
        "SELECT e.source, e.target FROM json_each(?1) f "
        "CROSS JOIN edges e ON e.source = f.value AND e.type = 'DEPENDS_ON' "
        "UNION ALL SELECT e.target, e.source FROM json_each(?1) f "
        "CROSS JOIN edges e ON e.target = f.value AND e.type = 'BLOCKS'"
    ),
    "dependents": (
        "SELECT e.target, e.source FROM json_each(?1) f "
        "CROSS JOIN edges e ON e.target = f.value AND e.type = 'DEPENDS_ON' "
        "UNION ALL SELECT e.source, e.target FROM json_each(?1) f "
        "CROSS JOIN edges e ON e.source = f.value AND e.type = 'BLOCKS'"
    ),
}

_REFRESH_UNMET = f"""
UPDATE intents SET unmet =
    (SELECT count(*) FROM edges e JOIN intents d ON d.id = e.target
      WHERE e.source = intents.id AND e.type = 'DEPENDS_ON' AND d.status != {_DONE})
  + (SELECT count(*) FROM edges e JOIN intents d ON d.id = e.source
      WHERE e.target = intents.id AND e.type = 'BLOCKS' AND d.status != {_DONE})
WHERE id IN (SELECT value FROM json_each(?))
"""

# Recompute ``held`` for ?1 (from its parent) and every descendant of ?1.
_REFRESH_HELD = f"""
WITH RECURSIVE t(id, h) AS (
    SELECT ?1, coalesce((
        SELECT p.held OR p.status IN {_HOLD}
        FROM edges e JOIN intents p ON p.id = e.target
        WHERE e.source = ?1 AND e.type = 'IS_SUBGOAL_OF'), 0)
    UNION  -- not UNION ALL: ends even on a cycle in a damaged file
    SELECT e.source, t.h OR p.status IN {_HOLD}
    FROM t JOIN intents p ON p.id = t.id
    JOIN edges e ON e.target = t.id AND e.type = 'IS_SUBGOAL_OF'
)
UPDATE intents SET held = t.h FROM t WHERE intents.id = t.id AND intents.held != t.h
"""

_REACHES = """
WITH RECURSIVE r(id) AS (
    SELECT ?1
    UNION SELECT e.target FROM r JOIN edges e ON e.source = r.id AND e.type = 'DEPENDS_ON'
    UNION SELECT e.source FROM r JOIN edges e ON e.target = r.id AND e.type = 'BLOCKS'
)
SELECT 1 FROM r WHERE id = ?2 LIMIT 1
"""


def dependency_ids(db: sqlite3.Connection, intent_id: str) -> list[str]:
    """Return the direct dependencies of an intent (one per blocking edge)."""
    return [r[0] for r in db.execute(_DEPENDENCIES, (intent_id,))]


def dependent_ids(db: sqlite3.Connection, intent_id: str) -> list[str]:
    """Return the direct dependents of an intent (one per blocking edge)."""
    return [r[0] for r in db.execute(_DEPENDENTS, (intent_id,))]


def depends_transitively(db: sqlite3.Connection, dependent: str, dependency: str) -> bool:
    """Return True when ``dependent`` already (transitively) depends on ``dependency``."""
    return db.execute(_REACHES, (dependent, dependency)).fetchone() is not None


# Add ?3 to the ``unmet`` of ?1 for its blocking edge to ?2, unless ?2 is completed.
_COUNT_DEPENDENCY = f"""
UPDATE intents SET unmet = unmet + ?3
WHERE id = ?1 AND (SELECT status FROM intents WHERE id = ?2) != {_DONE}
"""

# Add ?2 to the ``unmet`` of every dependent of ?1, once per blocking edge to ?1.
_COUNT_DEPENDENTS = """
UPDATE intents SET unmet = unmet + ?2 * c.n
FROM (SELECT dependent, count(*) AS n FROM (
        SELECT source AS dependent FROM edges WHERE target = ?1 AND type = 'DEPENDS_ON'
        UNION ALL
        SELECT target FROM edges WHERE source = ?1 AND type = 'BLOCKS')
      GROUP BY dependent) AS c
WHERE intents.id = c.dependent
"""


def count_dependency(db: sqlite3.Connection, dependent: str, dependency: str, delta: int) -> None:
    """Account for one blocking edge added (+1) or removed (-1): O(1), whatever the degrees."""
    db.execute(_COUNT_DEPENDENCY, (dependent, dependency, delta))


def count_dependency_of_dependents(
    db: sqlite3.Connection, intent_id: str, delta: int, *, unless_completed: bool = False
) -> None:
    """Account for ``intent_id`` becoming unfinished (+1) or finished (-1) for every intent
    that waits on it: one statement over its dependents only."""
    if unless_completed:
        row = db.execute("SELECT status FROM intents WHERE id = ?", (intent_id,)).fetchone()
        if row is None or row[0] == IntentStatus.COMPLETED.value:
            return
    db.execute(_COUNT_DEPENDENTS, (intent_id, delta))


_COUNT_SUBGOAL = """
UPDATE intents SET open_subgoals = open_subgoals + ?2
WHERE id = (SELECT target FROM edges WHERE source = ?1 AND type = 'IS_SUBGOAL_OF')
"""


_COUNT_SUBGOAL_OF = f"""
UPDATE intents SET open_subgoals = open_subgoals + ?3
WHERE id = ?1 AND (SELECT status FROM intents WHERE id = ?2) NOT IN {_FINISHED}
"""


def count_subgoal_of(db: sqlite3.Connection, parent: str, child: str, delta: int) -> None:
    """Account for the subgoal edge ``child`` -> ``parent`` added (+1) or removed (-1)."""
    db.execute(_COUNT_SUBGOAL_OF, (parent, child, delta))


def count_subgoal(db: sqlite3.Connection, child: str, delta: int) -> None:
    """Account for ``child`` becoming unfinished (+1) or finished (-1) for its parent, or
    for its subgoal edge being added (+1) or removed (-1) while it is unfinished."""
    db.execute(_COUNT_SUBGOAL, (child, delta))


def refresh_unmet(db: sqlite3.Connection, intent_ids: Iterable[str]) -> None:
    """Recompute ``unmet`` for these intents."""
    ids = list(dict.fromkeys(intent_ids))
    if ids:
        db.execute(_REFRESH_UNMET, (json_list(ids),))


def refresh_held(db: sqlite3.Connection, intent_id: str) -> None:
    """Recompute ``held`` for an intent and its whole subtree."""
    db.execute(_REFRESH_HELD, (intent_id,))


def reach(db: sqlite3.Connection, start: str, kind: str, transitive: bool) -> dict[str, int]:
    """Return {id: distance} over dependencies or dependents, as ``_graph.closure``.

    Breadth-first, one query per layer: a recursive CTE cannot keep a visited set, so on a
    DAG with many paths it would enumerate (node, distance) pairs far beyond the nodes.
    """
    dist = {start: 0}
    layer = [start]
    depth = 0
    sql = _LAYER[kind]
    while layer and (transitive or depth < 1):
        depth += 1
        nxt: list[str] = []
        for _, node in db.execute(sql, (json_list(layer),)):
            if node not in dist:
                dist[node] = depth
                nxt.append(node)
        layer = nxt
    del dist[start]
    return dist
