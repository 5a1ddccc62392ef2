"""The SQLite backend: the embedded default store, safe for several processes at once.

One connection per store, guarded by a re-entrant lock. WAL journal, ``synchronous=FULL``
(an acknowledged write survives a crash), foreign keys on, and every write inside
``BEGIN IMMEDIATE`` so that a compare-and-swap such as ``claim`` holds across processes;
writers queue for it on a file lock beside the database (``_sqlite_lock``), not in SQLite's
sleeping busy handler. Every ``sqlite3`` error is translated into an ``intentgraph.errors``
class.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import quote

from intentgraph import _graph
from intentgraph._base import (
    canonical_edge,
    dependency_pair,
    next_version,
    storable_id,
)
from intentgraph._codec import intent_from_json, intent_to_json
from intentgraph._transactions import Level
from intentgraph._url import ParsedURL, check_query, query_flag
from intentgraph.backends import _sqlite_bulk as _bulk
from intentgraph.backends import _sqlite_graph as g
from intentgraph.backends._sqlite_bulk import SqliteSnapshot
from intentgraph.backends._sqlite_lock import WriterLock
from intentgraph.backends._sqlite_query import (
    edge_from_row,
    edge_row,
    json_list,
    to_us,
)
from intentgraph.backends._sqlite_reads import SqliteReads
from intentgraph.backends._sqlite_schema import (
    CHANGE_OPS,
    CHANGE_STATUSES,
    CHANGE_TYPES,
    SCHEMA_VERSION,
    migrate,
    set_aside,
    user_version,
)
from intentgraph.errors import (
    CycleError,
    EdgeNotFound,
    IntentExists,
    IntentGraphError,
    IntentInUse,
    IntentNotFound,
    InvalidURL,
    MissingEndpoint,
    MultipleParents,
    ReadOnlyStore,
    StorageError,
    StoreCorrupted,
    StoreUnavailable,
)
from intentgraph.filters import search_text
from intentgraph.models import (
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    as_edge_type,
)
from intentgraph.results import IntegrityProblem, LoadResult

__all__ = ["SqliteStore"]

_HOLDING = HOLDING_STATUSES
_INSERT_INTENT = (
    "INSERT INTO intents (id, status, priority, name, session_id, created_us, updated_us,"
    " search, lease_expires_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_INTENT = (
    "UPDATE intents SET status = ?, priority = ?, name = ?, session_id = ?, updated_us = ?,"
    " search = ?, lease_expires_us = ?, data = ? WHERE id = ?"
)
_INSERT_CHANGE = "INSERT INTO changes (op, intent_id, target, type, status) VALUES (?, ?, ?, ?, ?)"
# Keep the last CHANGE_HISTORY changes: an indexed range delete, usually of one row.
_TRIM_CHANGES = (
    "DELETE FROM changes WHERE seq <= (SELECT seq FROM sqlite_sequence WHERE name = 'changes') - ?"
)
CHANGE_HISTORY = 100_000
"""How many recent changes a SQLite store keeps for ``changes()``."""
# A change row's op, edge type and status, as stored (schema 5).
_PUT, _UPDATE, _DELETE, _ADD_EDGE, _REMOVE_EDGE = range(len(CHANGE_OPS))
_TYPE = {name: k for k, name in enumerate(CHANGE_TYPES)}
_STATUS = {name: k for k, name in enumerate(CHANGE_STATUSES)}
assert CHANGE_OPS[_REMOVE_EDGE] == "remove_edge" and _TYPE.keys() == {t.value for t in EdgeType}
assert _STATUS.keys() == {s.value for s in IntentStatus}
WAL_LIMIT = 32 * 1024 * 1024
"""Bytes of write-ahead log kept after a checkpoint resets it (``journal_size_limit``)."""
PAGE_SIZE = 8192
"""Page size of a new file (an existing file keeps its own). An intent row is some 500 bytes
and a page ends with the part of a row that did not fit: 8 KB pages waste half what 4 KB
pages do (at 100k intents the file is 7 MB smaller), and a commit of a few rows writes a few
more KB to the log."""
BULK_ROWS = 10_000
"""Rows a transaction writes before its commit also checkpoints and truncates the log."""
INDEX_AFTER_ROWS = 5_000
"""A ``put_many`` of at least this many intents, and of no fewer than the store holds, drops
the intents' secondary indexes and makes them again after its rows are in (an ``add_edges``
likewise the ready index, which its checks do not read): one sorted build is cheaper than an
entry per row, and its pages are full where entries added one by one leave an index's pages
about 88% full (5 MB at 100k intents). Its cost is that of the store's rows, so at most twice
the batch's."""
_FINISHED = FINISHED_SUBGOAL


def _translate(exc: BaseException, path: str, *, opening: bool = False) -> StorageError:
    """Map an ``sqlite3``/OS error to the intentgraph error a caller can act on.

    Only what stops the file from being reached or opened is ``StoreUnavailable`` (the one
    error ``open_store(..., fallback=True)`` replaces with memory); while opening, an error
    about the file's content (no such table or column, already exists) is
    ``StoreCorrupted``.
    """
    if isinstance(exc, OSError) and exc.errno is None:
        raise exc  # not from the OS: a signal handler's TimeoutError goes on unchanged
    msg = str(exc)
    low = msg.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return StoreCorrupted(f"{path} is not a usable SQLite database: {msg}")
    if "locked" in low or "busy" in low:
        return StorageError(f"{path} is locked by another writer beyond busy_timeout: {msg}")
    if isinstance(exc, OSError) or "unable to open" in low:
        return StoreUnavailable(f"cannot open SQLite store {path}: {msg}")
    if opening:
        if any(s in low for s in ("permission denied", "readonly database", "is a directory")):
            return StoreUnavailable(f"cannot open SQLite store {path}: {msg}")
        # Neither reach nor content: the file is there and may hold data, so no fallback.
        operational = ("disk i/o error", "disk is full", "interrupted", "out of memory")
        if not any(s in low for s in operational):
            return StoreCorrupted(f"{path} is not a usable intentgraph store: {msg}")
    return StorageError(f"SQLite error on {path}: {msg}")


def _row(intent: Intent, data: str) -> tuple[Any, ...]:
    return (
        intent.id,
        intent.status.value,
        intent.priority,
        intent.name,
        intent.session_id,
        to_us(intent.created_at),
        to_us(intent.updated_at),
        search_text(intent),  # text search reads this column: one definition of it
        None if intent.lease is None else to_us(intent.lease.expires_at),
        data,
    )


class _Clash(Exception):
    """A constraint failed inside a write; carried out of its rolled-back transaction."""

    def __init__(self, error: sqlite3.IntegrityError) -> None:
        super().__init__(str(error))
        self.error = error


_INHERITED: builtins.list[sqlite3.Connection] = []
"""Connections inherited through fork(), never closed in the child (see ``_close_forked``)."""

MIN_SQLITE = (3, 35, 0)
"""Oldest SQLite library the queries run on (UPDATE ... FROM, multi-part recursive CTEs)."""


class SqliteStore(SqliteReads):
    """Intents and edges in one SQLite file."""

    backend_name = "sqlite"
    fork_safe = False  # SQLite connections must not cross fork()
    _rows_written = 0  # by the transaction in progress (see BULK_ROWS)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 30_000,
        read_only: bool = False,
        url: str | None = None,
    ) -> None:
        """Open (creating and migrating when needed) the store at ``path``.

        Raises:
            StoreUnavailable: the file cannot be opened or created.
            StoreCorrupted: the file is not an intentgraph SQLite store, or is newer.
            StorageError: the file stayed locked beyond ``busy_timeout_ms``.
        """
        self._path = os.fspath(path)
        kind = 0
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            need = ".".join(map(str, MIN_SQLITE))
            raise StoreUnavailable(
                f"the SQLite library is {sqlite3.sqlite_version}; intentgraph needs {need} "
                "or newer (UPDATE ... FROM, JSON functions)"
            )
        with contextlib.suppress(OSError):  # not there yet: SQLite makes it
            kind = os.stat(self._path).st_mode
        if stat.S_ISDIR(kind):
            raise InvalidURL(f"{self._path} is a directory; name a file such as store.db in it")
        if kind and not stat.S_ISREG(kind):
            raise InvalidURL(f"{self._path} is not a regular file (a pipe or a device)")
        super().__init__(url=url or f"sqlite:///{self._path}", read_only=read_only)
        self._busy_timeout_ms = busy_timeout_ms
        self._busy_cut = False  # the connection's busy timeout is cut short (_begin_write)
        self._writer: WriterLock | None = None  # None: read-only (or not open yet)
        self._conn = self._connect()
        if not read_only:
            # The real path, as SQLite places its -wal beside the file a symlink names.
            self._writer = WriterLock(os.path.realpath(self._path))

    def _connect(self) -> sqlite3.Connection:
        from intentgraph.backends._sqlite_schema import check_schema

        conn: sqlite3.Connection
        try:
            if self._read_only:
                target = f"file:{quote(os.path.abspath(self._path))}?mode=ro"
                conn = sqlite3.connect(target, uri=True, **self._connect_args())
            else:
                conn = sqlite3.connect(self._path, **self._connect_args())
        except (sqlite3.Error, OSError) as exc:
            raise _translate(exc, self._path, opening=True) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            # Refuse a foreign or damaged file before anything writes to it (journal_mode
            # rewrites the header): a failed open leaves the file as it was.
            found = check_schema(conn, self._path)
            if not self._read_only:
                if found == 0:  # a new file (check_schema refused any other at 0)
                    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # before its first write
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            if found != SCHEMA_VERSION:
                migrate(conn, self._path, read_only=self._read_only)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error | OSError) and not isinstance(exc, IntentGraphError):
                raise _translate(exc, self._path, opening=True) from exc
            raise
        return conn

    def _connect_args(self) -> dict[str, Any]:
        return {
            "isolation_level": None,
            "check_same_thread": False,
            "timeout": self._busy_timeout_ms / 1000,
            "cached_statements": 256,
        }

    @classmethod
    def from_url(cls, url: ParsedURL) -> SqliteStore:
        """Open from ``sqlite:///relative.db`` or ``sqlite:////absolute.db``.

        Query options: ``busy_timeout`` (milliseconds, default 30000) and ``read_only``.
        """
        check_query(url, {"busy_timeout", "read_only"})
        raw = url.query.get("busy_timeout", "30000")
        try:
            timeout = int(raw)
        except ValueError:
            timeout = -1
        if timeout < 0:
            raise InvalidURL(f"{url.redacted}: busy_timeout={raw!r} is not milliseconds")
        return cls(
            url.file_path(),
            busy_timeout_ms=timeout,
            read_only=query_flag(url, "read_only"),
            url=url.redacted,
        )

    # --- lifecycle --------------------------------------------------------------------

    def _close(self) -> None:
        self._conn.close()
        if self._writer is not None:
            self._writer.close()

    def _close_forked(self) -> None:
        # Closing SQLite's connection in a child could act on the parent's files (checkpoint,
        # lock release); it is kept unclosed for the life of the child instead.
        _INHERITED.append(self._conn)

    def _after_fork_in_child(self) -> None:
        super()._after_fork_in_child()
        if self._writer is not None:
            # The child's copy of the lock file would keep the parent's lock held after
            # the parent died; closing the copy leaves the parent's lock as it is.
            self._writer.close()

    def local_files(self) -> builtins.list[str]:
        # As given and resolved: SQLite names its -wal and -journal after the file a
        # symlink names, the writer lock after the real one.
        names = dict.fromkeys([os.path.abspath(self._path), os.path.realpath(self._path)])
        ends = ("", "-wal", "-shm", "-journal", "-lock")
        return [f"{name}{end}" for name in names for end in ends]

    def compact(self) -> None:
        """Give space back: checkpoint the write-ahead log into the file and vacuum it.

        Raises:
            TransactionError: called inside a transaction.
            StorageError: the file is busy.
        """
        self._check_open()
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self._lock:
            self._require_no_transaction("compact")
            try:
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc

    def _tx_begin(self, level: Level) -> None:
        if level.depth > 0:
            self._conn.execute(f"SAVEPOINT ig_sp{level.depth}")
            return
        self._rows_written = 0
        if self._writer is None:  # read-only
            self._conn.execute("BEGIN")
        else:
            self._begin_write(self._writer)

    def _begin_write(self, writer: WriterLock) -> None:
        """Take the writer lock, then ``BEGIN IMMEDIATE``, within ``busy_timeout`` in all."""
        conn = self._conn
        if self._busy_cut:  # an interrupt left it cut short
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            self._busy_cut = False
        waited = writer.acquire(self._busy_timeout_ms / 1000)
        if waited is None:
            raise StorageError(
                f"{self._path} is locked by another writer beyond busy_timeout "
                f"({self._busy_timeout_ms} ms): its writer lock {writer.path} stayed held"
            )
        if not waited:
            conn.execute("BEGIN IMMEDIATE")
            return
        # A writer that holds the database without the lock (the sqlite3 shell, say) is
        # waited for by SQLite, for what is left of busy_timeout.
        self._busy_cut = True
        conn.execute(f"PRAGMA busy_timeout = {max(int(self._busy_timeout_ms - waited * 1000), 0)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            self._busy_cut = False

    def _tx_commit(self, level: Level) -> None:
        if level.depth > 0:
            self._conn.execute(f"RELEASE ig_sp{level.depth}")
            level.committed = True
            return
        self._conn.execute("COMMIT")
        if self._writer is not None:
            self._writer.release()  # before the mark: a rollback after it releases again
        level.committed = True
        if self._rows_written >= BULK_ROWS:
            self._rows_written = 0
            self._truncate_wal()

    def _truncate_wal(self) -> None:
        """Fold the write-ahead log a bulk write left (as large as the write) into the file
        and truncate it. From a connection of its own that waits 0.1 s at most: a reader
        still on the log fails no write, and the log is cut to WAL_LIMIT at its next reset."""
        with (
            contextlib.suppress(sqlite3.Error),
            contextlib.closing(sqlite3.connect(self._path, timeout=0.1)) as conn,
        ):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _tx_rollback(self, level: Level) -> None:
        # SQLite itself is the record of what is open, so this is right however far the
        # level got (its BEGIN not yet run, or its COMMIT already done).
        conn = self._conn
        if level.depth == 0:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            finally:
                if self._writer is not None:
                    self._writer.release()
            return
        with contextlib.suppress(sqlite3.OperationalError):  # no such savepoint: released
            conn.execute(f"ROLLBACK TO ig_sp{level.depth}")
            conn.execute(f"RELEASE ig_sp{level.depth}")

    def _translate_error(self, exc: BaseException) -> BaseException | None:
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, IntentGraphError):
            return _translate(exc, self._path)
        return None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for a read; translate sqlite3 errors."""
        self._check_open()
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _translate(exc, self._path) from exc

    def _health_details(self) -> dict[str, Any]:
        from intentgraph.backends._sqlite_schema import schema_problems

        with self._db() as db:
            problems = schema_problems(db)  # another connection may have altered it
            if problems:
                raise StoreCorrupted(f"{self._path} schema damaged: {'; '.join(problems)}")
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            return {
                "path": os.path.abspath(self._path),
                "journal_mode": mode,
                "schema_version": user_version(db),
                "schema_version_supported": SCHEMA_VERSION,
                "read_only": self._read_only,
            }

    # --- intents ----------------------------------------------------------------------

    def _insert_many(self, batch: builtins.list[Intent]) -> None:
        rows = [_row(i, intent_to_json(i)) for i in batch]
        try:
            with self._write():
                remake = self._index_after(len(batch), "status:")
                try:
                    self._conn.executemany(_INSERT_INTENT, rows)
                except sqlite3.IntegrityError as exc:
                    raise _Clash(exc) from exc
                for statement in remake:
                    self._conn.execute(statement)
                self._record([(_PUT, i.id, None, None, _STATUS[i.status]) for i in batch])
        except _Clash as clash:
            # The write is undone by now, so what is present was there before it. (A
            # savepoint around executemany would double its cost.)
            with self._db() as db:
                present = {
                    r[0]
                    for r in db.execute(
                        "SELECT id FROM intents WHERE id IN (SELECT value FROM json_each(?))",
                        (json_list([i.id for i in batch]),),
                    )
                }
            first = next((i.id for i in batch if i.id in present), None)
            if first is None:
                raise _translate(clash.error, self._path) from clash.error
            raise IntentExists(first) from clash.error

    def find(self, intent_id: str) -> Intent | None:
        if not storable_id(intent_id):  # it cannot be stored, so it is not
            self._check_open()
            return None
        with self._db() as db:
            row = db.execute("SELECT data FROM intents WHERE id = ?", (intent_id,)).fetchone()
        return None if row is None else intent_from_json(row[0])

    def exists(self, intent_id: str) -> bool:
        if not storable_id(intent_id):
            self._check_open()
            return False
        with self._db() as db:
            return (
                db.execute("SELECT 1 FROM intents WHERE id = ?", (intent_id,)).fetchone()
                is not None
            )

    def _replace(
        self, new: Intent, *, expected_version: int | None = None, claims: bool = False
    ) -> Intent:
        with self._write():
            db = self._conn
            row = db.execute("SELECT data FROM intents WHERE id = ?", (new.id,)).fetchone()
            if row is None:
                raise IntentNotFound(new.id)
            stored = intent_from_json(row[0])
            new = next_version(stored, new, expected_version, now=self.now(), claims=claims)
            values = _row(new, intent_to_json(new))
            db.execute(_UPDATE_INTENT, (*values[1:5], *values[6:], new.id))
            self._status_changed(db, new.id, stored.status, new.status)
            self._record([(_UPDATE, new.id, None, None, _STATUS[new.status])])
            return new

    def _index_after(
        self, rows: int, counted: str, *, only: str = "", reindex: str = ""
    ) -> builtins.list[str]:
        """For a write of ``rows`` rows into the table whose counters start with
        ``counted``, when it is large (``INDEX_AFTER_ROWS``): drop the intents' secondary
        indexes (``only``: the one so named) and return the statements to run after its
        rows: ``REINDEX`` of ``reindex`` (default: the intents' primary key), an index
        the write reads, so filled entry by entry, then the indexes made again, on the
        pages that gave back."""
        if rows < INDEX_AFTER_ROWS:
            return []
        held = self._conn.execute(
            "SELECT coalesce(sum(n), 0) FROM counters WHERE substr(name, 1, ?) = ?",
            (len(counted), counted),
        ).fetchone()[0]
        if rows < held:
            return []
        if not reindex:
            reindex = self._conn.execute(
                "SELECT name FROM pragma_index_list('intents') WHERE origin = 'pk'"
            ).fetchone()[0]
        dropped = set_aside(self._conn, ("intents",), ("index",), only=only)
        return [f'REINDEX "{reindex}"', *(sql for _, sql in dropped)]

    def _record(self, changes: builtins.list[tuple[int, str, Any, Any, Any]]) -> None:
        """Add rows to the change feed, in the write's own transaction (codes: schema 5)."""
        self._rows_written += len(changes)
        self._conn.executemany(_INSERT_CHANGE, changes)
        self._conn.execute(_TRIM_CHANGES, (CHANGE_HISTORY,))

    def _status_changed(
        self, db: sqlite3.Connection, intent_id: str, old: IntentStatus, new: IntentStatus
    ) -> None:
        done = IntentStatus.COMPLETED
        if (old is done) != (new is done):
            g.count_dependency_of_dependents(db, intent_id, -1 if new is done else 1)
        if (old in _HOLDING) != (new in _HOLDING):
            g.refresh_held(db, intent_id)
        if (old in _FINISHED) != (new in _FINISHED):
            g.count_subgoal(db, intent_id, -1 if new in _FINISHED else 1)

    def delete(self, intent_id: str, *, detach: bool = True) -> None:
        with self._write():
            db = self._conn
            self._require(db, intent_id)
            touching = db.execute(
                "SELECT (SELECT count(*) FROM edges WHERE source = ?1)"
                " + (SELECT count(*) FROM edges WHERE target = ?1)",
                (intent_id,),
            ).fetchone()[0]
            if touching and not detach:
                raise IntentInUse(intent_id, touching)
            # Its dependents stop waiting for it, and its parent for it as a subgoal: the
            # cascade removes their edges to it.
            g.count_dependency_of_dependents(db, intent_id, -1, unless_completed=True)
            status = db.execute("SELECT status FROM intents WHERE id = ?", (intent_id,))
            if IntentStatus(status.fetchone()[0]) not in _FINISHED:
                g.count_subgoal(db, intent_id, -1)
            children = self._child_ids(db, intent_id)
            gone = db.execute(
                "SELECT source, target, type FROM edges WHERE source = ?1"
                " UNION ALL SELECT source, target, type FROM edges WHERE target = ?1"
                " ORDER BY 1, 2, 3",
                (intent_id,),
            ).fetchall()
            self._record(
                [(_REMOVE_EDGE, s, t, _TYPE[k], None) for s, t, k in gone]
                + [(_DELETE, intent_id, None, None, None)]
            )
            db.execute("DELETE FROM intents WHERE id = ?", (intent_id,))  # edges cascade
            for child in children:
                g.refresh_held(db, child)

    # --- edges ------------------------------------------------------------------------

    def add_edges(self, edges: Iterable[Edge]) -> builtins.list[Edge]:
        batch = [canonical_edge(e) for e in edges]
        with self._write():
            db = self._conn
            remake = self._index_after(
                len(batch), "edges:", only="ix_intents_ready", reindex="ix_edges_target"
            )
            added = [self._add_edge(db, edge) for edge in batch]
            for statement in remake:
                db.execute(statement)
            return added

    def _add_edge(self, db: sqlite3.Connection, edge: Edge) -> Edge:
        for end, role in ((edge.source, "source"), (edge.target, "target")):
            if db.execute("SELECT 1 FROM intents WHERE id = ?", (end,)).fetchone() is None:
                raise MissingEndpoint(end, role)
        key = (edge.source, edge.type.value, edge.target)
        row = db.execute(
            "SELECT created_us, data FROM edges WHERE source = ? AND type = ? AND target = ?", key
        ).fetchone()
        if row is not None:
            created = edge_from_row(edge.source, edge.target, key[1], *row).created_at
            edge = edge.model_copy(update={"created_at": created})
            db.execute(
                "UPDATE edges SET created_us = ?, data = ?"
                " WHERE source = ? AND type = ? AND target = ?",
                (*edge_row(edge)[3:], *key),
            )
            self._record([(_ADD_EDGE, edge.source, edge.target, _TYPE[edge.type], None)])
            return edge
        self._check_invariants(db, edge)
        db.execute(
            "INSERT INTO edges (source, type, target, created_us, data) VALUES (?, ?, ?, ?, ?)",
            edge_row(edge),
        )
        self._edge_changed(db, edge, +1)
        self._record([(_ADD_EDGE, edge.source, edge.target, _TYPE[edge.type], None)])
        return edge

    def _check_invariants(self, db: sqlite3.Connection, edge: Edge) -> None:
        if edge.type is EdgeType.IS_SUBGOAL_OF:
            current = self._parent_id(db, edge.source)
            if current is not None:
                raise MultipleParents(edge.source, current, edge.target)
            chain = [edge.target, *self._ancestor_ids(db, edge.target)]
            if edge.source in chain:
                raise CycleError([edge.source, *chain[: chain.index(edge.source)]], edge.type.value)
        pair = dependency_pair(edge)
        if pair is not None:
            dependent, dependency = pair
            if g.depends_transitively(db, dependency, dependent):
                # The path memory reports: BFS over sorted successors, read from the DB.
                path = _graph.shortest_path(
                    lambda n: g.dependency_ids(db, n), dependency, dependent
                )
                assert path is not None
                raise CycleError([dependent, *path[:-1]], edge.type.value)

    def _edge_changed(self, db: sqlite3.Connection, edge: Edge, delta: int) -> None:
        """Keep the blocked state right after ``edge`` was added (+1) or removed (-1)."""
        pair = dependency_pair(edge)
        if pair is not None:
            g.count_dependency(db, *pair, delta)
        elif edge.type is EdgeType.IS_SUBGOAL_OF:
            g.refresh_held(db, edge.source)
            g.count_subgoal_of(db, edge.target, edge.source, delta)

    def remove_edge(self, source: str, target: str, type: EdgeType) -> None:
        etype = as_edge_type(type)
        if not (storable_id(source) and storable_id(target)):
            raise EdgeNotFound(source, target, etype.value)
        if etype.symmetric and source > target:
            source, target = target, source
        with self._write():
            db = self._conn
            cur = db.execute(
                "DELETE FROM edges WHERE source = ? AND type = ? AND target = ?",
                (source, etype.value, target),
            )
            if cur.rowcount == 0:
                raise EdgeNotFound(source, target, etype.value)
            removed = Edge.model_construct(source=source, target=target, type=etype)
            self._edge_changed(db, removed, -1)
            self._record([(_REMOVE_EDGE, source, target, _TYPE[etype], None)])

    # --- whole-store operations (backends/_sqlite_bulk.py) ----------------------------

    def snapshot(self, *, batch_size: int = 1000) -> AbstractContextManager[SqliteSnapshot]:
        """A read transaction on a second, read-only connection: writers, in this process
        or another, go on while it is read (see ``IntentStorage.snapshot``)."""
        return _bulk.snapshot(self, batch_size)

    def bulk_load(
        self,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult:
        """Upsert every record in one ``BEGIN IMMEDIATE`` transaction, then recompute
        ``unmet``, ``held`` and ``open_subgoals`` in three statements."""
        return _bulk.bulk_load(
            self,
            intents,
            edges,
            replace=replace,
            expected_changes=expected_changes,
            confirm=confirm,
        )

    def bulk_load_json(
        self,
        intents: Iterable[str],
        edges: Iterable[str],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
        graph_checked: bool = False,
    ) -> LoadResult:
        """Store the texts as they are, reading only the fields the columns copy."""
        return _bulk.bulk_load_json(
            self,
            intents,
            edges,
            replace=replace,
            expected_changes=expected_changes,
            confirm=confirm,
            graph_checked=graph_checked,
        )

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """``integrity_check``, the schema, every record, the graph and the blocked state."""
        return _bulk.check_integrity(self)

    def rebuild_derived_state(self) -> int:
        """Recompute the copied columns and the blocked state from the records."""
        return _bulk.rebuild_derived_state(self)
