"""The graph-database backend: one Cypher store for Neo4j (over Bolt) and FalkorDB.

``CypherStore`` holds every rule (the same answers as the memory backend, the invariants, the
maintained blocked state, the change feed, transactions); it runs the queries of ``cypher/``
through a small executor (``_cypher_exec.Executor``): ``_cypher_neo4j`` (the official driver)
or ``_cypher_falkordb`` (FalkorDB's client). Where the two servers' Cypher differs, the
difference is in ``_cypher_dialect``. The reads are in ``_cypher_reads``, the whole-store
operations (snapshot, bulk load, integrity) in ``_cypher_whole``.

Every change goes through ``_change``: one query, plus a record of how to undo it and the
change-feed records it adds. A write runs under a writer lock, so what it reads stays true
until it commits; a savepoint is rolled back by applying its records newest first. Transient
server errors are retried (tenacity) unless a commit's outcome is unknown; permanent ones
raise at once, translated into ``intentgraph.errors``.
"""

from __future__ import annotations

import builtins
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from intentgraph._base import (
    next_version,
    storable_id,
)
from intentgraph._codec import edge_from_json, intent_from_json
from intentgraph._transactions import Level, gc_paused
from intentgraph._url import ParsedURL
from intentgraph.backends import _cypher_edges as edges_
from intentgraph.backends import _cypher_graph as g
from intentgraph.backends import _cypher_whole as whole
from intentgraph.backends._cypher_dialect import load, prefix
from intentgraph.backends._cypher_exec import (
    Executor,
    is_foreign_timeout,
    retrying,
    schema_row,
    sent_ahead,
)
from intentgraph.backends._cypher_reads import CypherReads
from intentgraph.backends._cypher_rows import edge_row, intent_props, new_intent_row
from intentgraph.errors import (
    EdgeNotFound,
    IntentExists,
    IntentGraphError,
    IntentInUse,
    IntentNotFound,
    StorageError,
    StoreCorrupted,
)
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus, as_edge_type
from intentgraph.protocol import Snapshot
from intentgraph.results import IntegrityProblem, LoadResult

__all__ = ["CHANGE_HISTORY", "SCHEMA_VERSION", "CypherStore"]

SCHEMA_VERSION = 1
"""The graph layout this release writes (stored in ``(:IntentGraphMeta {key: 'schema'})``)."""

OVERLAP_RETRIES = 20
"""How often a write that failed on reads another writer made stale is tried again."""

CHANGE_HISTORY = 100_000
"""How many recent changes the graph keeps for ``changes()`` (as SQLite)."""
TRIM_EVERY = 1_000
"""Older changes are dropped once this many beyond ``CHANGE_HISTORY`` piled up."""

T = TypeVar("T")


class _ConcurrentWrite(StorageError):
    """Raised when a record changed under a write that had read it: a server that lets
    writers overlap (ArcadeDB over Bolt) committed another writer's change in between. The
    write is rolled back; a store's own write is then retried."""


FeedRow = tuple[str, str, str | None, str | None, str | None]
"""A change-feed record: op, intent id (an edge's source), target, type, status."""
_PROPS = tuple(intent_props(Intent(id="x", name="x"), sanitize=False))
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CypherStore(CypherReads):
    """Intents and edges in a graph database (Neo4j, FalkorDB), through Cypher."""

    fork_safe = False  # a driver's sockets must not cross fork()

    def __init__(
        self,
        executor: Executor,
        *,
        url: str,
        backend: str,
        read_only: bool = False,
        retry_seconds: float = 5.0,
    ) -> None:
        """Open a store on a connected executor: create the schema where missing.

        Raises:
            StoreUnavailable: the server cannot be reached (after retries).
            StoreCorrupted: the graph's schema is newer than this release.
            StorageError: the server refused the credentials or a query.
        """
        super().__init__(url=url, read_only=read_only)
        self.backend_name = backend
        self._x = executor
        self._retry_seconds = retry_seconds
        self._seq = 0  # numbers the changes of the open transaction
        self._undo: builtins.list[tuple[int, str]] = []  # (seq, JSON), Neo4j's savepoints
        self._commit_unsure = False  # a commit failed without the server saying how
        # The open write transaction's view of the change feed and of time, read once after
        # it took the writer lock (``_tx_facts``); None until then.
        self._feed_last: int | None = None
        self._feed_first = 1
        self._feed_base: int | None = None
        self._tx_now: datetime | None = None
        self._last_now = _EPOCH  # now() never goes backwards on one store
        if hasattr(executor, "recover"):
            executor.recover = self._recover
        try:
            version = self._retry(lambda: executor.setup(SCHEMA_VERSION))
            if version > SCHEMA_VERSION:
                raise StoreCorrupted(
                    f"{executor.where} holds intentgraph schema {version}; this release reads "
                    f"up to {SCHEMA_VERSION}: upgrade intentgraph"
                )
            recover = getattr(executor, "recover_if_abandoned", None)
            if recover is not None and not read_only:
                self._retry(recover)
        except BaseException as exc:
            executor.close()
            translated = executor.translate(exc, opening=True)
            if translated is not None:
                raise translated from exc
            raise

    @classmethod
    def from_url(cls, url: ParsedURL) -> CypherStore:
        """Open from a ``neo4j://``, ``bolt://`` (``+s``, ``+ssc``) or ``falkordb(s)://`` URL."""
        from intentgraph.backends._cypher_open import open_executor

        executor, options = open_executor(url)
        return cls(executor, url=url.redacted, **options)

    # --- errors, retries, time --------------------------------------------------------

    def _translate_error(self, exc: BaseException) -> BaseException | None:
        return self._x.translate(exc)

    def _writing(self, work: Callable[[], T]) -> T:
        """Run ``work`` as one write: retried as a whole on a transient error (it was rolled
        back), unless a commit's outcome is unknown or a caller's transaction is open."""
        self._check_open()
        if self._live_transaction():
            with self._write():
                return work()

        overlaps = [0]
        began: list[int | None] = [None]  # this attempt's own, kept before the lock goes

        def attempt() -> T:
            began[0] = None
            with self._write():
                began[0] = self._x.began_at
                return work()

        def transient(exc: BaseException) -> bool:
            if isinstance(exc, _ConcurrentWrite):
                return True
            cause = exc.__cause__ if isinstance(exc, IntentGraphError) else exc
            if cause is None or is_foreign_timeout(cause) or not self._x.transient(cause):
                # An answer such as ClaimConflict, given on reads another writer's commit
                # made stale (ArcadeDB lets writers overlap; that write could not have
                # committed anyway): asked again, a few times at most.
                if overlaps[0] < OVERLAP_RETRIES and self._overlapped(began[0]):
                    overlaps[0] += 1
                    return True
                return False
            return not self._commit_unsure or self._x.answered(cause)

        return retrying(attempt, transient=transient, seconds=self._retry_seconds)

    def _overlapped(self, began_at: int | None) -> bool:
        """``Executor.overlapped``, False when it cannot be asked (the failure stands).

        Asked under the lock: the executor's session is the store's, which another thread
        may be using by now (the failed attempt let the lock go before this question).
        """
        if began_at is None:
            return False
        try:
            with self._lock:
                return self._x.overlapped(began_at)
        except Exception as exc:
            if is_foreign_timeout(exc):
                raise
            return False

    def now(self) -> datetime:
        """Return the store's time: the graph server's clock (``timestamp()``, milliseconds),
        so that workers on several hosts agree. A write transaction reads it once, after it
        took the writer lock: its writes and leases all carry that time."""
        if self.clock is not None:
            return self.clock()
        self._check_open()
        with self._lock:
            if self._levels and self._x.in_transaction:
                self._tx_facts()
                assert self._tx_now is not None
                return self._tx_now
            ms = self._read("server_time")[0][0]
            return self._monotonic(int(ms))

    def _monotonic(self, ms: int) -> datetime:
        now = max(_EPOCH + timedelta(milliseconds=ms), self._last_now)
        self._last_now = now
        return now

    def _tx_facts(self) -> None:
        """Read the server's time and the change feed's position for the open write."""
        if self._feed_last is None:
            ms, last, first = schema_row(self._run(load("feed_state")), self._x.where)
            self._tx_now = self._monotonic(int(ms))
            self._feed_first = int(first)
            self._feed_last = self._feed_base = int(last)

    # --- transactions -------------------------------------------------------------------

    def _tx_begin(self, level: Level) -> None:
        if level.depth == 0:
            self._undo.clear()
            self._commit_unsure = False
            self._forget_facts()
        # Marked before the lock is taken: an interrupt inside begin() still rolls back.
        level.mark = (self._seq, len(self._undo), self._feed_last)
        if level.depth == 0 and not self._read_only:
            self._x.begin()

    def _forget_facts(self) -> None:
        self._feed_last = self._feed_base = None
        self._tx_now = None

    def _tx_commit(self, level: Level) -> None:
        if level.depth:
            level.committed = True
            return
        last = self._feed_last
        if last is not None and last - self._feed_first + 1 > CHANGE_HISTORY + TRIM_EVERY:
            # Dropped in the transaction (FalkorDB: with no undo record: a rollback then
            # loses nothing but old changes, which a poller behind is told of).
            self._x.run(load("feed_trim"), {"cut": last - CHANGE_HISTORY})
        self._commit_unsure = True
        self._x.commit()
        self._commit_unsure = False
        level.committed = True
        self._undo.clear()
        self._forget_facts()

    def _tx_rollback(self, level: Level) -> None:
        interrupt = sys.exc_info()[1]
        if interrupt is not None and (
            not isinstance(interrupt, Exception) or is_foreign_timeout(interrupt)
        ):
            # Ctrl-C or a signal handler's exception may have landed inside the driver and
            # been handled there, leaving its connection half way through a message.
            self._x.interrupted()
        if level.mark is None:
            return  # never began
        if level.depth == 0:
            self._forget_facts()
            self._x.rollback()
            self._undo.clear()
            return
        if self._x.transaction_lost:
            # Nothing can be sent on its connection any more: the savepoint cannot be undone
            # alone, and the outermost level fails as a whole (its commit raises).
            return
        seq_mark, undo_mark, feed_mark = level.mark
        if self._x.dialect.undo_in_graph:
            self._undo_records(after=seq_mark)
        else:
            undo = self._undo
            while len(undo) > undo_mark:
                g.apply_undo(self._x, _loads(undo[-1][1]))  # apply, then pop: safe to redo
                undo.pop()
        self._feed_last = feed_mark  # the records' undo put the counter back there

    def _live_transaction(self) -> bool:
        # No level, no transaction: answered without the IndexError that the shared
        # _heal_if_abandoned raises and catches on an empty stack.
        return bool(self._levels) and super()._live_transaction()

    def _recover(self) -> None:
        """Undo every change recorded in the graph (FalkorDB): a dead writer's, or ours."""
        self._undo_records(after=-1)

    def _undo_records(self, *, after: int) -> None:
        for seq, op in self._x.run(load("undo_after"), {"after": after}):
            g.apply_undo(self._x, _loads(op))
            self._x.run(load("undo_done"), {"seq": seq})

    def _change(
        self,
        name: str,
        params: dict[str, Any],
        undo: dict[str, Any],
        feed: Sequence[FeedRow] = (),
    ) -> Any:
        """Run the change ``cypher/<name>.cypher`` with the record that undoes it, adding
        ``feed`` (op, intent id, target, type, status) to the change feed in the same query."""
        return self._change_numbered(name, params, undo, self._numbered(feed), len(feed))

    def _numbered(self, feed: Sequence[FeedRow]) -> builtins.list[dict[str, Any]]:
        """Number change-feed records on from the feed's position."""
        if not feed:
            return []
        self._tx_facts()
        base = self._feed_last
        assert base is not None
        return [
            {"seq": base + k, "op": op, "intent_id": i, "target": t, "type": k_, "status": s}
            for k, (op, i, t, k_, s) in enumerate(feed, start=1)
        ]

    def _change_numbered(
        self,
        name: str,
        params: dict[str, Any],
        undo: dict[str, Any],
        rows: builtins.list[dict[str, Any]],
        count: int,
    ) -> Any:
        """``_change`` with the feed's records numbered: ``rows`` are written by the prefix,
        and ``count`` records in all (those and the query's own) follow the feed's position."""
        query = load(name)
        if count:
            self._tx_facts()
            base = self._feed_last
            assert base is not None
            last = base + count
            query = prefix("feed_record") + query
            published = None if self._x.dialect.undo_in_graph else last
            params = {**params, "feed": rows, "feed_last": last, "feed_mark": published}
            undo = {**undo, "feed": base}
        self._seq += 1
        record = g.dumps(undo)
        # Recorded before it runs: undoing a change that never ran restores what is there.
        self._undo.append((self._seq, record))
        result = self._x.change(query, params, seq=self._seq, undo=record)
        if count:
            self._feed_last = last
        return result

    # --- lifecycle ----------------------------------------------------------------------

    def _close(self) -> None:
        self._x.close()

    def _close_forked(self) -> None:
        pass  # the parent's sockets are left alone

    def compact(self) -> None:
        """Nothing to give back: the server manages its own storage."""
        self._check_open()
        self._require_no_transaction("compact")

    def _health_details(self) -> dict[str, Any]:
        with self._lock:
            rows = self._retry(lambda: self._x.run(load("schema_version"), {"version": 0}))
        return {
            **self._x.details(),
            "where": self._x.where,
            "schema_version": rows[0][0],
            "schema_version_supported": SCHEMA_VERSION,
            "read_only": self._read_only,
            "isolation": (
                "read uncommitted (writers serialised by a lock)"
                if self._x.dialect.undo_in_graph
                else "read committed (writers serialised by a lock)"
            ),
            "clock": "the server's (timestamp(), milliseconds)",
        }

    # --- intents ------------------------------------------------------------------------

    def _props(self, intent: Intent, state: dict[str, Any] | None = None) -> dict[str, Any]:
        kept = state or {}
        return intent_props(
            intent,
            sanitize=self._x.dialect.sanitizes_nul,
            unmet=kept.get("unmet") or 0,
            held=kept.get("held") or 0,
            open_subgoals=kept.get("open_subgoals") or 0,
        )

    def _insert_many(self, batch: builtins.list[Intent]) -> None:
        ids = [i.id for i in batch]

        def work() -> None:
            present: set[str] = set()
            for part in g.chunks(ids):
                present.update(r[0] for r in self._run(load("exists"), {"ids": list(part)}))
            taken = next((i for i in ids if i in present), None)
            if taken is not None:
                raise IntentExists(taken)
            self._tx_facts()
            base = self._feed_last
            assert base is not None
            sanitize, state = self._x.dialect.sanitizes_nul, self._x.dialect.state_in_rows
            name = "put_intents" if state else "falkordb_put_intents"
            parts = [(k, batch[k : k + g.CHUNK]) for k in range(0, len(batch), g.CHUNK)]

            def build(job: tuple[int, Sequence[Intent]]) -> dict[str, Any]:
                start, part = job
                rows = [new_intent_row(i, sanitize=sanitize, state=state) for i in part]
                params = {"rows": rows, "first": base + start + 1}
                return params if state else {**params, "actionable": g.ACTIONABLE}

            def send(job: tuple[int, Sequence[Intent]], params: dict[str, Any]) -> None:
                start, part = job
                undo = {"op": "drop_intents", "ids": [i.id for i in part]}
                # The first query moves the feed's counter past every record.
                count = len(batch) if start == 0 else 0
                self._change_numbered(name, params, undo, [], count)

            sent_ahead(self._x, parts, build, send)

        self._writing(work)

    def _state(self, intent_id: str) -> dict[str, Any] | None:
        rows = self._run(load("state"), {"id": intent_id})
        if not rows:
            return None
        return {**dict.fromkeys(_PROPS), **rows[0][0]}

    def _replace(
        self, new: Intent, *, expected_version: int | None = None, claims: bool = False
    ) -> Intent:
        def work() -> Intent:
            state = self._state(new.id) if storable_id(new.id) else None
            if state is None:
                raise IntentNotFound(new.id)
            stored = intent_from_json(state["data"])
            now = self.now()
            changed = next_version(stored, new, expected_version, now=now, claims=claims)
            undo = {"op": "restore_intent", "row": state, "now": changed.status.value}
            params: dict[str, Any] = {
                "id": changed.id,
                "version": stored.version,
                "props": self._props(changed, state),
            }
            name = "update"
            if claims:  # the compare-and-swap of claim.cypher: the status is checked too
                name = "claim"
                params["expected_status"] = [stored.status.value]
            feed: builtins.list[FeedRow] = [
                ("update", changed.id, None, None, changed.status.value)
            ]
            if not self._change(name, params, undo, feed):
                raise _ConcurrentWrite(
                    f"intent {changed.id!r} changed under this write at {self._x.where} "
                    "(another writer's commit came in between); nothing of it was written"
                )
            g.status_effects(self._x, changed.id, stored.status.value, changed.status.value)
            return changed

        return self._writing(work)

    def delete(self, intent_id: str, *, detach: bool = True) -> None:
        def work() -> None:
            state = self._state(intent_id) if storable_id(intent_id) else None
            if state is None:
                raise IntentNotFound(intent_id)
            touching = [edge_from_json(r[0]) for r in self._run(load("edges"), {"id": intent_id})]
            if touching and not detach:
                raise IntentInUse(intent_id, len(touching))
            touching.sort(key=lambda e: e.key)
            undo = {
                "op": "recreate_intent",
                "row": state,
                "edges": [edge_row(e) for e in touching],
            }
            feed: builtins.list[FeedRow] = [
                ("remove_edge", e.source, e.target, e.type.value, None) for e in touching
            ]
            feed.append(("delete", intent_id, None, None, None))
            self._change("delete", {"ids": [intent_id]}, undo, feed)
            g.edge_effects(self._x, [(e.source, e.target, e.type.value) for e in touching])

        self._writing(work)

    # --- the work loop: each operation one write, retried as a whole --------------------

    def set_status(
        self,
        intent_id: str,
        status: IntentStatus,
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Intent:
        def work() -> Intent:
            return super(CypherStore, self).set_status(
                intent_id, status, expected_version=expected_version, reason=reason
            )

        return self._writing(work)

    def claim(self, intent_id: str, **options: Any) -> Intent:
        def work() -> Intent:
            return super(CypherStore, self).claim(intent_id, **options)

        return self._writing(work)

    def claim_next(self, **options: Any) -> Intent | None:
        """Reclaim expired leases, pick the first ready intent and claim it: one write
        transaction under the writer lock (Neo4j: one driver transaction; FalkorDB: the
        writer lock and its undo log), so two workers never get the same intent."""

        def work() -> Intent | None:
            return super(CypherStore, self).claim_next(**options)

        return self._writing(work)

    def heartbeat(self, intent_id: str, worker: str, **options: Any) -> Intent:
        def work() -> Intent:
            return super(CypherStore, self).heartbeat(intent_id, worker, **options)

        return self._writing(work)

    def release(self, intent_id: str, worker: str, **options: Any) -> Intent:
        def work() -> Intent:
            return super(CypherStore, self).release(intent_id, worker, **options)

        return self._writing(work)

    def reclaim_expired(self, *, max_attempts: int | None = None) -> builtins.list[Intent]:
        def work() -> builtins.list[Intent]:
            return super(CypherStore, self).reclaim_expired(max_attempts=max_attempts)

        return self._writing(work)

    def patch(
        self, intent_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> Intent:
        def work() -> Intent:
            return super(CypherStore, self).patch(
                intent_id, expected_version=expected_version, **fields
            )

        return self._writing(work)

    # --- edges --------------------------------------------------------------------------

    def add_edges(self, edges: Iterable[Edge]) -> builtins.list[Edge]:
        items = builtins.list(edges)
        # Many new objects (edges, rows, views): no full GC walks of a large heap meanwhile.
        with gc_paused(len(items)):
            return edges_.write(self, items)

    def remove_edge(self, source: str, target: str, type: EdgeType) -> None:
        etype = as_edge_type(type)
        if not (storable_id(source) and storable_id(target)):
            self._check_open()
            raise EdgeNotFound(source, target, etype.value)
        if etype.symmetric and source > target:
            source, target = target, source
        key = {"source": source, "target": target, "type": etype.value}

        def work() -> None:
            rows = self._run(load("existing_edges"), {"keys": [key]})
            if not rows:
                raise EdgeNotFound(source, target, etype.value)
            old = edge_row(edge_from_json(rows[0][3]))
            undo = {"op": "drop_edges_and_restore", "drop": [], "restore": [old]}
            feed: builtins.list[FeedRow] = [("remove_edge", source, target, etype.value, None)]
            self._change("remove_edges", {"keys": [key]}, undo, feed)
            g.edge_effects(self._x, [(source, target, etype.value)])

        self._writing(work)

    # --- whole-store operations (backends/_cypher_whole.py) ---------------------------

    def snapshot(self, *, batch_size: int = 1000) -> AbstractContextManager[Snapshot]:
        """A consistent view, spooled to a temporary file (see ``_cypher_whole.snapshot``)."""
        return whole.snapshot(self, batch_size)

    def bulk_load(
        self,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult:
        """All or nothing: Neo4j in one driver transaction; FalkorDB into a staging graph
        renamed over the live one (see ``_cypher_whole.bulk_load``)."""
        return whole.bulk_load(
            self,
            intents,
            edges,
            replace=replace,
            expected_changes=expected_changes,
            confirm=confirm,
        )

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """Every record, its copied properties, the graph and the maintained state."""
        return whole.check_integrity(self)

    def rebuild_derived_state(self) -> int:
        """Recompute the copied properties and the maintained state from the records."""
        return whole.rebuild_derived_state(self)


def _loads(record: str) -> dict[str, Any]:
    op: dict[str, Any] = json.loads(record)
    return op
