"""The in-memory backend: the reference every other backend is compared against.

Thread-safe (the store's re-entrant lock), every read returns a copy. Writes are recorded as
an undo log (to roll back a failed transaction) and a redo log (which ``JsonFileStore``
persists). The graph and what it maintains (edges by type at both ends, the ready index,
the counts) are in ``_memory_index.py``.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, cast

from intentgraph import _graph
from intentgraph._base import (
    StoreBase,
    as_edge,
    as_intent,
    canonical_edge,
    check_direction,
    check_limit,
    clone,
    clone_edge,
    dependency_pair,
    kept,
    kept_edge,
    next_version,
    pick_direction,
)
from intentgraph._queries import UNFINISHED, Counts, ready_key
from intentgraph._transactions import Level, gc_paused
from intentgraph._url import ParsedURL, check_no_location, check_query
from intentgraph._whole import ListSnapshot, check_with_skeleton, hand_out
from intentgraph.backends._memory_index import EdgeKey, GraphIndex, compact
from intentgraph.errors import (
    CycleError,
    EdgeNotFound,
    IntentExists,
    IntentInUse,
    IntentNotFound,
    InvalidEdge,
    MissingEndpoint,
    MultipleParents,
    ReadOnlyStore,
    StoreCorrupted,
    TransactionError,
)
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
from intentgraph.results import (
    BlockedIntent,
    Change,
    ChangeBatch,
    ChangeOp,
    IntegrityProblem,
    LoadResult,
    TreeNode,
)

# Redo operations, in the order they were applied:
#   ("put", Intent) | ("del", id) | ("edge", Edge) | ("unedge", EdgeKey)
RedoOp = tuple[str, Any]

_SUBGOAL, _DEPENDS, _BLOCKS = EdgeType.IS_SUBGOAL_OF, EdgeType.DEPENDS_ON, EdgeType.BLOCKS
_NONE: dict[Any, Any] = {}  # an empty mapping to look things up in; never written


class BulkState(GraphIndex):
    """A whole new state of a memory store, built beside the live one by ``bulk_load``
    (nothing maintained while it fills; ``_rebuild_index`` once at the end)."""

    def __init__(self) -> None:
        self._init_index()
        self._maintaining = False
        self.written_intents = self.written_edges = 0
        self.removed_intents = self.removed_edges = 0

    def index(self, edge: Edge) -> None:
        """Add ``edge``, or put it in place of the stored edge with its key."""
        source, target, etype = edge.key
        value = compact(edge)
        if not self._load_edge(source, target, etype, value):
            self._out[etype][source][target] = self._in[etype][target][source] = value

    def fields(self) -> dict[str, Any]:
        """What a store takes over from this state: the data and every maintained value."""
        return {k: v for k, v in vars(self).items() if k.startswith("_")}


class MemoryStore(GraphIndex, StoreBase):
    """Intents and edges held in Python dicts; lost when the process ends."""

    backend_name = "memory"

    def __init__(self, *, url: str = "memory://", read_only: bool = False) -> None:
        super().__init__(url=url, read_only=read_only)
        self._init_index()
        self._undo: builtins.list[tuple[str, Any, Any]] = []
        self._redo: builtins.list[RedoOp] = []
        # The change feed: records past ``_change_seq`` belong to a commit in progress (or
        # one that failed) and are never shown; the commit statement moves the mark.
        self._change_seq = 0
        self._recent: builtins.list[ChangeRecord] = []

    # --- lifecycle --------------------------------------------------------------------

    def compact(self) -> None:
        """Nothing to give back in memory; present so every store has ``compact()``."""
        self._check_open()
        self._require_no_transaction("compact")

    def _tx_begin(self, level: Level) -> None:
        level.mark = (len(self._undo), len(self._redo))

    def _tx_commit(self, level: Level) -> None:
        if level.depth:
            level.committed = True  # a savepoint: its changes now belong to the outer level
        else:
            self._persist(level)

    def _persist(self, level: Level) -> None:
        """Make the outermost level's redo log durable, then mark it committed."""
        mark = self._stage_changes()
        self._undo, self._redo, self._change_seq, level.committed = [], [], mark, True

    def _stage_changes(self) -> int:
        """Append the change records of the redo log past the committed mark; return the
        mark that publishes them (set it in the commit statement)."""
        recent = self._recent
        while recent and recent[-1][0] > self._change_seq:
            recent.pop()  # left by a commit that failed
        seq = self._change_seq
        for (_, _, previous), op in zip(self._undo, self._redo, strict=True):
            seq += 1
            recent.append(change_record(seq, op, existed=previous is not None))
        if len(recent) > 2 * CHANGE_HISTORY:
            del recent[: len(recent) - CHANGE_HISTORY]
        return seq

    def _changes(self, since: int, limit: int | None) -> ChangeBatch:
        with self._lock:
            mark, recent = self._change_seq, self._recent
            first = recent[0][0] if recent else mark + 1
            if not first <= since + 1 <= mark + 1:  # forgotten, or from another store
                return ChangeBatch(seq=mark, latest=mark, changes=[], complete=False)
            start = since + 1 - first
            stop = mark + 1 - first if limit is None else min(mark + 1 - first, start + limit)
            rows = recent[start:stop]
        last = rows[-1][0] if rows else since
        changes = [as_change(r) for r in rows]
        return ChangeBatch(seq=last, latest=mark, changes=changes, complete=True)

    def _tx_rollback(self, level: Level) -> None:
        if level.mark is None:
            return  # the level never began
        undo_mark, redo_mark = level.mark
        undo = self._undo
        if self._index_dirty:  # a change was cut short: restore the data, then rebuild
            self._maintaining = False
        while len(undo) > undo_mark:
            kind, key, previous = undo[-1]  # restore, then pop: safe to interrupt and redo
            if kind == "intent":
                self._store_intent(key, previous)
            else:
                self._restore_edge(key, previous)
            undo.pop()
        del self._redo[redo_mark:]
        if self._index_dirty or not self._maintaining:
            self._rebuild_index()

    # --- raw mutations (logged) -------------------------------------------------------

    def _set_intent(self, intent: Intent) -> None:
        self._undo.append(("intent", intent.id, self._intents.get(intent.id)))
        self._store_intent(intent.id, intent)
        self._redo.append(("put", intent))

    def _drop_intent(self, intent_id: str) -> None:
        self._undo.append(("intent", intent_id, self._intents[intent_id]))
        self._store_intent(intent_id, None)
        self._redo.append(("del", intent_id))

    def _set_edge(self, edge: Edge) -> None:
        key = edge.key
        self._undo.append(("edge", key, self._edge(*key)))
        self._restore_edge(key, edge)
        self._redo.append(("edge", edge))

    def _drop_edge(self, key: EdgeKey) -> None:
        self._undo.append(("edge", key, self._edge(*key)))
        self._restore_edge(key, None)
        self._redo.append(("unedge", key))

    # --- intents ----------------------------------------------------------------------

    def _insert_many(self, batch: builtins.list[Intent]) -> None:
        with self._write():
            for intent in batch:
                if intent.id in self._intents:
                    raise IntentExists(intent.id)
                self._set_intent(kept(clone(intent)))

    def find(self, intent_id: str) -> Intent | None:
        self._check_open()
        with self._lock:
            intent = self._intents.get(intent_id) if is_text(intent_id) else None
            return None if intent is None else clone(intent)

    def _replace(
        self, new: Intent, *, expected_version: int | None = None, claims: bool = False
    ) -> Intent:
        with self._write():
            stored = self._intents.get(new.id)
            if stored is None:
                raise IntentNotFound(new.id)
            new = next_version(stored, new, expected_version, now=self.now(), claims=claims)
            self._set_intent(kept(new))
            return clone(new)

    def delete(self, intent_id: str, *, detach: bool = True) -> None:
        with self._write():
            self._require(intent_id)
            touching = sorted(self._touching(intent_id), key=lambda e: e.key)  # feed order
            if touching and not detach:
                raise IntentInUse(intent_id, len(touching))
            for edge in touching:
                self._drop_edge(edge.key)
            self._drop_intent(intent_id)

    def _select(self, flt: IntentFilter) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            if flt.ids is not None:
                pool: Iterable[Intent] = (
                    self._intents[i] for i in dict.fromkeys(flt.ids) if i in self._intents
                )
            elif flt.status is not None:  # the status index: no scan of the others
                pool = (self._intents[i] for i in self._ids_with_status(flt.status))
            else:
                pool = self._intents.values()
            hits = [i for i in pool if flt.matches(i)]
            hits.sort(key=flt.sort_key, reverse=flt.descending)
            end = None if flt.limit is None else flt.offset + flt.limit
            return [clone(i) for i in hits[flt.offset : end]]

    def _count(self, flt: IntentFilter) -> int:
        with self._lock:
            return sum(1 for i in self._intents.values() if flt.matches(i))

    # --- edges ------------------------------------------------------------------------

    def add_edges(self, edges: Iterable[Edge]) -> builtins.list[Edge]:
        batch = [canonical_edge(e) for e in edges]
        stored = []
        with self._write():
            for edge in batch:
                stored.append(clone_edge(self._add_edge(edge)))
        return stored

    def _add_edge(self, edge: Edge) -> Edge:
        for end, role in ((edge.source, "source"), (edge.target, "target")):
            if end not in self._intents:
                raise MissingEndpoint(end, role)
        existing = self._edge(*edge.key)
        if existing is not None:
            edge = edge.model_copy(update={"created_at": existing.created_at})
        else:
            self._check_invariants(edge)
        self._set_edge(kept_edge(edge))
        return edge

    def _check_invariants(self, edge: Edge) -> None:
        if edge.type is _SUBGOAL:
            current = self._parent_id(edge.source)
            if current is not None:
                raise MultipleParents(edge.source, current, edge.target)
            path = _graph.shortest_path(self._parent_ids, edge.target, edge.source)
            if path is not None:
                raise CycleError([edge.source, *path[:-1]], edge.type.value)
        pair = dependency_pair(edge)
        if pair is not None:
            dependent, dependency = pair
            path = _graph.shortest_path(self._dependency_ids, dependency, dependent)
            if path is not None:
                raise CycleError([dependent, *path[:-1]], edge.type.value)

    def remove_edge(self, source: str, target: str, type: EdgeType) -> None:
        etype = as_edge_type(type)
        if not is_text(source, target):
            raise EdgeNotFound(source, target, etype.value)
        if etype.symmetric and source > target:
            source, target = target, source
        with self._write():
            if self._edge(source, target, etype) is None:
                raise EdgeNotFound(source, target, etype.value)
            self._drop_edge((source, target, etype))

    def edges(
        self,
        intent_id: str | None = None,
        *,
        type: EdgeType | None = None,
        direction: Direction = "both",
    ) -> builtins.list[Edge]:
        self._check_open()
        check_direction(direction)
        etype = None if type is None else as_edge_type(type)
        with self._lock:
            if intent_id is None:
                found = self._all_edges()
            else:
                self._require(intent_id)
                found = pick_direction(self._touching(intent_id), intent_id, direction)
            if etype is not None:
                found = [e for e in found if e.type is etype]
            found.sort(key=lambda e: e.key)
            return [clone_edge(e) for e in found]

    # --- graph helpers ----------------------------------------------------------------

    def _require(self, intent_id: str) -> Intent:
        intent = self._intents.get(intent_id) if is_text(intent_id) else None
        if intent is None:
            raise IntentNotFound(intent_id)
        return intent

    def _copies(self, ids: Iterable[str]) -> builtins.list[Intent]:
        return [clone(self._intents[i]) for i in ids]

    def _dependency_map(self) -> dict[str, builtins.list[str]]:
        with self._lock:
            return self._dependency_lists()

    # --- graph queries ----------------------------------------------------------------

    def children(self, intent_id: str) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            return self._copies(sorted(self._child_ids(intent_id)))

    def subtree(self, intent_id: str, *, max_depth: int | None = None) -> builtins.list[TreeNode]:
        self._check_open()
        with self._lock:
            root = self._require(intent_id)
            nodes = [TreeNode(intent=clone(root), depth=0, parent_id=None)]
            seen = {intent_id}
            layer = [intent_id]
            depth = 0
            while layer and (max_depth is None or depth < max_depth):
                depth += 1
                pairs = sorted((c, p) for p in layer for c in self._child_ids(p))
                if any(c in seen for c, _ in pairs):
                    raise StoreCorrupted(f"the subgoal edges below {intent_id!r} form a cycle")
                seen.update(c for c, _ in pairs)
                nodes.extend(
                    TreeNode(intent=clone(self._intents[c]), depth=depth, parent_id=p)
                    for c, p in pairs
                )
                layer = [c for c, _ in pairs]
            return nodes

    def ancestors(self, intent_id: str) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            return self._copies(self._ancestor_ids(intent_id))

    def dependencies(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, self._dependency_ids, transitive)

    def dependents(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, self._dependent_ids, transitive)

    def _reach(self, intent_id: str, step: Any, transitive: bool) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            dist = _graph.closure(step, intent_id, max_depth=None if transitive else 1)
            return self._copies(sorted(dist, key=lambda n: (dist[n], n)))

    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]:
        self._check_open()
        check_limit(limit)
        with self._lock, gc_paused(limit):
            return self._copies(self._ready_ids(limit))

    def _next_ready(self, flt: IntentFilter) -> Intent | None:
        with self._lock:
            for intent_id in self._ready_ids():
                intent = self._intents[intent_id]
                if flt.matches(intent):
                    return clone(intent)
        return None

    def _counts(self) -> Counts:
        with self._lock:
            total = len(self._intents)
            by_status = {s.value: len(ids) for s, ids in self._status_ids.items()}
            by_type = {t.value: n for t, n in self._edge_counts.items()}
            edges = sum(self._edge_counts.values())
            return total, by_status, edges, by_type, total - self._touched()

    def _top_blockers(self) -> builtins.list[tuple[str, int]]:
        with self._lock:
            intents = self._intents
            return self._blockers_index().top(
                lambda batch: {n for n in batch if intents[n].status in UNFINISHED}
            )

    def blocked(self) -> builtins.list[BlockedIntent]:
        self._check_open()
        with self._lock, gc_paused():  # tens of thousands of new objects: no full GC scans
            self._ordered_ready()
            waiting = self._status_ids[IntentStatus.ACTIVE] - self._ready_key.keys()
            stale = {i.id for i in self._expired_leases(self.now())}
            targets = waiting | stale
            if not targets:
                return []
            holders = {} if not self._ids_with_status(HOLDING_STATUSES) else self._holders(targets)
            intents = self._intents
            # One copy of each intent per answer, shared by the entries that name it (as
            # SQLite's held_by): copies for every entry cost a third of the call at 100k.
            copies: dict[str, Intent] = {}

            def copy(intent_id: str) -> Intent:
                made = copies.get(intent_id)
                if made is None:
                    made = copies[intent_id] = clone(intents[intent_id])
                return made

            found = []
            for intent_id in sorted(targets, key=lambda i: ready_key(intents[i])):
                deps = sorted(set(self._dependency_ids(intent_id)))
                subgoals = sorted(self._child_ids(intent_id))
                found.append(
                    BlockedIntent.model_construct(
                        intent=copy(intent_id),
                        blocked_by=[
                            copy(d) for d in deps if intents[d].status is not IntentStatus.COMPLETED
                        ],
                        subgoals=[
                            copy(c) for c in subgoals if intents[c].status not in FINISHED_SUBGOAL
                        ],
                        held_by=[copy(h.id) for _, _, h in sorted(holders.get(intent_id, []))],
                        lease_expired=intent_id in stale,
                    )
                )
            return found

    def _expired_leases(self, now: datetime) -> builtins.list[Intent]:
        with self._lock:
            found = [
                self._intents[i]
                for i in sorted(self._leased)
                if self._intents[i].lease.expires_at <= now  # type: ignore[union-attr]
            ]
            return [clone(i) for i in found]

    def _impact_of(self, intent: Intent, *, holds_parent: bool) -> dict[str, int]:
        with self._lock:
            intents = self._intents

            def pairs(ids: Iterable[str]) -> builtins.list[_graph.Neighbour]:
                return [(i, intents[i].status in FINISHED_SUBGOAL) for i in ids]

            def parent(intent_id: str) -> _graph.Neighbour | None:
                up = self._parent_id(intent_id)
                return None if up is None else (up, intents[up].status in FINISHED_SUBGOAL)

            return _graph.blast_radius(
                intent.id,
                children=lambda n: pairs(self._child_ids(n)),
                dependents=lambda n: pairs(self._dependent_ids(n)),
                parent=parent,
                holds_parent=holds_parent,
            )

    @classmethod
    def from_url(cls, url: ParsedURL) -> MemoryStore:
        """Open from a ``memory://`` URL (each call is a new, empty store)."""
        check_no_location(url)  # memory://somehost names no place: refuse, do not ignore
        check_query(url, set())
        return cls(url="memory://")

    # --- whole-store operations: snapshot, bulk load, integrity -----------------------

    def snapshot(self, *, batch_size: int = 1000) -> AbstractContextManager[ListSnapshot]:
        """A consistent view: the sorted ids and edges are taken under the lock (references
        to stored objects, which are never changed in place), then copied batch by batch
        without holding it, so writers go on meanwhile."""
        self._check_open()
        self._require_no_transaction("snapshot")
        with self._lock:
            intents = [self._intents[i] for i in sorted(self._intents)]
            edges = sorted(self._all_edges(), key=lambda e: e.key)
            changes = self._change_seq
        return hand_out(
            ListSnapshot(
                intents,
                edges,
                changes=changes,
                batch_size=batch_size,
                copy_intent=clone,
                copy_edge=clone_edge,
            )
        )

    def bulk_load(
        self,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult:
        """Build the new state beside the live one, then swap it in with one statement."""
        self._check_open()
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self._lock, gc_paused():
            self._require_no_transaction("bulk_load")
            if expected_changes is not None and expected_changes != self._change_seq:
                raise TransactionError(
                    f"the store changed since change {expected_changes} (now at "
                    f"{self._change_seq}); nothing was loaded"
                )
            state = BulkState()
            if replace:
                state.removed_intents = len(self._intents)
                state.removed_edges = sum(self._edge_counts.values())
            else:
                state._intents = dict(self._intents)
                for etype, by_source in self._out.items():
                    for source, ends in by_source.items():
                        for target, value in ends.items():
                            state._load_edge(source, target, etype, value)
            for intent in map(as_intent, intents):
                state._intents[intent.id] = kept(clone(intent))
                state.written_intents += 1
            for edge in map(as_edge, edges):
                for end, role in ((edge.source, "source"), (edge.target, "target")):
                    if end not in state._intents:
                        raise MissingEndpoint(end, role)
                state.index(kept_edge(clone_edge(edge)))
                state.written_edges += 1
            problems = state.graph_problems()
            if problems:
                raise InvalidEdge(f"the loaded records break the graph's rules: {problems[0]}")
            state._rebuild_index()
            state._blocking_version = self._blocking_version + 1  # no cache outlives it
            if confirm is not None:
                confirm()
            self._install_bulk_state(state)
            return LoadResult(
                intents=state.written_intents,
                edges=state.written_edges,
                removed_intents=state.removed_intents,
                removed_edges=state.removed_edges,
                changes=self._change_seq,
            )

    def _install_bulk_state(self, state: BulkState) -> None:
        """Make ``state`` the store's, in one statement: no interrupt leaves half of it.

        The change feed moves on by one and forgets the rest, so a poller behind it is
        told to re-read (``complete=False``)."""
        fields = state.fields()
        fields.update(_recent=[], _change_seq=self._change_seq + 1)
        self.__dict__.update(fields)

    def _bulk_fields(self) -> dict[str, Any]:
        """The store's current values of what ``_install_bulk_state`` replaces."""
        names = [*BulkState().fields(), "_recent", "_change_seq"]
        return {name: self.__dict__[name] for name in names}

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """The graph invariants (over a skeleton on disk), and every maintained value
        against a recomputation from the records."""
        self._check_open()
        with self._lock:
            ids = sorted(self._intents)
            stored = self._all_edges()
            edges = [(e.source, e.target, e.type.value) for e in stored]
            problems = self._index_problems(stored)
        return check_with_skeleton([ids], [edges]) + problems

    def _index_problems(self, stored: builtins.list[Edge]) -> builtins.list[IntegrityProblem]:
        problems = []
        mirrored = {
            (source, target, etype)
            for etype, by_target in self._in.items()
            for target, starts in by_target.items()
            for source in starts
        }
        keys = {e.key for e in stored}
        if mirrored != keys:
            problems.append(
                IntegrityProblem(
                    kind="derived_state",
                    message="the incoming-edge index differs from the edges in "
                    f"{len(mirrored ^ keys)} place(s)",
                    repairable=True,
                )
            )
        fresh = BulkState()
        fresh._intents = self._intents
        for edge in stored:
            fresh.index(edge)
        try:
            fresh._rebuild_index()
        except (KeyError, StoreCorrupted):
            return problems  # dangling edges or a cycle: the graph checks name them
        fresh._ordered_ready()
        self._ordered_ready()
        for name, what in _MAINTAINED.items():
            want, got = getattr(fresh, name), getattr(self, name)
            if want != got:
                differ = _differing(want, got)
                problems.append(
                    IntegrityProblem(
                        kind="derived_state",
                        message=f"the maintained {what} differs from the records"
                        f" for {len(differ)} intent(s)",
                        ids=differ[:20],
                        repairable=True,
                    )
                )
        return problems

    def rebuild_derived_state(self) -> int:
        """Rebuild the incoming-edge index and every maintained value from the records."""
        self._check_open()
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self._lock:
            self._require_no_transaction("rebuild_derived_state")
            stored = self._all_edges()
            changed = len(self._index_problems(stored))
            if changed:
                fresh = BulkState()
                fresh._intents = self._intents
                for edge in stored:
                    fresh.index(edge)
                fresh._rebuild_index()
                fresh._blocking_version = self._blocking_version + 1
                self.__dict__.update(fresh.fields())
            return changed


_MAINTAINED = {
    "_leased": "leased index",
    "_status_ids": "index by status",
    "_unmet": "count of unmet dependencies",
    "_open": "count of open subgoals",
    "_held": "held set",
    "_ready_key": "ready index",
}
"""The maintained values ``check_integrity`` recomputes, and what to call each."""


def _differing(want: Any, got: Any) -> builtins.list[str]:
    """The ids whose maintained values differ (sets, or dicts keyed by id or status)."""
    if isinstance(want, set):
        return sorted(want ^ got)
    if want and isinstance(next(iter(want)), IntentStatus):
        return sorted(set().union(*(want[s] ^ got[s] for s in want)))
    return sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))


CHANGE_HISTORY = 100_000
"""How many recent changes a memory store keeps for ``changes()``."""

ChangeRecord = tuple[int, str, str, str | None, str | None, str | None]
"""(seq, op, intent id or edge source, edge target, edge type, status): a change, compactly."""


def change_record(seq: int, op: RedoOp, *, existed: bool) -> ChangeRecord:
    """Return the change record of one redo operation (``existed``: the intent was stored)."""
    kind, value = op
    if kind == "put":
        return (seq, "update" if existed else "put", value.id, None, None, value.status.value)
    if kind == "del":
        return (seq, "delete", value, None, None, None)
    if kind == "edge":
        return (seq, "add_edge", value.source, value.target, value.type.value, None)
    source, target, etype = value
    return (seq, "remove_edge", source, target, etype.value, None)


def as_change(record: ChangeRecord) -> Change:
    seq, op, intent_id, target, etype, status = record
    return Change.model_construct(
        seq=seq,
        op=cast(ChangeOp, op),
        intent_id=intent_id,
        target=target,
        type=None if etype is None else EdgeType(etype),
        status=None if status is None else IntentStatus(status),
    )


def is_text(*ids: object) -> bool:
    """Return True when every id is a string (anything else cannot name a stored intent)."""
    return all(type(i) is str for i in ids)
