"""The graph invariants, checked in bounded memory over any number of intents and edges.

A ``Skeleton`` keeps what the invariants need (intent ids, edge keys, and where each came
from) in a temporary SQLite file with a small page cache, not in Python objects: a dict of
a million ids costs about 150 MB, the file a few MB of memory. The local rules (dangling
ends, self-loops, duplicates, parents) are SQL over that file; cycles are found by Kahn's
algorithm over compact integer arrays (4 bytes per intent and per edge), the ids numbered
by the file's rowids. A restore also stages its validated records there, so that it
applies what it checked, even when the backup came from a pipe.
"""

from __future__ import annotations

import contextlib
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from intentgraph._scratch import ScratchDir
from intentgraph.results import IntegrityProblem, ProblemKind

__all__ = ["Finding", "Skeleton", "drift_problem", "find_numbered_cycle"]

_SCHEMA = (
    "CREATE TABLE node (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, line INTEGER,"
    " apply INTEGER NOT NULL DEFAULT 0, data TEXT)",
    "CREATE TABLE edge (source TEXT NOT NULL, target TEXT NOT NULL, type TEXT NOT NULL,"
    " line INTEGER, apply INTEGER NOT NULL DEFAULT 0, data TEXT)",
)
# Blocking edges as (dependent, dependency), numbered; subgoal edges as (child, parent).
_DEPENDENCY_PAIRS = (
    "SELECT s.n, t.n FROM edge e JOIN node s ON s.id = e.source JOIN node t ON t.id = e.target"
    " WHERE e.type = 'DEPENDS_ON' UNION ALL "
    "SELECT t.n, s.n FROM edge e JOIN node s ON s.id = e.source JOIN node t ON t.id = e.target"
    " WHERE e.type = 'BLOCKS'"
)
_SUBGOAL_PAIRS = (
    "SELECT s.n, t.n FROM edge e JOIN node s ON s.id = e.source JOIN node t ON t.id = e.target"
    " WHERE e.type = 'IS_SUBGOAL_OF'"
)


@dataclass(frozen=True)
class Finding:
    """One problem found in a skeleton, with the line of the record it came from."""

    kind: ProblemKind
    message: str
    ids: list[str] = field(default_factory=list)
    line: int | None = None

    def as_problem(self) -> IntegrityProblem:
        """Return it as the ``IntegrityProblem`` a store reports."""
        return IntegrityProblem(kind=self.kind, message=self.message, ids=self.ids)


def _show(source: str, etype: str, target: str) -> str:
    return f"{source!r} -{etype}-> {target!r}"


class Skeleton:
    """Intent ids and edges in a temporary SQLite file; removed by ``close()``.

    Add intents and edges in any order (a restore adds them sorted, which is faster), then
    ask for ``findings()``. Ids must be distinct: the caller decides what one id seen twice
    means (a duplicate in a backup, or the same intent on both sides of a merge).
    """

    def __init__(self, directory: str | None = None) -> None:
        # A scratch directory: a process killed while checking leaves it for the next
        # check there to remove (with a restore's staged records, it is the backup's size).
        self._scratch = ScratchDir(directory, ".intentgraph-check-")
        self.path = str(self._scratch.path / "skeleton.db")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in (
                "journal_mode = OFF",
                "synchronous = OFF",
                "cache_size = -8000",  # 8 MB: the memory bound
                "temp_store = FILE",
                "locking_mode = EXCLUSIVE",
            ):
                self._db.execute(f"PRAGMA {pragma}")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute("BEGIN")
        except BaseException:
            self.close()
            raise
        self._indexed = False

    def close(self) -> None:
        """Remove the file; idempotent."""
        db = getattr(self, "_db", None)
        if db is not None:
            self._db = None  # type: ignore[assignment]
            with contextlib.suppress(sqlite3.Error):
                db.close()
        self._scratch.close()

    def __enter__(self) -> Skeleton:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- filling ----------------------------------------------------------------------

    def add_intents(self, rows: Iterable[tuple[str, int | None, int, str | None]]) -> None:
        """Add (id, line, apply, data) rows: ``apply`` 1 marks a record to write, ``data``
        its JSON (None for an intent that is only there, in the store)."""
        self._db.executemany("INSERT INTO node (id, line, apply, data) VALUES (?, ?, ?, ?)", rows)

    def add_edges(self, rows: Iterable[tuple[str, str, str, int | None, int, str | None]]) -> None:
        """Add (source, target, type, line, apply, data) rows."""
        self._db.executemany(
            "INSERT INTO edge (source, target, type, line, apply, data) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    # --- reading back what to apply ---------------------------------------------------

    def staged(self, table: str, batch: int = 2000) -> Iterator[list[str]]:
        """Yield the ``data`` of the rows marked to apply, in batches, in key order."""
        order = "id" if table == "node" else "source, target, type"
        cursor = self._db.execute(f"SELECT data FROM {table} WHERE apply = 1 ORDER BY {order}")
        while rows := cursor.fetchmany(batch):
            yield [r[0] for r in rows]

    def count(self, table: str, *, applied: bool = False) -> int:
        where = " WHERE apply = 1" if applied else ""
        return int(self._db.execute(f"SELECT count(*) FROM {table}{where}").fetchone()[0])

    # --- checking ---------------------------------------------------------------------

    def findings(self, *, limit: int = 50) -> list[Finding]:
        """Return how the skeleton breaks the graph invariants, at most ``limit`` of each
        kind, in a stable order (by line, then ids)."""
        db = self._db
        if not self._indexed:
            db.execute("CREATE INDEX edge_key ON edge (source, type, target)")
            self._indexed = True
        found: list[Finding] = []
        found += self._query(
            "self_loop",
            "SELECT source, type, target, line FROM edge WHERE source = target"
            " ORDER BY line, source, type LIMIT ?",
            limit,
            lambda s, t, g: f"edge {_show(s, t, g)} joins an intent to itself",
        )
        found += self._query(
            "dangling_edge",
            "SELECT source, type, target, line,"
            " CASE WHEN NOT EXISTS (SELECT 1 FROM node WHERE id = e.source) THEN e.source"
            " ELSE e.target END"
            " FROM edge e WHERE NOT EXISTS (SELECT 1 FROM node WHERE id = e.source)"
            " OR NOT EXISTS (SELECT 1 FROM node WHERE id = e.target)"
            " ORDER BY line, source, type, target LIMIT ?",
            limit,
            lambda s, t, g, missing: f"edge {_show(s, t, g)} names a missing intent {missing!r}",
        )
        found += self._query(
            "reversed_edge",
            "SELECT source, type, target, line FROM edge"
            " WHERE type = 'CONFLICTS_WITH' AND source > target"
            " AND NOT EXISTS (SELECT 1 FROM edge b WHERE b.source = edge.target"
            " AND b.type = edge.type AND b.target = edge.source)"
            " ORDER BY line, source, target LIMIT ?",
            limit,
            lambda s, t, g: f"symmetric edge {_show(s, t, g)} is stored in reverse order",
        )
        found += self._query(
            "duplicate_edge",
            "SELECT source, type, target, max(line) FROM edge GROUP BY source, type, target"
            " HAVING count(*) > 1 UNION ALL "
            "SELECT a.source, a.type, a.target, max(a.line, b.line) FROM edge a JOIN edge b"
            " ON b.source = a.target AND b.type = a.type AND b.target = a.source"
            " WHERE a.type = 'CONFLICTS_WITH' AND a.source < a.target"
            " ORDER BY 4, 1, 3 LIMIT ?",
            limit,
            lambda s, t, g: f"edge {_show(s, t, g)} is stored more than once",
        )
        for source, parents, line in db.execute(
            "SELECT source, group_concat(target, char(31)), max(line) FROM"
            " (SELECT source, target, line FROM edge WHERE type = 'IS_SUBGOAL_OF'"
            "  ORDER BY source, target)"
            " GROUP BY source HAVING count(*) > 1 ORDER BY 3, 1 LIMIT ?",
            (limit,),
        ):
            names = parents.split("\x1f")
            found.append(
                Finding(
                    "multiple_parents",
                    f"intent {source!r} has {len(names)} parents: "
                    + ", ".join(repr(p) for p in names),
                    [source, *names],
                    line,
                )
            )
        for kind, name, sql in (
            ("subgoal_cycle", "subgoal", _SUBGOAL_PAIRS),
            ("dependency_cycle", "dependency", _DEPENDENCY_PAIRS),
        ):
            cycle = self._find_cycle(sql)
            if cycle is not None:
                path = " -> ".join(cycle + cycle[:1])
                line = self._cycle_line(cycle, subgoal=name == "subgoal")
                found.append(
                    Finding(kind, f"the {name} edges form a cycle: {path}", cycle, line)  # type: ignore[arg-type]
                )
        return found

    def _cycle_line(self, cycle: list[str], *, subgoal: bool) -> int | None:
        """Return the last line among the edges of a cycle (None: none has a line)."""
        lines = []
        for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            if subgoal:
                sql = "SELECT max(line) FROM edge WHERE source = ?1 AND target = ?2"
                sql += " AND type = 'IS_SUBGOAL_OF'"
            else:
                sql = (
                    "SELECT max(line) FROM edge WHERE (source = ?1 AND target = ?2"
                    " AND type = 'DEPENDS_ON') OR (source = ?2 AND target = ?1 AND type = 'BLOCKS')"
                )
            line = self._db.execute(sql, (a, b)).fetchone()[0]
            if line is not None:
                lines.append(int(line))
        return max(lines) if lines else None

    def _query(self, kind: ProblemKind, sql: str, limit: int, say: object) -> list[Finding]:
        result = []
        for row in self._db.execute(sql, (limit,)):
            source, etype, target, line, *rest = row
            message = say(source, etype, target, *rest)  # type: ignore[operator]
            result.append(Finding(kind, message, [source, target], line))
        return result

    def _find_cycle(self, pairs_sql: str) -> list[str] | None:
        size = int(self._db.execute("SELECT coalesce(max(n), 0) FROM node").fetchone()[0]) + 1

        def names(numbers: list[int]) -> dict[int, str]:
            marks = ",".join("?" * len(numbers))
            return dict(self._db.execute(f"SELECT n, id FROM node WHERE n IN ({marks})", numbers))

        return find_numbered_cycle(self._db.execute(pairs_sql), size, names)


def find_numbered_cycle(
    pairs: Iterable[tuple[int, int]], size: int, names: Callable[[list[int]], dict[int, str]]
) -> list[str] | None:
    """Return one cycle of the graph given as (from, to) pairs of node numbers below
    ``size`` (named by ``names``), or None; 4 bytes per node and per edge.

    Kahn's algorithm: repeatedly remove nodes with no incoming edge. What is left lies
    on or below a cycle, and every node left has a predecessor left, so walking back
    along predecessors meets a node twice: that loop is a cycle.
    """
    sources = array("i")
    targets = array("i")
    for a, b in pairs:
        sources.append(a)
        targets.append(b)
    if not sources:
        return None
    indegree = array("i", bytes(4 * size))
    start = array("i", bytes(4 * (size + 1)))  # CSR offsets of each node's successors
    for a, b in zip(sources, targets, strict=True):
        indegree[b] += 1
        start[a + 1] += 1
    for i in range(size):
        start[i + 1] += start[i]
    succ = array("i", bytes(4 * len(sources)))
    fill = array("i", start)
    for a, b in zip(sources, targets, strict=True):
        succ[fill[a]] = b
        fill[a] += 1
    del fill
    queue = array("i", (v for v in range(size) if indegree[v] == 0))
    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for k in range(start[v], start[v + 1]):
            w = succ[k]
            indegree[w] -= 1
            if indegree[w] == 0:
                queue.append(w)
    if len(queue) == size:
        return None
    del queue
    # Predecessors among the nodes left, for the walk back.
    left = {v for v in range(size) if indegree[v] > 0}
    pred: dict[int, int] = {}
    for a, b in zip(sources, targets, strict=True):
        if a in left and b in left and b not in pred:
            pred[b] = a
    node = min(left)
    seen: dict[int, int] = {}
    walk: list[int] = []
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = pred[node]
    loop = walk[seen[node] :]
    loop.reverse()  # walked backwards: forwards now
    named = names(loop)
    cycle = [named[v] for v in loop]
    first = cycle.index(min(cycle))
    return cycle[first:] + cycle[:first]


def drift_problem(drifted: Iterable[str], kept_in: str) -> list[IntegrityProblem]:
    """The one problem to report for intents whose maintained state (``kept_in``: where a
    backend keeps it) differs from a recomputation, or none."""
    ids = sorted(set(drifted))
    if not ids:
        return []
    shown = ", ".join(map(repr, ids[:5])) + (" ..." if len(ids) > 5 else "")
    message = (
        f"{len(ids)} intent(s) have maintained {kept_in} (blocked state, copied fields) "
        f"that differ from a recomputation: {shown}"
    )
    return [IntegrityProblem(kind="derived_state", message=message, ids=ids[:50], repairable=True)]
