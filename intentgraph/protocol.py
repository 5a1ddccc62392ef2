"""The ``IntentStorage`` protocol every backend implements, and its small value types.

The contract lives here, in the docstrings: what each method returns, what it raises and
how results are ordered. Every backend gives the same answer to the same call.

Ordering rules, identical on every backend:

* ``list`` orders by ``order_by`` then ``id`` (see ``IntentFilter``).
* Plain sets of intents (``children``, ``conflicts``, ``get_many`` aside) are ordered by id.
* Closures (``dependencies``/``dependents`` with ``transitive=True``, ``subtree``) are ordered
  by distance from the start, then id.
* ``ready`` and ``blocked`` order by priority (highest first), then ``created_at``, then id.
* ``edges`` orders by (source, target, type).

Every method that takes an intent id raises ``IntentNotFound`` when it is not stored
(``find`` and ``exists`` aside); ``health`` never raises.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any, Protocol, Self, runtime_checkable

from intentgraph.filters import Direction, IntentFilter, OrderBy
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus
from intentgraph.results import (
    BlockedIntent,
    ChangeBatch,
    GraphStats,
    Health,
    IntegrityProblem,
    IntentContext,
    LoadResult,
    TreeNode,
)

DEFAULT_LEASE = 300.0
"""Seconds a claim lasts unless a heartbeat extends it."""

__all__ = [
    "DEFAULT_LEASE",
    "BlockedIntent",
    "Direction",
    "GraphStats",
    "Health",
    "IntegrityProblem",
    "IntentContext",
    "IntentFilter",
    "IntentStorage",
    "LoadResult",
    "OrderBy",
    "Snapshot",
    "TreeNode",
]


class Snapshot(Protocol):
    """A consistent, read-only view of a whole store, read in batches (``store.snapshot()``).

    Everything it returns reflects one moment: writes committed after the snapshot was
    taken, by this process or another, are not seen, and none is half seen. Its counts
    are known before anything is read, so a backup can write them in its header. It holds
    no more than one batch of records in memory at a time (backends say what else they
    keep). Valid only inside the ``with`` block that made it.
    """

    @property
    def intent_count(self) -> int:
        """How many intents the view holds."""
        ...

    @property
    def edge_count(self) -> int:
        """How many edges the view holds."""
        ...

    @property
    def changes(self) -> int:
        """The change-feed position the view reflects (``changes().latest`` at that moment).

        ``bulk_load(..., expected_changes=snapshot.changes)`` refuses to write when the
        store changed since.
        """
        ...

    def intents(self) -> Iterator[builtins.list[Intent]]:
        """Yield every intent, in batches, ordered by id.

        Raises:
            StoreCorrupted: a stored record cannot be read back (names it).
            StoreClosed: the ``with`` block was left.
        """
        ...

    def edges(self) -> Iterator[builtins.list[Edge]]:
        """Yield every edge, in batches, ordered by (source, target, type).

        A symmetric edge comes once, with its ends in sorted order (as stored).

        Raises:
            StoreCorrupted, StoreClosed: as ``intents``.
        """
        ...

    def intent_json(self) -> Iterator[builtins.list[str]]:
        """Yield every intent as JSON text, in batches, in the order of ``intents``.

        The text is what ``intent_to_json`` writes (the backup format's record). A store
        that keeps that text hands it out without building models (SQLite: its ``data``
        column, checked to be JSON, about ten times faster); the default builds the models
        and writes them. Records are not validated on the way out: ``check_integrity``
        does that, and a restore checks every record it reads.

        Raises:
            StoreCorrupted: a stored record is not JSON (names it).
            StoreClosed: the ``with`` block was left.
        """
        ...

    def edge_json(self) -> Iterator[builtins.list[str]]:
        """Yield every edge as JSON text, in batches, in the order of ``edges``."""
        ...


@runtime_checkable
class IntentStorage(Protocol):
    """One store of intents and the edges between them.

    Returned objects are copies: mutating one never changes the store. Every write is
    atomic: when it raises, the store is as it was before the call. All options are
    keyword-only. A closed store raises ``StoreClosed``.
    """

    @property
    def backend(self) -> str:
        """The backend's short name (``memory``, ``json``, ``sqlite``...)."""
        ...

    @property
    def url(self) -> str:
        """The store's URL with any password removed."""
        ...

    @property
    def degraded(self) -> bool:
        """True when this store stands in for an unreachable primary (see ``health()``)."""
        ...

    # --- intents ------------------------------------------------------------------

    def put(self, intent: Intent) -> Intent:
        """Store a new intent and return the stored copy.

        ``version`` becomes 1 when it is 0; timestamps are kept as given.

        Raises:
            IntentExists: the id is already stored (use ``update``).
            InvalidIntent: ``intent`` is not a valid ``Intent``.
        """
        ...

    def put_many(self, intents: Iterable[Intent]) -> builtins.list[Intent]:
        """Store many new intents in one transaction: all or none.

        Raises:
            IntentExists: an id is already stored or repeats within ``intents``.
        """
        ...

    def get(self, intent_id: str) -> Intent:
        """Return the intent with this id.

        Raises:
            IntentNotFound: no such intent.
        """
        ...

    def find(self, intent_id: str) -> Intent | None:
        """Return the intent with this id, or None."""
        ...

    def get_many(self, intent_ids: Iterable[str]) -> builtins.list[Intent]:
        """Return the intents with these ids, in the order given.

        Raises:
            IntentNotFound: any id is missing (names the first).
        """
        ...

    def exists(self, intent_id: str) -> bool:
        """Return True when an intent with this id is stored."""
        ...

    def update(self, intent: Intent, *, expected_version: int | None = None) -> Intent:
        """Replace a stored intent's fields with those of ``intent``; return the stored copy.

        For a read-modify-write of a whole record. To change some fields only, use
        ``patch``: it cannot undo a change made since your read. ``created_at`` is kept from
        the stored intent, ``updated_at`` set to now (or kept, if the stored one is later: it
        never moves backwards) and ``version`` to the stored version plus one. The claim
        fields (``lease``, ``attempts``) belong to ``claim``/``heartbeat``/``release``: they
        must be as stored, so a copy read before a claim cannot undo it. Leaving ``executing``
        ends the lease; a status change clears ``reason`` unless it gives a new one; moving
        a failed or archived intent back to active resets ``attempts``.

        Raises:
            IntentNotFound: no intent with ``intent.id``.
            VersionConflict: ``expected_version`` differs from the stored version, or the
                intent was claimed or released since ``intent`` was read.
            InvalidTransition: the status change is not allowed.
        """
        ...

    def patch(
        self, intent_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> Intent:
        """Change only the given fields of a stored intent, atomically; return it.

        Any field but ``id``, ``version``, ``created_at``, ``updated_at``, ``lease`` and
        ``attempts``; a JSON field given is replaced whole. Rules as for ``update``.

        Raises:
            IntentNotFound, VersionConflict, InvalidTransition: as for ``update``.
            InvalidIntent: an unknown or store-managed field, or a bad value.
        """
        ...

    def set_status(
        self,
        intent_id: str,
        status: IntentStatus,
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Intent:
        """Move an intent to ``status`` (with ``reason``, if given); return the stored copy.

        Raises:
            IntentNotFound, VersionConflict, InvalidTransition: as for ``update``.
        """
        ...

    def claim(
        self,
        intent_id: str,
        *,
        worker: str | None = None,
        lease: float | timedelta = DEFAULT_LEASE,
        expected_status: IntentStatus | Sequence[IntentStatus] = IntentStatus.ACTIVE,
        status: IntentStatus = IntentStatus.EXECUTING,
    ) -> Intent:
        """Atomically move an intent from ``expected_status`` to ``status`` (compare-and-swap).

        Of several workers claiming the same intent, exactly one succeeds. Claiming for
        ``executing`` (the default) also checks, in the same transaction, that the intent is
        ready (see ``ready``), records ``worker`` (default: this process,
        ``default_worker()``) with a lease of ``lease`` seconds in ``intent.lease``, and
        counts the claim in ``attempts``; ``lease.token`` numbers it.

        Raises:
            IntentNotFound: no such intent.
            ClaimConflict: the intent is not in ``expected_status``.
            IntentNotReady: it is active but not ready (a ``ClaimConflict`` too).
            InvalidTransition: the status change is not allowed.
        """
        ...

    def claim_next(
        self,
        *,
        worker: str | None = None,
        lease: float | timedelta = DEFAULT_LEASE,
        filter: IntentFilter | None = None,
        **criteria: Any,
    ) -> Intent | None:
        """Claim the best ready intent (the first ``ready()`` would list) and return it.

        Atomic: of workers calling it at once, in threads or processes, each gets another
        intent. Expired leases are reclaimed first (as ``reclaim_expired``). ``filter`` and
        ``criteria`` narrow the choice (``IntentFilter`` fields but ``status``, ordering and
        paging). Returns None when nothing is ready.

        Raises:
            InvalidFilter: a criterion that cannot select ready intents.
        """
        ...

    def heartbeat(
        self,
        intent_id: str,
        worker: str,
        *,
        lease: float | timedelta | None = None,
        token: int | None = None,
    ) -> Intent:
        """Extend ``worker``'s lease on an intent by ``lease`` seconds (default: its own length).

        A lease that ran out but was not yet taken back can still be extended.

        Raises:
            IntentNotFound: no such intent.
            LeaseLost: the intent is not executing under ``worker`` (with claim ``token``,
                when given): its lease was taken back, perhaps given to another worker.
        """
        ...

    def release(
        self,
        intent_id: str,
        worker: str,
        *,
        status: IntentStatus = IntentStatus.COMPLETED,
        reason: str | None = None,
        token: int | None = None,
    ) -> Intent:
        """Finish ``worker``'s claim: move the intent to ``status`` and end the lease.

        ``status`` is usually ``completed`` or ``failed`` (with a ``reason``); ``active``
        gives the intent back to the pool.

        Raises:
            IntentNotFound: no such intent.
            LeaseLost: as for ``heartbeat``: a worker presumed dead cannot overwrite the
                work of the one that took over.
            InvalidTransition: ``status`` cannot follow ``executing``.
        """
        ...

    def reclaim_expired(self, *, max_attempts: int | None = None) -> builtins.list[Intent]:
        """Take back every lease that ran out; return the intents changed, by id.

        Each goes back to ``active`` for another worker, or to ``failed`` (with the reason)
        once it has been claimed ``max_attempts`` times (default: ``store.max_attempts``;
        None: no limit).
        """
        ...

    def delete(self, intent_id: str, *, detach: bool = True) -> None:
        """Delete an intent and, with ``detach``, every edge touching it.

        Raises:
            IntentNotFound: no such intent.
            IntentInUse: ``detach=False`` and the intent still has edges.
        """
        ...

    def list(self, filter: IntentFilter | None = None, **criteria: Any) -> builtins.list[Intent]:
        """Return the intents matching ``filter`` and/or ``IntentFilter`` keyword criteria.

        Raises:
            InvalidFilter: an unknown criterion or a value of the wrong type.
        """
        ...

    def count(self, filter: IntentFilter | None = None, **criteria: Any) -> int:
        """Return how many intents match (``limit``/``offset`` ignored)."""
        ...

    # --- edges --------------------------------------------------------------------

    def add_edge(
        self,
        source: str,
        target: str,
        type: EdgeType,
        *,
        weight: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Edge:
        """Add the edge ``source -type-> target``, or update its weight and metadata.

        Raises:
            SelfLoop: ``source == target``.
            MissingEndpoint: either end is not stored.
            MultipleParents: ``IS_SUBGOAL_OF`` to a second parent.
            CycleError: the edge would close an ``IS_SUBGOAL_OF`` or dependency cycle.
        """
        ...

    def add_edges(self, edges: Iterable[Edge]) -> builtins.list[Edge]:
        """Add or update many edges in one transaction: all or none (raises as ``add_edge``)."""
        ...

    def remove_edge(self, source: str, target: str, type: EdgeType) -> None:
        """Remove one edge.

        Raises:
            EdgeNotFound: no such edge.
        """
        ...

    def edges(
        self,
        intent_id: str | None = None,
        *,
        type: EdgeType | None = None,
        direction: Direction = "both",
    ) -> builtins.list[Edge]:
        """Return edges touching ``intent_id`` (all edges when None), by (source, target, type).

        ``direction="out"`` keeps edges whose source is the intent, ``"in"`` whose target is.
        A symmetric edge (``CONFLICTS_WITH``) is returned oriented from the intent for
        ``out``/``both`` and towards it for ``in``.

        Raises:
            IntentNotFound: ``intent_id`` is given and not stored.
        """
        ...

    # --- graph queries ----------------------------------------------------------------

    def parent(self, intent_id: str) -> Intent | None:
        """Return the intent this one is a subgoal of, or None for a root."""
        ...

    def children(self, intent_id: str) -> builtins.list[Intent]:
        """Return the direct subgoals of an intent, by id."""
        ...

    def subtree(self, intent_id: str, *, max_depth: int | None = None) -> builtins.list[TreeNode]:
        """Return the intent and its descendants with their depth (root at 0)."""
        ...

    def ancestors(self, intent_id: str) -> builtins.list[Intent]:
        """Return the chain of parents, nearest first, up to the root."""
        ...

    def dependencies(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        """Return what must complete before this intent may start."""
        ...

    def dependents(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        """Return the intents that depend on this one (``DEPENDS_ON`` it, or that it
        ``BLOCKS``), and with ``transitive`` theirs too: the dependency chains only. For
        everything a failure holds up, subgoals included, use ``impact``."""
        ...

    def impact(self, intent_id: str) -> builtins.list[Intent]:
        """Return everything that cannot proceed if this intent fails: its blast radius.

        Its subgoals (held by a failed ancestor) and their descendants, and, from any of
        those or the intent itself, whatever waits on them: dependents, and parents (a
        parent waits for its subgoals), and so on. Completed and archived intents are left
        out (and not followed, but inside the failed subtree). Ordered by distance, then id.
        """
        ...

    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]:
        """Return the intents that can run now, best first (priority, age, id).

        Ready: ``active``; every dependency completed; every subgoal completed or archived
        (a parent waits for its subgoals); no ancestor suspended, failed or archived.

        Raises:
            InvalidFilter: ``limit`` is negative or not an integer.
        """
        ...

    def blocked(self) -> builtins.list[BlockedIntent]:
        """Return each active intent that is not ready, and each executing intent whose
        lease ran out, with what holds it; ordered as ``ready``."""
        ...

    def cycles(self) -> builtins.list[builtins.list[str]]:
        """Return every elementary dependency cycle, each starting at its smallest id."""
        ...

    def conflicts(self, intent_id: str) -> builtins.list[Intent]:
        """Return the intents this one conflicts with, by id."""
        ...

    def plan(self, root_id: str) -> builtins.list[Intent]:
        """Return the subtree of ``root_id`` in an order that can be executed.

        Dependencies come before their dependents, also through intents outside the
        subtree (``a`` needs ``x`` which needs ``c``: ``c`` comes before ``a``), and subgoals
        before their parent; ties go to higher priority, then earlier ``created_at``, then id.

        Raises:
            CycleError: the subtree's dependencies form a cycle.
        """
        ...

    def context(self, intent_id: str, *, hops: int = 2, max_nodes: int = 50) -> IntentContext:
        """Return the bounded neighbourhood of an intent.

        Ancestors (up to ``hops``), dependencies and dependents (up to ``hops`` away),
        children and conflicts (one hop), nearest first; at most ``max_nodes`` intents
        counting the focus, ``truncated`` set when some were left out. ``hops=0`` gives the
        focus alone.
        """
        ...

    def stats(self) -> GraphStats:
        """Return counts by status and edge type, the top blockers, the orphans and the
        expired leases."""
        ...

    def changes(self, since: int = 0, *, limit: int | None = 1000) -> ChangeBatch:
        """Return the changes made after change ``since``, oldest first, at most ``limit``.

        Every write adds one change per intent or edge it touched, numbered from 1 up. Call
        again with the batch's ``seq``. A store keeps its recent changes only (SQLite and the
        graph servers the last 100,000; JSON those since its journal was last folded, and
        all made since it was opened; memory the last 100,000): when older ones are asked
        for, ``complete`` is False.

        Raises:
            InvalidFilter: ``since`` or ``limit`` is not a non-negative integer.
        """
        ...

    # --- whole-store operations: backup, restore, verify ----------------------------

    def snapshot(self, *, batch_size: int = 1000) -> AbstractContextManager[Snapshot]:
        """Return a context manager giving a consistent view of the whole store.

        For backups, copies and checks of a store that others keep writing to: the view
        is of one moment, and reading it in batches of ``batch_size`` costs constant memory
        on stores that keep their data outside Python. What each backend does:

        * SQLite: a second, read-only connection to the same file holds one read
          transaction (``BEGIN``, then every read): WAL gives it the database as it was at
          its first read while writers, in this process or another, go on (the WAL cannot
          be checkpointed past that point until the view is closed). Records are read with
          one cursor per table, in key order.
        * memory and JSON: under the store's lock, the view takes the sorted list of ids
          and the list of edges (references to the stored objects, which are never changed
          in place: O(n) pointers, not copies), then lets go of the lock; records are
          copied batch by batch as they are read.
        * graph servers (Neo4j, FalkorDB): the graph is read in pages of intents with
          their edges into a temporary file, then checked: the change feed's committed
          mark must not have moved (Neo4j reads committed data, so a writer's commit in
          between would be half seen) and, on FalkorDB, ``WATCH`` on the graph and its
          writer lock must not have fired (FalkorDB readers see uncommitted writes). A
          read that saw a write is made again; the third read holds the writer lock.
          Records are then handed out from the file, in constant memory.

        Raises:
            TransactionError: called inside a ``transaction()`` block (the view could not
                see that block's writes).
            StorageError: the view cannot be opened.
        """
        ...

    def bulk_load(
        self,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult:
        """Write many intents and edges in one transaction, for restore and copy.

        The records are written as given: ids, versions, timestamps, claims and attempts
        are kept (unlike ``put``, which starts a version at 1). An intent whose id is stored
        is replaced; so is an edge with a stored (source, target, type). With ``replace``
        everything stored is removed first. ``intents`` is read to its end before
        ``edges``; both are read once, lazily, so they may stream from a file.

        The graph invariants are checked once, over the result, not edge by edge: both ends
        stored, no self-loop, one parent, no subgoal cycle, no DEPENDS_ON/BLOCKS cycle,
        symmetric edges with their ends in sorted order; a load that breaks one raises
        ``InvalidEdge`` naming it (``MissingEndpoint`` for an end not stored) and writes
        nothing. Each record is checked as ``put`` checks it (``InvalidIntent``).
        ``bulk_load_json`` is for callers that validated the texts; it checks the graph as
        this does unless the caller says it has checked it (``graph_checked``).
        Afterwards the maintained state is rebuilt from the records (SQLite: ``unmet``,
        ``held``, ``open_subgoals``, ``lease_expires_us`` and the copied columns; memory and
        JSON: the adjacency indexes, the ready index and every count).

        The change feed gets no record per row: the load moves it on by one position and
        forgets older changes, so a poller behind that position gets ``complete=False``
        and re-reads what it tracks (a restore replaces the world).

        All or nothing, whatever interrupts it (an exception from an iterable, Ctrl-C):
        SQLite writes in one ``BEGIN IMMEDIATE`` transaction; memory builds the new state
        beside the old and swaps it in one statement; JSON writes the new document (temp
        file, fsync, rename) instead of a journal line and starts an empty journal. Graph
        servers: Neo4j in one write transaction with ``UNWIND`` batches (the server holds the
        load in memory until the commit); FalkorDB has no multi-query transaction: the load
        builds a staging graph beside the live one and renames it over it, the commit point.

        Args:
            intents: the intents to write, valid, with distinct ids.
            edges: the edges to write, valid, distinct; both ends must be stored (or
                written by this load).
            replace: remove everything stored first.
            expected_changes: refuse (``TransactionError``) unless the change feed is
                still at this position: nothing was written since a ``snapshot`` whose
                ``changes`` it was.
            confirm: called once every record is written and checked, before the load
                is made visible and durable; if it raises, nothing is written and its
                exception propagates (a restore passes the verdict of a check that ran
                beside the load).

        Raises:
            TransactionError: called inside a ``transaction()`` block, or the store changed
                since ``expected_changes``.
            ReadOnlyStore: the store is open read-only.
            MissingEndpoint: an edge names an intent that is neither stored nor loaded
                (on backends that can tell cheaply; SQLite's foreign keys do).
            StorageError: the write failed; nothing was written.
        """
        ...

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
        """``bulk_load`` for records given as the JSON text ``intent_to_json`` and
        ``edge_to_json`` write (what ``Snapshot.intent_json`` gives, and a restore stages).

        Every text must be a valid record in that form, checked before: no record is
        validated again. A store that keeps that text stores it as it is (SQLite reads only
        the fields of its columns: about twice as fast as building models); the default
        builds the models and calls ``bulk_load``. Same contract and errors as
        ``bulk_load``: the graph invariants are checked over the result, unless
        ``graph_checked`` says the caller has checked them over exactly that result
        (``intentgraph.backup`` does, in its first pass); a store may then skip its own
        check (SQLite skips it, and its foreign-key lookups: a third of the time per edge).
        """
        ...

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """Return every way the stored data breaks the store's rules (empty: none).

        The graph invariants (every edge's ends stored, no self-loop, symmetric edges in
        sorted order and once, at most one parent, no subgoal or dependency cycle), every
        record valid, and what the backend keeps itself: SQLite runs ``PRAGMA
        integrity_check`` and ``foreign_key_check``, compares the schema with the one it
        expects (``schema_problems``) and recomputes ``unmet``, ``held``,
        ``open_subgoals`` and the copied columns from the records; JSON re-reads its
        journal's checksums; memory checks its indexes against its records. Runs in
        bounded memory where the backend's data is outside Python (a temporary SQLite file
        holds the graph's skeleton). Never changes anything.

        Raises:
            StorageError: the store cannot be read at all.
        """
        ...

    def rebuild_derived_state(self) -> int:
        """Recompute everything derived from the records, never the records; return how
        many rows or entries changed.

        SQLite: the copied columns, ``unmet``, ``held``, ``open_subgoals`` and
        ``lease_expires_us``, in one write transaction. Memory and JSON: the incoming
        adjacency index and the leased index. A backend with no derived state returns 0.

        Raises:
            ReadOnlyStore: the store is open read-only.
            TransactionError: called inside a ``transaction()`` block.
        """
        ...

    # --- lifecycle ----------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all of them land, or none. Transactions nest (savepoints)."""
        ...

    def health(self) -> Health:
        """Report whether the store works, and whether it is a degraded fallback.

        Never raises: a closed or broken store answers ``ok=False`` with the reason.
        """
        ...

    def compact(self) -> None:
        """Give disk space back: fold the JSON journal into its document, checkpoint and
        vacuum SQLite; nothing to do in memory.

        Raises:
            ReadOnlyStore: the store is open read-only.
            StorageError: the store cannot be rewritten now.
        """
        ...

    def local_files(self) -> builtins.list[str]:
        """The files the store keeps on this machine, as absolute paths: the SQLite file
        and its WAL, shared-memory, journal and lock files; the JSON document, journal and
        lock file; none for memory and graph servers. A backup, an export or a copy
        refuses to write over any of them (``TargetIsStore``)."""
        ...

    def close(self) -> None:
        """Release the store; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
