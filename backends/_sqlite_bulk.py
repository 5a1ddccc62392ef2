"""Whole-store operations of the SQLite backend: the consistent snapshot, the bulk load,
the integrity check and the rebuild of the maintained state.

``SqliteStore`` calls these from thin methods; they live here to keep ``sqlite.py`` at a
readable size.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic_core import from_json as _from_json

from intentgraph._base import as_edge, as_intent, storable_id
from intentgraph._codec import intent_from_json, intent_to_json
from intentgraph._integrity import Skeleton, drift_problem, find_numbered_cycle
from intentgraph._transactions import gc_paused
from intentgraph._whole import batches
from intentgraph.backends._sqlite_query import (
    EDGE_COLUMNS,
    EDGE_TEXT,
    edge_from_row,
    edge_row,
    to_us,
)
from intentgraph.backends._sqlite_schema import (
    RECOUNT,
    SCHEMA_VERSION,
    counter_problems,
    schema_problems,
    set_aside_for_load,
    user_version,
)
from intentgraph.errors import (
    IntentGraphError,
    InvalidEdge,
    InvalidIntent,
    MissingEndpoint,
    ReadOnlyStore,
    StoreClosed,
    StoreCorrupted,
    TransactionError,
)
from intentgraph.models import FINISHED_SUBGOAL, HOLDING_STATUSES, Edge, Intent, IntentStatus
from intentgraph.results import IntegrityProblem, LoadResult

if TYPE_CHECKING:
    from intentgraph.backends.sqlite import SqliteStore

__all__ = ["SqliteSnapshot", "bulk_load", "check_integrity", "rebuild_derived_state", "snapshot"]

_HOLD = "(" + ", ".join(f"'{s.value}'" for s in sorted(HOLDING_STATUSES)) + ")"
_FINISHED = "(" + ", ".join(f"'{s.value}'" for s in sorted(FINISHED_SUBGOAL)) + ")"
_DONE = f"'{IntentStatus.COMPLETED.value}'"

# The intents a held parent holds (``held``), and one row per unfinished blocker
# (``unmet``) and per open subgoal (``open_subgoals``): what the maintained columns count.
_HELD_IDS = f"""
  held_ids(id) AS (
    SELECT e.source FROM edges e JOIN intents p ON p.id = e.target
     WHERE e.type = 'IS_SUBGOAL_OF' AND p.status IN {_HOLD}
    UNION
    SELECT e.source FROM held_ids h JOIN edges e ON e.target = h.id AND e.type = 'IS_SUBGOAL_OF'
  )"""
_UNMET_ROWS = f"""
      SELECT e.source AS id FROM edges e JOIN intents d ON d.id = e.target
       WHERE e.type = 'DEPENDS_ON' AND d.status != {_DONE}
      UNION ALL
      SELECT e.target FROM edges e JOIN intents d ON d.id = e.source
       WHERE e.type = 'BLOCKS' AND d.status != {_DONE}"""
_OPEN_ROWS = f"""
      SELECT e.target AS id FROM edges e JOIN intents c ON c.id = e.source
       WHERE e.type = 'IS_SUBGOAL_OF' AND c.status NOT IN {_FINISHED}"""

# What unmet, held and open_subgoals should be, for every intent, from the records alone.
_EXPECTED = f"""
WITH RECURSIVE
  {_HELD_IDS},
  unmet_n(id, n) AS (SELECT id, count(*) FROM ({_UNMET_ROWS}) GROUP BY id),
  open_n(id, n) AS (SELECT id, count(*) FROM ({_OPEN_ROWS}) GROUP BY id),
  expected(id, unmet, held, open_subgoals) AS (
    SELECT i.id, coalesce(u.n, 0), i.id IN (SELECT id FROM held_ids), coalesce(o.n, 0)
      FROM intents i LEFT JOIN unmet_n u ON u.id = i.id LEFT JOIN open_n o ON o.id = i.id
  )
"""
# ``_REPAIR`` for rows just inserted with all three at 0 (a load into empty tables): only
# the intents with something to count are visited and written, not every intent (at 1M:
# 4 s against 8 s), and each status is read from ``_LOAD_STATUS``, a few bytes a row,
# not from the intents' rows (-1 s).
_LOAD_STATUS = (
    "CREATE TEMP TABLE ig_load_status (id TEXT PRIMARY KEY, status TEXT NOT NULL) WITHOUT ROWID"
)
_FILL_DERIVED = """
WITH RECURSIVE
  {held_ids},
  parts(id, unmet, held, open_subgoals) AS (
    SELECT id, 1, 0, 0 FROM ({unmet_rows})
    UNION ALL SELECT id, 0, 1, 0 FROM held_ids
    UNION ALL SELECT id, 0, 0, 1 FROM ({open_rows})
  )
UPDATE intents SET unmet = x.unmet, held = x.held, open_subgoals = x.open_subgoals
  FROM (SELECT id, sum(unmet) AS unmet, max(held) AS held, sum(open_subgoals) AS open_subgoals
          FROM parts GROUP BY id) x
 WHERE intents.id = x.id
""".format(
    **{
        name: sql.replace("JOIN intents", "JOIN temp.ig_load_status")
        for name, sql in (
            ("held_ids", _HELD_IDS),
            ("unmet_rows", _UNMET_ROWS),
            ("open_rows", _OPEN_ROWS),
        )
    }
)
_DRIFT = (
    _EXPECTED
    + """
SELECT i.id FROM intents i JOIN expected x ON x.id = i.id
 WHERE i.unmet != x.unmet OR i.held != x.held OR i.open_subgoals != x.open_subgoals
 ORDER BY i.id
"""
)
_REPAIR = (
    _EXPECTED
    + """
UPDATE intents SET unmet = x.unmet, held = x.held, open_subgoals = x.open_subgoals
  FROM expected x
 WHERE intents.id = x.id
   AND (intents.unmet != x.unmet OR intents.held != x.held
        OR intents.open_subgoals != x.open_subgoals)
"""
)
_UPSERT_INTENT = (
    "INSERT INTO intents (id, status, priority, name, session_id, created_us, updated_us,"
    " search, lease_expires_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET status = excluded.status, priority = excluded.priority,"
    " name = excluded.name, session_id = excluded.session_id,"
    " created_us = excluded.created_us, updated_us = excluded.updated_us,"
    " search = excluded.search, lease_expires_us = excluded.lease_expires_us,"
    " data = excluded.data"
)
_UPSERT_EDGE = (
    "INSERT INTO edges (source, type, target, created_us, data) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (source, type, target) DO UPDATE SET created_us = excluded.created_us,"
    " data = excluded.data"
)
_BATCH = 5000


def _change_mark(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
    return 0 if row is None else int(row[0])


class SqliteSnapshot:
    """One read transaction on a second, read-only connection (see ``snapshot``)."""

    def __init__(self, store: SqliteStore, batch_size: int) -> None:
        from intentgraph.backends.sqlite import _translate

        self._translate = _translate
        self._path = store._path
        self._batch = max(int(batch_size), 1)
        target = f"file:{quote(os.path.abspath(store._path))}?mode=ro"
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                target,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
                timeout=store._busy_timeout_ms / 1000,
            )
            db = self._db
            db.execute(f"PRAGMA busy_timeout = {int(store._busy_timeout_ms)}")
            db.execute("BEGIN")  # the view starts at the first read, just below
            self._intents = int(db.execute("SELECT count(*) FROM intents").fetchone()[0])
            self._edges = int(db.execute("SELECT count(*) FROM edges").fetchone()[0])
            self._changes = _change_mark(db)
        except sqlite3.Error as exc:
            self.close()
            raise _translate(exc, self._path) from exc

    @property
    def intent_count(self) -> int:
        return self._intents

    @property
    def edge_count(self) -> int:
        return self._edges

    @property
    def changes(self) -> int:
        return self._changes

    @property
    def connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreClosed("the snapshot was used after its with block")
        return self._db

    def rows(self, sql: str) -> Iterator[builtins.list[Any]]:
        """Yield the rows of a query on the view, in batches."""
        try:
            cursor = self.connection.execute(sql)
            while rows := cursor.fetchmany(self._batch):
                yield rows
        except sqlite3.Error as exc:
            raise self._translate(exc, self._path) from exc

    def intents(self) -> Iterator[builtins.list[Intent]]:
        for rows in self.rows("SELECT data FROM intents ORDER BY id"):
            yield [intent_from_json(r[0]) for r in rows]

    def edges(self) -> Iterator[builtins.list[Edge]]:
        for rows in self.rows(f"SELECT {EDGE_COLUMNS} FROM edges ORDER BY source, target, type"):
            yield [edge_from_row(*r) for r in rows]

    def intent_json(self) -> Iterator[builtins.list[str]]:
        yield from self._texts("SELECT data, json_valid(data), id FROM intents ORDER BY id")

    def edge_json(self) -> Iterator[builtins.list[str]]:
        # An edge kept as its key and created_us: its record written by SQLite (EDGE_TEXT).
        for rows in self.rows(
            f"SELECT {EDGE_TEXT}, data IS NULL OR json_valid(data),"
            " source || ' -' || type || '-> ' || target"
            " FROM edges ORDER BY source, target, type"
        ):
            if not all(r[0] is not None and r[1] for r in rows):
                bad = next(r[2] for r in rows if r[0] is None or not r[1])
                raise StoreCorrupted(f"{self._path}: the record of {bad!r} is not JSON")
            yield [r[0] for r in rows]

    def _texts(self, sql: str) -> Iterator[builtins.list[str]]:
        """The stored JSON as it is (``intent_to_json`` wrote it), checked to be JSON."""
        for rows in self.rows(sql):
            if not all(r[1] for r in rows):
                bad = next(r[2] for r in rows if not r[1])
                raise StoreCorrupted(f"{self._path}: the record of {bad!r} is not JSON")
            yield [r[0] for r in rows]

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
            finally:
                db.close()


def snapshot(store: SqliteStore, batch_size: int) -> AbstractContextManager[SqliteSnapshot]:
    store._check_open()
    store._require_no_transaction("snapshot")
    return _closing(SqliteSnapshot(store, batch_size))


@contextmanager
def _closing(view: SqliteSnapshot) -> Iterator[SqliteSnapshot]:
    try:
        yield view
    finally:
        view.close()


def bulk_load(
    store: SqliteStore,
    intents: Iterable[Intent],
    edges: Iterable[Edge],
    *,
    replace: bool,
    expected_changes: int | None,
    confirm: Callable[[], object] | None,
) -> LoadResult:
    from intentgraph.backends.sqlite import _row

    return _load(
        store,
        ([_row(i, intent_to_json(i)) for i in map(as_intent, b)] for b in batches(intents, _BATCH)),
        ([edge_row(e) for e in map(as_edge, b)] for b in batches(edges, _BATCH)),
        replace=replace,
        expected_changes=expected_changes,
        check_graph=True,
        confirm=confirm,
    )


def bulk_load_json(
    store: SqliteStore,
    intents: Iterable[str],
    edges: Iterable[str],
    *,
    replace: bool,
    expected_changes: int | None,
    confirm: Callable[[], object] | None,
    graph_checked: bool,
) -> LoadResult:
    """Store the texts as they are; read only the fields the columns copy."""
    return _load(
        store,
        ([_text_row(t) for t in batch] for batch in batches(intents, _BATCH)),
        ([_edge_text_row(t) for t in batch] for batch in batches(edges, _BATCH)),
        replace=replace,
        expected_changes=expected_changes,
        check_graph=not graph_checked,
        confirm=confirm,
    )


_fromiso = datetime.fromisoformat


def _text_row(text: str) -> tuple[Any, ...]:
    """The row ``_row`` makes of the intent this text holds, without building the intent."""
    f = _from_json(text, cache_strings="keys")  # values mostly unique: not worth caching
    lease = f["lease"]
    return (
        f["id"],
        f["status"],
        f["priority"],
        f["name"],
        f["session_id"],
        to_us(_fromiso(f["created_at"])),
        to_us(_fromiso(f["updated_at"])),
        (f["name"] + "\n" + f["goal"]).casefold(),  # search_text()
        None if lease is None else to_us(_fromiso(lease["expires_at"])),
        text,
    )


# An edge's text as edge_to_json writes it when it has no weight and no metadata and its
# ids hold no escape (no quote, no backslash): the text being a valid record, the groups
# are the values (as ``_codec.plain_edge_from_line``, on str).
_PLAIN_EDGE = re.compile(
    r'\{"source":"([^"\\]*)","target":"([^"\\]*)","type":"([A-Z_]+)",'
    r'"weight":null,"metadata":\{\},"created_at":"([-0-9:.+TZ]{1,64})"\}'
)


def _edge_text_row(text: str) -> tuple[Any, ...]:
    """The row ``edge_row`` makes of the edge this text holds, without building it."""
    plain = _PLAIN_EDGE.fullmatch(text)
    if plain is not None:
        source, target, etype, created = plain.groups()
    else:
        f = _from_json(text)
        source, target, etype, created = f["source"], f["target"], f["type"], f["created_at"]
        if f["weight"] is not None or f["metadata"] != {} or type(created) is not str:
            return (source, etype, target, None, text)
    try:
        when = _fromiso(created)
    except ValueError:
        when = None
    if when is None or when.tzinfo is not UTC:  # checked texts are UTC: not expected
        return (source, etype, target, None, text)
    return (source, etype, target, to_us(when), None)


def _load(
    store: SqliteStore,
    intent_rows: Iterable[builtins.list[tuple[Any, ...]]],
    edge_rows: Iterable[builtins.list[tuple[Any, ...]]],
    *,
    replace: bool,
    expected_changes: int | None,
    check_graph: bool,
    confirm: Callable[[], object] | None,
) -> LoadResult:
    store._check_open()
    if store._read_only:
        raise ReadOnlyStore(f"{store._url} is open read-only")
    store._require_no_transaction("bulk_load")
    removed_intents = removed_edges = written_intents = written_edges = 0
    with store._lock:
        conn = store._conn
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        # Index pages of a million random keys: a larger page cache for the load only.
        conn.execute(f"PRAGMA cache_size = {-_LOAD_CACHE_KB}")
        # Index builds sort the rows: a helper thread per spare core (at 1M: 8.5 s for
        # every index with none, 7.3 s with helpers).
        conn.execute(f"PRAGMA threads = {min(os.cpu_count() or 1, 4) - 1}")
        if not check_graph:  # the caller checked both ends of every edge: no lookups
            conn.execute("PRAGMA foreign_keys = OFF")  # before BEGIN: inside, it does nothing
        try:
            with gc_paused(), store._write():
                db = store._conn
                mark = _change_mark(db)
                if expected_changes is not None and expected_changes != mark:
                    raise TransactionError(
                        f"the store changed since change {expected_changes} (now at {mark}); "
                        "nothing was loaded"
                    )
                if replace:
                    removed_edges = db.execute("DELETE FROM edges").rowcount
                    removed_intents = db.execute("DELETE FROM intents").rowcount
                empty = db.execute(_EMPTY).fetchone()[0]
                remake = set_aside_for_load(db) if empty else []
                if remake:
                    db.execute("DROP TABLE IF EXISTS temp.ig_load_status")  # a bug's leftover
                    db.execute(_LOAD_STATUS)
                for rows in intent_rows:
                    db.executemany(_UPSERT_INTENT, rows)
                    if remake:
                        db.executemany(
                            "INSERT OR REPLACE INTO temp.ig_load_status VALUES (?, ?)",
                            [row[:2] for row in rows],
                        )
                    written_intents += len(rows)
                if remake:  # while the edges still stream in (a restore: still checked)
                    remake = _index_intents(db, remake)
                for rows in edge_rows:
                    try:
                        db.executemany(_UPSERT_EDGE, rows)
                    except sqlite3.IntegrityError as exc:
                        _name_missing_end(db, rows)
                        raise StoreCorrupted(f"an edge could not be loaded: {exc}") from exc
                    written_edges += len(rows)
                if remake:
                    _remake(db, remake)
                problem = _graph_problem(db) if check_graph else None
                if problem is not None:
                    raise InvalidEdge(f"the loaded records break the graph's rules: {problem}")
                if not remake:
                    db.execute(_REPAIR)
                # The feed moves on by one and forgets older changes: pollers re-read.
                db.execute("DELETE FROM changes")
                moved = db.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = 'changes'", (mark + 1,)
                ).rowcount
                if not moved:
                    db.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', ?)",
                        (mark + 1,),
                    )
                if confirm is not None:
                    confirm()
        finally:
            if not store.closed:
                conn.execute(f"PRAGMA cache_size = {int(cache)}")
                conn.execute("PRAGMA threads = 0")
                conn.execute("PRAGMA foreign_keys = ON")
    return LoadResult(
        intents=written_intents,
        edges=written_edges,
        removed_intents=removed_intents,
        removed_edges=removed_edges,
        changes=mark + 1,
    )


_LOAD_CACHE_KB = 64 * 1024


def _index_intents(
    db: sqlite3.Connection, remake: builtins.list[tuple[str, str]]
) -> builtins.list[tuple[str, str]]:
    """Once the intents of a load into empty tables are in: make their indexes that do
    not read the maintained columns (which ``_FILL_DERIVED`` writes without touching
    them); return the statements still to run."""
    done = [
        (table, sql)
        for table, sql in remake
        if table == "intents" and _is_index(sql) and not _MAINTAINED.search(sql)
    ]
    for _, statement in done:
        db.execute(statement)
    return [item for item in remake if item not in done]


def _remake(db: sqlite3.Connection, remake: builtins.list[tuple[str, str]]) -> None:
    """After a load into empty tables: the edge indexes, the maintained columns (read
    through those indexes), the remaining intent indexes, the counts the triggers keep
    (recounted with no trigger firing a million times), and last the triggers."""
    indexes = [(table, sql) for table, sql in remake if _is_index(sql)]
    for table, statement in indexes:
        if table == "edges":
            db.execute(statement)
    db.execute(_FILL_DERIVED)
    db.execute("DROP TABLE temp.ig_load_status")
    for table, statement in indexes:
        if table != "edges":
            db.execute(statement)
    for statement in RECOUNT:
        db.execute(statement)
    for table, statement in remake:
        if (table, statement) not in indexes:
            db.execute(statement)


def _is_index(sql: str) -> bool:
    return sql.lstrip().upper().startswith("CREATE INDEX")


_MAINTAINED = re.compile(r"\b(unmet|held|open_subgoals)\b", re.IGNORECASE)
_EMPTY = "SELECT NOT EXISTS (SELECT 1 FROM intents) AND NOT EXISTS (SELECT 1 FROM edges)"


def _graph_problem(db: sqlite3.Connection) -> str | None:
    """What writes refuse and a load has made (the first found), or None: the rules of the
    memory store's ``graph_problems`` (both ends exist: the foreign keys saw to it), in
    SQL and over arrays of rowids, a few bytes per intent and edge."""
    row = db.execute("SELECT source, type FROM edges WHERE source = target LIMIT 1").fetchone()
    if row is not None:
        return f"a {row[1]} edge joins {row[0]!r} to itself"
    row = db.execute(
        "SELECT source, target FROM edges WHERE type = 'CONFLICTS_WITH' AND source > target"
    ).fetchone()
    if row is not None:
        return f"CONFLICTS_WITH edge {row[0]!r} -> {row[1]!r} is not in sorted order"
    row = db.execute(
        "SELECT source, count(*) FROM edges WHERE type = 'IS_SUBGOAL_OF'"
        " GROUP BY source HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    if row is not None:
        return f"intent {row[0]!r} has {row[1]} parents"
    db.execute("DROP TABLE IF EXISTS temp.ig_numbered")  # none, unless a bug left one
    db.execute(_NUMBERED)
    try:
        db.execute(_NUMBERED_FILL)
        size = db.execute("SELECT count(*) + 1 FROM temp.ig_numbered").fetchone()[0]

        def names(numbers: builtins.list[int]) -> dict[int, str]:
            marks = ",".join("?" * len(numbers))
            sql = f"SELECT n, id FROM temp.ig_numbered WHERE n IN ({marks})"
            return dict(db.execute(sql, numbers))

        for kind, pairs in (("subgoal", _SUBGOAL_NUMBERS), ("dependency", _BLOCKING_NUMBERS)):
            cycle = find_numbered_cycle(db.execute(pairs), size, names)
            if cycle is not None:
                return f"the {kind} edges form a cycle: {' -> '.join(cycle + cycle[:1])}"
    finally:
        db.execute("DROP TABLE temp.ig_numbered")
    return None


# Intents numbered 1..n for the cycle search's arrays (rowids may be sparse in a file
# edited by hand); a temporary table, so nothing of it reaches the database file.
_NUMBERED = "CREATE TEMP TABLE ig_numbered (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID"
_NUMBERED_FILL = "INSERT INTO temp.ig_numbered SELECT id, row_number() OVER () FROM intents"
_PAIRS = (
    "SELECT a.n, b.n FROM edges e JOIN temp.ig_numbered a ON a.id = e.{0}"
    " JOIN temp.ig_numbered b ON b.id = e.{1} WHERE e.type = '{2}'"
)
_SUBGOAL_NUMBERS = _PAIRS.format("source", "target", "IS_SUBGOAL_OF")
_BLOCKING_NUMBERS = (
    _PAIRS.format("source", "target", "DEPENDS_ON")
    + " UNION ALL "
    + _PAIRS.format("target", "source", "BLOCKS")
)


def _name_missing_end(db: sqlite3.Connection, rows: builtins.list[tuple[Any, ...]]) -> None:
    for source, _, target, *_ in rows:
        for end, role in ((source, "source"), (target, "target")):
            if db.execute("SELECT 1 FROM intents WHERE id = ?", (end,)).fetchone() is None:
                raise MissingEndpoint(end, role)


def rebuild_derived_state(store: SqliteStore) -> int:
    """Recompute the copied columns and the blocked state; return the rows changed."""
    from intentgraph.backends.sqlite import _UPDATE_INTENT, _row

    store._check_open()
    if store._read_only:
        raise ReadOnlyStore(f"{store._url} is open read-only")
    store._require_no_transaction("rebuild_derived_state")
    with store._write():
        db = store._conn
        fixes = []
        for row in db.execute(f"SELECT {_COLUMNS} FROM intents ORDER BY id"):
            intent = _readable(row[-1])
            if intent is not None and intent.id == row[0]:
                expected = _row(intent, row[-1])
                if tuple(row) != expected:
                    fixes.append((*expected[1:5], *expected[6:], intent.id))
        db.executemany(_UPDATE_INTENT, fixes)
        before = db.total_changes
        db.execute(_REPAIR)
        changed = len(fixes) + db.total_changes - before
        miscounted = counter_problems(db)
        if miscounted:
            for statement in RECOUNT:
                db.execute(statement)
            changed += len(miscounted)
    return changed


_COLUMNS = (
    "id, status, priority, name, session_id, created_us, updated_us, search, lease_expires_us, data"
)
_STATUSES = {s.value for s in IntentStatus}


def _readable(data: str) -> Intent | None:
    try:
        return intent_from_json(data)
    except (IntentGraphError, ValueError, TypeError):
        return None


def check_integrity(store: SqliteStore) -> builtins.list[IntegrityProblem]:
    from intentgraph.backends.sqlite import _row

    problems: builtins.list[IntegrityProblem] = []
    with snapshot(store, 2000) as view, Skeleton() as skeleton, gc_paused():
        db = view.connection
        found = [r[0] for r in db.execute("PRAGMA integrity_check(20)")]
        if found != ["ok"]:
            problems += [IntegrityProblem(kind="storage", message=f"SQLite: {m}") for m in found]
        version = user_version(db)
        problems += [
            IntegrityProblem(kind="schema", message=m, repairable=False)
            for m in schema_problems(db)
        ]
        drifted: builtins.list[str] = []
        for rows in view.rows(f"SELECT {_COLUMNS} FROM intents ORDER BY id"):
            for row in rows:
                problem = _check_intent_row(row, _row)
                if isinstance(problem, IntegrityProblem):
                    problems.append(problem)
                elif problem == "drift":
                    drifted.append(row[0])
            skeleton.add_intents((r[0], None, 0, None) for r in rows)
        for rows in view.rows(f"SELECT {EDGE_COLUMNS} FROM edges"):
            for source, target, etype, created_us, data in rows:
                problem = _check_edge_row(source, target, etype, created_us, data)
                if problem is not None:
                    problems.append(problem)
            skeleton.add_edges((s, g, k, None, 0, None) for s, g, k, _, _ in rows)
        problems += [f.as_problem() for f in skeleton.findings()]
        drifted += [r[0] for r in db.execute(_DRIFT)]
        problems += drift_problem(drifted, "columns")
        if version == SCHEMA_VERSION:
            problems += [
                IntegrityProblem(kind="derived_state", message=m, repairable=True)
                for m in counter_problems(db)[:20]
            ]
        if version != SCHEMA_VERSION and not any(p.kind == "schema" for p in problems):
            problems.append(IntegrityProblem(kind="schema", message=f"schema version {version}"))
    return problems


def _check_edge_row(
    source: str, target: str, etype: str, created_us: Any, data: Any
) -> IntegrityProblem | None:
    """Return the problem of one edge row (see ``EDGE_COLUMNS``), or None."""
    why = "its record does not name it"
    try:
        if (created_us is None) == (data is None):
            raise StoreCorrupted("it must have either created_us or data, not both or neither")
        edge = as_edge(edge_from_row(source, target, etype, created_us, data))
    except (IntentGraphError, ValueError, TypeError) as exc:
        edge = None
        why = str(exc)
    if edge is not None and edge.key == (source, target, etype):
        return None
    return IntegrityProblem(
        kind="invalid_record",
        message=f"edge {source!r} -{etype}-> {target!r}: {why}",
        ids=[source, target],
    )


def _check_intent_row(row: Any, make_row: Any) -> IntegrityProblem | str | None:
    """Return the problem of one intent row, "drift" when only its copied columns are off
    (they are rebuilt from ``data``), or None."""
    intent_id, data = row[0], row[-1]
    try:
        intent = as_intent(intent_from_json(data))
    except (StoreCorrupted, InvalidIntent) as exc:
        status = _status_in(data)
        if status is not None and status not in _STATUSES:
            return IntegrityProblem(
                kind="invalid_status",
                message=f"intent {intent_id!r} has status {status!r}, which is not a status",
                ids=[intent_id],
            )
        return IntegrityProblem(
            kind="invalid_record", message=f"intent {intent_id!r}: {exc}", ids=[intent_id]
        )
    if intent.id != intent_id or not storable_id(intent_id):
        return IntegrityProblem(
            kind="invalid_record",
            message=f"intent row {intent_id!r} holds the record of {intent.id!r}",
            ids=[intent_id],
        )
    if tuple(row) != make_row(intent, data):
        return "drift"
    return None


def _status_in(data: str) -> Any:
    try:
        return json.loads(data).get("status")
    except (ValueError, AttributeError, RecursionError):
        return None
