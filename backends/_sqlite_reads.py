"""The read side of the SQLite backend: lists, edges, the graph queries and the whole-graph
answers (``blocked``, ``stats``), each a few set-based queries over the maintained columns.

``SqliteStore`` (``sqlite.py``) adds the connection, the transactions and the writes.
"""

from __future__ import annotations

import builtins
import sqlite3
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from intentgraph import _graph
from intentgraph._base import StoreBase, check_direction, check_limit, pick_direction, storable_id
from intentgraph._codec import (
    intent_from_json,
    intent_to_json,
    intents_from_json_array,
    tree_node,
)
from intentgraph._queries import UNFINISHED, Counts, holders_in_maps, ready_key
from intentgraph._transactions import gc_paused
from intentgraph.backends import _sqlite_graph as g
from intentgraph.backends._sqlite_query import (
    EDGE_COLUMNS,
    FilterSQL,
    edge_from_row,
    json_list,
    to_us,
)
from intentgraph.backends._sqlite_schema import CHANGE_OPS, CHANGE_STATUSES, CHANGE_TYPES
from intentgraph.backends.memory import ChangeRecord, as_change
from intentgraph.errors import IntentNotFound, StoreCorrupted
from intentgraph.filters import Direction, IntentFilter
from intentgraph.models import (
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    as_edge_type,
)
from intentgraph.results import BlockedIntent, ChangeBatch, TreeNode

__all__ = ["SqliteReads"]

_DONE = IntentStatus.COMPLETED


class SqliteReads(StoreBase):
    """The queries of ``SqliteStore``; every one reads through ``_db()``."""

    _path: str
    _conn: sqlite3.Connection
    _blockers: tuple[int, _graph.ReachIndex] | None = None  # kept per blocking token

    @abstractmethod
    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        """Hold the store's lock for a read; translate ``sqlite3`` errors."""

    def _select(self, flt: IntentFilter) -> builtins.list[Intent]:
        q = FilterSQL(flt)
        sql = f"SELECT data FROM intents{q.where_sql} ORDER BY {q.order_by}"
        params = builtins.list(q.params)
        if not q.python_filter and (flt.limit is not None or flt.offset):
            sql += " LIMIT ? OFFSET ?"
            params += [_clamp(flt.limit, -1), _clamp(flt.offset, 0)]
        with self._db() as db:
            rows = db.execute(sql, params).fetchall()
        found = [intent_from_json(r[0]) for r in rows]
        if q.python_filter:
            found = [i for i in found if flt.matches(i)]
            end = None if flt.limit is None else flt.offset + flt.limit
            found = found[flt.offset : end]
        return found

    def _count(self, flt: IntentFilter) -> int:
        q = FilterSQL(flt)
        if q.python_filter:
            return len(self._select(flt.model_copy(update={"limit": None, "offset": 0})))
        with self._db() as db:
            return int(
                db.execute(f"SELECT count(*) FROM intents{q.where_sql}", q.params).fetchone()[0]
            )

    def edges(
        self,
        intent_id: str | None = None,
        *,
        type: EdgeType | None = None,
        direction: Direction = "both",
    ) -> builtins.list[Edge]:
        check_direction(direction)
        etype = None if type is None else as_edge_type(type)
        type_sql = "" if etype is None else " AND type = ?2"
        with self._db() as db:
            if intent_id is None:
                where = "" if etype is None else " WHERE type = ?2"
                rows = db.execute(
                    f"SELECT {EDGE_COLUMNS} FROM edges{where} ORDER BY source, target, type",
                    () if etype is None else (None, etype.value),
                ).fetchall()
                return [edge_from_row(*r) for r in rows]
            self._require(db, intent_id)
            rows = db.execute(
                f"SELECT {EDGE_COLUMNS} FROM edges WHERE source = ?1{type_sql} UNION ALL "
                f"SELECT {EDGE_COLUMNS} FROM edges WHERE target = ?1{type_sql}",
                (intent_id,) if etype is None else (intent_id, etype.value),
            ).fetchall()
        return pick_direction((edge_from_row(*r) for r in rows), intent_id, direction)

    # --- graph helpers ----------------------------------------------------------------

    @staticmethod
    def _require(db: sqlite3.Connection, intent_id: str) -> None:
        if (
            not storable_id(intent_id)
            or db.execute("SELECT 1 FROM intents WHERE id = ?", (intent_id,)).fetchone() is None
        ):
            raise IntentNotFound(intent_id)

    @staticmethod
    def _parent_id(db: sqlite3.Connection, intent_id: str) -> str | None:
        row = db.execute(
            "SELECT target FROM edges WHERE source = ? AND type = 'IS_SUBGOAL_OF'", (intent_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def _child_ids(db: sqlite3.Connection, intent_id: str) -> builtins.list[str]:
        return [
            r[0]
            for r in db.execute(
                "SELECT source FROM edges WHERE target = ? AND type = 'IS_SUBGOAL_OF'"
                " ORDER BY source",
                (intent_id,),
            )
        ]

    @classmethod
    def _ancestor_ids(cls, db: sqlite3.Connection, intent_id: str) -> builtins.list[str]:
        # One indexed lookup per level; a walk that meets an intent again can only be a cycle
        # in a damaged file (writes refuse them), and must end, not loop.
        chain: builtins.list[str] = []
        seen = {intent_id}
        parent = cls._parent_id(db, intent_id)
        while parent is not None:
            if parent in seen:
                raise StoreCorrupted(f"the subgoal edges above {intent_id!r} form a cycle")
            seen.add(parent)
            chain.append(parent)
            parent = cls._parent_id(db, parent)
        return chain

    def _dependency_map(self) -> dict[str, builtins.list[str]]:
        result: dict[str, builtins.list[str]] = {}
        with self._db() as db:
            for dependent, dependency in db.execute(_DEPENDENCY_PAIRS):
                result.setdefault(dependent, []).append(dependency)
        return result

    def _load_ordered(
        self, db: sqlite3.Connection, ids: builtins.list[str]
    ) -> builtins.list[Intent]:
        """Return the intents with these ids, in this order."""
        if not ids:
            return []
        rows = dict(
            db.execute(
                "SELECT id, data FROM intents WHERE id IN (SELECT value FROM json_each(?))",
                (json_list(ids),),
            ).fetchall()
        )
        return [intent_from_json(rows[i]) for i in ids]

    # --- graph queries ----------------------------------------------------------------

    def parent(self, intent_id: str) -> Intent | None:
        with self._db() as db:
            self._require(db, intent_id)
            row = db.execute(
                "SELECT i.data FROM edges e JOIN intents i ON i.id = e.target"
                " WHERE e.source = ? AND e.type = 'IS_SUBGOAL_OF'",
                (intent_id,),
            ).fetchone()
        return None if row is None else intent_from_json(row[0])

    def children(self, intent_id: str) -> builtins.list[Intent]:
        with self._db() as db:
            self._require(db, intent_id)
            rows = db.execute(
                "SELECT i.data FROM edges e JOIN intents i ON i.id = e.source"
                " WHERE e.target = ? AND e.type = 'IS_SUBGOAL_OF' ORDER BY e.source",
                (intent_id,),
            ).fetchall()
        return [intent_from_json(r[0]) for r in rows]

    def subtree(self, intent_id: str, *, max_depth: int | None = None) -> builtins.list[TreeNode]:
        with self._db() as db:
            self._require(db, intent_id)
            depth_limit = None if max_depth is None else max(min(max_depth, 2**62), -1)
            rows = db.execute(_SUBTREE, (intent_id, depth_limit, _SUBTREE_CAP)).fetchall()
            if len({r[1] for r in rows}) != len(rows) or (rows and rows[-1][0] >= _SUBTREE_CAP):
                rows = self._subtree_by_layers(db, intent_id, depth_limit)
        with gc_paused(len(rows)):  # many new objects: no full GC scans meanwhile
            return [tree_node(intent_from_json(d), depth, p) for depth, _, p, d in rows]

    def _subtree_by_layers(
        self, db: sqlite3.Connection, root: str, max_depth: int | None
    ) -> builtins.list[tuple[int, str, str | None, str]]:
        """The subtree one layer at a time: for trees deeper than the recursive query's cap,
        and to tell a damaged file (an intent met twice) from a deep tree."""
        rows: builtins.list[tuple[int, str, str | None, str]] = [
            (0, root, None, intent_to_json(self._load_ordered(db, [root])[0]))
        ]
        seen = {root}
        layer = [root]
        depth = 0
        while layer and (max_depth is None or depth < max_depth):
            depth += 1
            pairs = sorted((c, p) for p in layer for c in self._child_ids(db, p))
            if any(c in seen for c, _ in pairs):
                raise StoreCorrupted(f"the subgoal edges below {root!r} form a cycle")
            seen.update(c for c, _ in pairs)
            datas = dict(
                db.execute(
                    "SELECT id, data FROM intents WHERE id IN (SELECT value FROM json_each(?))",
                    (json_list([c for c, _ in pairs]),),
                ).fetchall()
            )
            rows.extend((depth, c, p, datas[c]) for c, p in pairs)
            layer = [c for c, _ in pairs]
        return rows

    def ancestors(self, intent_id: str) -> builtins.list[Intent]:
        with self._db() as db:
            self._require(db, intent_id)
            return self._load_ordered(db, self._ancestor_ids(db, intent_id))

    def dependencies(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, "dependencies", transitive)

    def dependents(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, "dependents", transitive)

    def _reach(self, intent_id: str, kind: str, transitive: bool) -> builtins.list[Intent]:
        with self._db() as db:
            self._require(db, intent_id)
            dist = g.reach(db, intent_id, kind, transitive)
            return self._load_ordered(db, sorted(dist, key=lambda n: (dist[n], n)))

    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]:
        check_limit(limit)
        with self._db() as db:
            rows = db.execute(g.READY_SQL, (_clamp(limit, -1),)).fetchall()
        with gc_paused(len(rows)):  # many new objects: no full GC scans meanwhile
            return [intent_from_json(r[0]) for r in rows]

    def _next_ready(self, flt: IntentFilter) -> Intent | None:
        q = FilterSQL(flt)
        where = " AND ".join([g.READY_WHERE, *q.where])
        sql = (
            f"SELECT data FROM intents INDEXED BY ix_intents_ready WHERE {where}"
            " ORDER BY priority DESC, created_us, id"
        )
        with self._db() as db:
            if not q.python_filter:
                row = db.execute(sql + " LIMIT 1", q.params).fetchone()
                return None if row is None else intent_from_json(row[0])
            for (data,) in db.execute(sql, q.params):
                intent = intent_from_json(data)
                if flt.matches(intent):
                    return intent
        return None

    def _require_ready(self, intent: Intent) -> None:
        with self._db() as db:
            row = db.execute(
                "SELECT unmet, held, open_subgoals FROM intents WHERE id = ?", (intent.id,)
            ).fetchone()
        if row is not None and not any(row):
            return
        super()._require_ready(intent)  # names what holds it

    def _expired_leases(self, now: datetime) -> builtins.list[Intent]:
        with self._db() as db:
            # Without INDEXED BY, SQLite answers ORDER BY id by scanning the whole table
            # (45 ms at 100k, inside claim_next's write lock); the expired rows are few.
            rows = db.execute(
                "SELECT data FROM intents INDEXED BY ix_intents_lease"
                " WHERE lease_expires_us <= ? ORDER BY id",
                (to_us(now),),
            ).fetchall()
        return [intent_from_json(r[0]) for r in rows]

    def _changes(self, since: int, limit: int | None) -> ChangeBatch:
        with self._db() as db:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
            mark = 0 if row is None else int(row[0])
            first = db.execute("SELECT min(seq) FROM changes").fetchone()[0]
            first = mark + 1 if first is None else int(first)
            if not first <= since + 1 <= mark + 1:  # forgotten, or from another store
                return ChangeBatch(seq=mark, latest=mark, changes=[], complete=False)
            rows = db.execute(
                "SELECT seq, op, intent_id, target, type, status FROM changes"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (since, _clamp(limit, -1)),
            ).fetchall()
        last = rows[-1][0] if rows else since
        changes = [as_change(_decoded(r)) for r in rows]
        return ChangeBatch(seq=last, latest=max(mark, last), changes=changes, complete=True)

    # --- whole-graph answers ---------------------------------------------------------------

    def _counts(self) -> Counts:
        by_status = {s.value: 0 for s in IntentStatus}
        by_type = {t.value: 0 for t in EdgeType}
        with self._db() as db:
            counters = dict(db.execute("SELECT name, n FROM counters").fetchall())
        for name, n in counters.items():
            kind, _, value = name.partition(":")
            if kind == "status" and value in by_status:
                by_status[value] = n
            elif kind == "edges" and value in by_type:
                by_type[value] = n
        total = sum(by_status.values())
        return total, by_status, sum(by_type.values()), by_type, total - counters["touched"]

    def _top_blockers(self) -> builtins.list[tuple[str, int]]:
        waiting = [s.value for s in UNFINISHED]
        with self._db() as db:
            # The token first: edges read after it are at least as new, so an index is
            # never kept under a token newer than its edges.
            token = db.execute(_BLOCKING_TOKEN).fetchone()[0]
            if self._blockers is None or self._blockers[0] != token:
                succ: dict[str, builtins.list[str]] = {}
                for dependency, dependent in db.execute(_BLOCKING_PAIRS):
                    succ.setdefault(dependency, []).append(dependent)
                self._blockers = (token, _graph.ReachIndex(succ))
            index = self._blockers[1]

            def unfinished(batch: Sequence[str]) -> set[str]:
                sql = _UNFINISHED_AMONG.format(ids=", ".join("?" * len(batch)))
                return {r[0] for r in db.execute(sql, [*waiting, *batch])}

            return index.top(unfinished)

    def blocked(self) -> builtins.list[BlockedIntent]:
        with gc_paused():  # tens of thousands of new objects: no full GC scans meanwhile
            return self._blocked()

    def _blocked(self) -> builtins.list[BlockedIntent]:
        with self._db() as db:
            rows = db.execute(_BLOCKED).fetchall()
            holding = db.execute(_ANY_HOLDING).fetchone() is not None
        found = {row[0]: (intent_from_json(row[1]), row[2], row[3], False) for row in rows}
        for intent in self._expired_leases(self.now()):  # rare: a query each
            deps = [d for d in self.dependencies(intent.id) if d.status is not _DONE]
            subgoals = [c for c in self.children(intent.id) if c.status not in FINISHED_SUBGOAL]
            found[intent.id] = (intent, deps, subgoals, True)
        holders = self._holders(set(found)) if holding and found else {}
        result = [
            BlockedIntent.model_construct(
                intent=intent,
                blocked_by=deps if isinstance(deps, list) else intents_from_json_array(deps),
                subgoals=subs if isinstance(subs, list) else intents_from_json_array(subs),
                held_by=[h for _, _, h in sorted(holders.get(intent_id, []))],
                lease_expired=stale,
            )
            for intent_id, (intent, deps, subs, stale) in found.items()
        ]
        result.sort(key=lambda b: ready_key(b.intent))
        return result

    def _holders(self, targets: set[str]) -> dict[str, builtins.list[tuple[int, str, Intent]]]:
        """As ``StoreBase._holders``, on the subgoal and dependency edges read once."""
        children: dict[str, builtins.list[str]] = {}
        dependents: dict[str, builtins.list[str]] = {}
        parent: dict[str, str] = {}
        finished: dict[str, bool] = {}
        with self._db() as db:
            for intent_id, status in db.execute("SELECT id, status FROM intents"):
                finished[intent_id] = IntentStatus(status) in FINISHED_SUBGOAL
            for source, target in db.execute(_SUBGOAL_PAIRS):
                children.setdefault(target, []).append(source)
                parent[source] = target
            for dependent, dependency in db.execute(_DEPENDENCY_PAIRS):
                dependents.setdefault(dependency, []).append(dependent)
            holders = [
                intent_from_json(r[0])
                for r in db.execute(
                    "SELECT data FROM intents WHERE status IN "
                    f"({', '.join('?' * len(HOLDING_STATUSES))})",
                    [s.value for s in HOLDING_STATUSES],
                )
            ]
        return holders_in_maps(holders, targets, children, dependents, parent, finished)


_BLOCKING_TOKEN = "SELECT n FROM counters WHERE name = 'blocking'"
# (dependency, dependent) for every blocking edge. One pass over the edges (no index by
# type since schema 4: two would read them twice).
_BLOCKING_PAIRS = (
    "SELECT iif(type = 'DEPENDS_ON', target, source), iif(type = 'DEPENDS_ON', source, target)"
    " FROM edges WHERE type IN ('DEPENDS_ON', 'BLOCKS')"
)
_UNFINISHED_AMONG = (
    "SELECT id FROM intents WHERE status IN ("
    + ", ".join("?" * len(UNFINISHED))
    + ") AND id IN ({ids})"
)
_SUBGOAL_PAIRS = "SELECT source, target FROM edges WHERE type = 'IS_SUBGOAL_OF'"
_ANY_HOLDING = (
    "SELECT 1 FROM intents WHERE status IN ("
    + ", ".join(f"'{s.value}'" for s in sorted(HOLDING_STATUSES))
    + ") LIMIT 1"
)
_FINISHED_SQL = "(" + ", ".join(f"'{s.value}'" for s in sorted(FINISHED_SUBGOAL)) + ")"
# Every active intent that is not ready, with its unfinished dependencies and subgoals as
# JSON arrays of their stored rows, each by id: one pass over the maintained columns.
_BLOCKED = f"""
SELECT b.id, b.data,
  (SELECT json_group_array(json(x.data)) FROM (
      SELECT DISTINCT d.id, d.data FROM intents d
      WHERE d.status != 'completed' AND d.id IN (
          SELECT target FROM edges WHERE source = b.id AND type = 'DEPENDS_ON'
          UNION ALL SELECT source FROM edges WHERE target = b.id AND type = 'BLOCKS')
      ORDER BY d.id) x),
  (SELECT json_group_array(json(x.data)) FROM (
      SELECT c.id, c.data FROM edges e JOIN intents c ON c.id = e.source
      WHERE e.target = b.id AND e.type = 'IS_SUBGOAL_OF' AND c.status NOT IN {_FINISHED_SQL}
      ORDER BY c.id) x)
FROM intents b
WHERE b.status = 'active' AND (b.unmet > 0 OR b.held > 0 OR b.open_subgoals > 0)
"""

_SUBTREE = """
WITH RECURSIVE t(id, depth, parent) AS (
    SELECT ?1, 0, NULL
    UNION ALL
    SELECT e.source, t.depth + 1, t.id
    FROM t JOIN edges e ON e.target = t.id AND e.type = 'IS_SUBGOAL_OF'
    WHERE (?2 IS NULL OR t.depth < ?2) AND t.depth < ?3
)
SELECT t.depth, t.id, t.parent, i.data FROM t JOIN intents i ON i.id = t.id
ORDER BY t.depth, t.id
"""
_SUBTREE_CAP = 10_000
"""Depth at which the recursive subtree query stops (a cycle in a damaged file would never
end it); deeper trees are read layer by layer instead."""

# (dependent, dependency) for every blocking edge, in one pass (see _BLOCKING_PAIRS).
_DEPENDENCY_PAIRS = (
    "SELECT iif(type = 'DEPENDS_ON', source, target), iif(type = 'DEPENDS_ON', target, source)"
    " FROM edges WHERE type IN ('DEPENDS_ON', 'BLOCKS')"
)


def _clamp(value: int | None, default: int) -> int:
    """Bind a Python int as SQLite int64 (``None`` → ``default``)."""
    if value is None:
        return default
    return max(min(value, 2**63 - 1), 0)


def _decoded(row: Sequence[Any]) -> ChangeRecord:
    """A change row with its op, type and status codes (schema 5) as names again; a value
    a migrated file kept as text (not one intentgraph writes) stays as it was."""
    seq, op, intent_id, target, etype, status = row
    return (
        seq,
        CHANGE_OPS[op] if type(op) is int else op,
        intent_id,
        target,
        CHANGE_TYPES[etype] if type(etype) is int else etype,
        CHANGE_STATUSES[status] if type(status) is int else status,
    )
