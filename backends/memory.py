"""The in-memory backend: the reference every other backend is compared against.

Thread-safe (the store's re-entrant lock), every read returns a copy. Writes are recorded as
an undo log (to roll back a failed transaction) and a redo log (which ``JsonFileStore``
persists). Edges are indexed by type at both ends, so a hub with 100k edges of one type
costs nothing to a lookup of another.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, cast

from intentgraph import _graph
from intentgraph._base import (
    StoreBase,
    canonical_edge,
    check_direction,
    check_limit,
    clone,
    clone_edge,
    dependency_pair,
    next_version,
    pick_direction,
)
from intentgraph._queries import ready_key
from intentgraph._transactions import Level, gc_paused
from intentgraph._url import ParsedURL, check_no_location, check_query
from intentgraph._whole import ListSnapshot, check_with_skeleton, hand_out
from intentgraph.errors import (
    CycleError,
    EdgeNotFound,
    IntentExists,
    IntentInUse,
    IntentNotFound,
    MissingEndpoint,
    MultipleParents,
    ReadOnlyStore,
    StoreCorrupted,
    TransactionError,
)
from intentgraph.filters import Direction, IntentFilter
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    as_edge_type,
)
from intentgraph.results import (
    Change,
    ChangeBatch,
    ChangeOp,
    IntegrityProblem,
    LoadResult,
    TreeNode,
)

EdgeKey = tuple[str, str, EdgeType]
# intent id -> edge type -> the id at the other end -> edge
Adjacency = dict[str, dict[EdgeType, dict[str, Edge]]]
# Redo operations, in the order they were applied:
#   ("put", Intent) | ("del", id) | ("edge", Edge) | ("unedge", EdgeKey)
RedoOp = tuple[str, Any]

_SUBGOAL, _DEPENDS, _BLOCKS = EdgeType.IS_SUBGOAL_OF, EdgeType.DEPENDS_ON, EdgeType.BLOCKS
_NONE: dict[Any, Any] = {}  # an empty mapping to look things up in; never written


class BulkState:
    """A whole new state of a memory store, built beside the live one by ``bulk_load``."""

    __slots__ = (
        "inn",
        "intents",
        "leased",
        "out",
        "removed_edges",
        "removed_intents",
        "written_edges",
        "written_intents",
    )

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}
        self.out: Adjacency = {}
        self.inn: Adjacency = {}
        self.leased: set[str] = set()
        self.written_intents = self.written_edges = 0
        self.removed_intents = self.removed_edges = 0

    def index(self, edge: Edge) -> None:
        source, target, etype = edge.key
        self.out.setdefault(source, {}).setdefault(etype, {})[target] = edge
        self.inn.setdefault(target, {}).setdefault(etype, {})[source] = edge


class MemoryStore(StoreBase):
    """Intents and edges held in Python dicts; lost when the process ends."""

    backend_name = "memory"

    def __init__(self, *, url: str = "memory://", read_only: bool = False) -> None:
        super().__init__(url=url, read_only=read_only)
        self._intents: dict[str, Intent] = {}
        self._out: Adjacency = {}  # source -> type -> target -> edge
        self._in: Adjacency = {}  # target -> type -> source -> edge
        self._undo: builtins.list[tuple[str, Any, Any]] = []
        self._redo: builtins.list[RedoOp] = []
        self._leased: set[str] = set()  # executing intents with a lease: reclaim looks here
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
        while len(undo) > undo_mark:
            kind, key, previous = undo[-1]  # restore, then pop: safe to interrupt and redo
            if kind == "intent":
                self._index_lease(key, previous)
                if previous is None:
                    self._intents.pop(key, None)
                else:
                    self._intents[key] = previous
            else:
                self._restore_edge(key, previous)
            undo.pop()
        del self._redo[redo_mark:]

    # --- raw mutations (logged) -------------------------------------------------------

    def _set_intent(self, intent: Intent) -> None:
        self._undo.append(("intent", intent.id, self._intents.get(intent.id)))
        self._index_lease(intent.id, intent)
        self._intents[intent.id] = intent
        self._redo.append(("put", intent))

    def _drop_intent(self, intent_id: str) -> None:
        self._undo.append(("intent", intent_id, self._intents[intent_id]))
        self._index_lease(intent_id, None)
        del self._intents[intent_id]
        self._redo.append(("del", intent_id))

    def _index_lease(self, intent_id: str, intent: Intent | None) -> None:
        if intent is not None and intent.lease is not None:
            self._leased.add(intent_id)
        else:
            self._leased.discard(intent_id)

    def _set_edge(self, edge: Edge) -> None:
        key = edge.key
        self._undo.append(("edge", key, self._edge(*key)))
        self._restore_edge(key, edge)
        self._redo.append(("edge", edge))

    def _drop_edge(self, key: EdgeKey) -> None:
        self._undo.append(("edge", key, self._edge(*key)))
        self._restore_edge(key, None)
        self._redo.append(("unedge", key))

    def _edge(self, source: str, target: str, etype: EdgeType) -> Edge | None:
        found: Edge | None = self._out.get(source, _NONE).get(etype, _NONE).get(target)
        return found

    def _restore_edge(self, key: EdgeKey, edge: Edge | None) -> None:
        source, target, etype = key
        if edge is None:
            self._out.get(source, _NONE).get(etype, {}).pop(target, None)
            self._in.get(target, _NONE).get(etype, {}).pop(source, None)
        else:
            self._out.setdefault(source, {}).setdefault(etype, {})[target] = edge
            self._in.setdefault(target, {}).setdefault(etype, {})[source] = edge

    # --- intents ----------------------------------------------------------------------

    def _insert_many(self, batch: builtins.list[Intent]) -> None:
        with self._write():
            for intent in batch:
                if intent.id in self._intents:
                    raise IntentExists(intent.id)
                self._set_intent(clone(intent))

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
            self._set_intent(new)
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
        self._set_edge(edge)
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

    def _all_edges(self) -> builtins.list[Edge]:
        out = self._out.values()
        return [e for by_type in out for ends in by_type.values() for e in ends.values()]

    def _touching(self, intent_id: str) -> builtins.list[Edge]:
        out = [e for ends in self._out.get(intent_id, _NONE).values() for e in ends.values()]
        inn = [e for ends in self._in.get(intent_id, _NONE).values() for e in ends.values()]
        return out + inn  # no self-loops exist, so no edge is in both

    # --- graph helpers ----------------------------------------------------------------

    def _require(self, intent_id: str) -> Intent:
        intent = self._intents.get(intent_id) if is_text(intent_id) else None
        if intent is None:
            raise IntentNotFound(intent_id)
        return intent

    def _parent_id(self, intent_id: str) -> str | None:
        return next(iter(self._out.get(intent_id, _NONE).get(_SUBGOAL, _NONE)), None)

    def _parent_ids(self, intent_id: str) -> builtins.list[str]:
        parent = self._parent_id(intent_id)
        return [] if parent is None else [parent]

    def _ancestor_ids(self, intent_id: str) -> Iterator[str]:
        """Yield the parent, its parent, and so on up to the root."""
        steps = len(self._intents)  # a longer chain can only be a cycle
        parent = self._parent_id(intent_id)
        while parent is not None:
            steps -= 1
            if steps < 0:
                raise StoreCorrupted(f"the subgoal edges above {intent_id!r} form a cycle")
            yield parent
            parent = self._parent_id(parent)

    def _child_ids(self, intent_id: str) -> builtins.list[str]:
        return builtins.list(self._in.get(intent_id, _NONE).get(_SUBGOAL, _NONE))

    def _dependency_ids(self, intent_id: str) -> builtins.list[str]:
        deps = builtins.list(self._out.get(intent_id, _NONE).get(_DEPENDS, _NONE))
        deps += self._in.get(intent_id, _NONE).get(_BLOCKS, _NONE)
        return deps

    def _dependent_ids(self, intent_id: str) -> builtins.list[str]:
        deps = builtins.list(self._in.get(intent_id, _NONE).get(_DEPENDS, _NONE))
        deps += self._out.get(intent_id, _NONE).get(_BLOCKS, _NONE)
        return deps

    def _copies(self, ids: Iterable[str]) -> builtins.list[Intent]:
        return [clone(self._intents[i]) for i in ids]

    def _dependency_map(self) -> dict[str, builtins.list[str]]:
        with self._lock:
            result: dict[str, builtins.list[str]] = {}
            for intent_id in self._intents:
                deps = self._dependency_ids(intent_id)
                if deps:
                    result[intent_id] = deps
            return result

    def graph_problems(self, *, dependency_cycles: bool = True) -> builtins.list[str]:
        """Return how the stored graph breaks the invariants writes enforce (empty: none).

        Writes cannot break them; a hand-edited or badly merged file can. Queries assume the
        structural ones (both ends stored, one parent, no subgoal cycle), so a loader checks
        those before it serves anything; a dependency cycle breaks no query (``cycles()``
        reports it), so a loader may leave it out.
        """
        problems = []
        for edge in self._all_edges():
            for end in (edge.source, edge.target):
                if end not in self._intents:
                    problems.append(f"edge {_show(edge)} names a missing intent {end!r}")
            if edge.source == edge.target:
                problems.append(f"edge {_show(edge)} joins an intent to itself")
            elif edge.type.symmetric and edge.source > edge.target:
                problems.append(f"edge {_show(edge)} is stored in reverse order")
        for intent_id, by_type in self._out.items():
            parents = by_type.get(_SUBGOAL, _NONE)
            if len(parents) > 1:
                problems.append(f"intent {intent_id!r} has {len(parents)} parents")
        graphs = [("subgoal", {i: self._parent_ids(i) for i in self._intents})]
        if dependency_cycles:
            graphs.append(("dependency", self._dependency_map()))
        for name, adjacency in graphs:
            cycle = _graph.find_cycle(adjacency)
            if cycle is not None:
                problems.append(f"the {name} edges form a cycle: {' -> '.join(cycle + cycle[:1])}")
        return problems

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
        with self._lock:
            hits = [i for i in self._intents.values() if self._is_ready(i)]
            hits.sort(key=ready_key)
            return [clone(i) for i in hits[:limit]]

    def _is_ready(self, intent: Intent) -> bool:
        if intent.status not in ACTIONABLE_STATUSES:
            return False
        for dep in self._dependency_ids(intent.id):
            if self._intents[dep].status is not IntentStatus.COMPLETED:
                return False
        for child in self._child_ids(intent.id):
            if self._intents[child].status not in FINISHED_SUBGOAL:
                return False
        return all(
            self._intents[a].status not in HOLDING_STATUSES for a in self._ancestor_ids(intent.id)
        )

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
                state.removed_edges = len(self._all_edges())
            else:
                state.intents = dict(self._intents)
                for edge in self._all_edges():
                    state.index(edge)
            for intent in intents:
                state.intents[intent.id] = clone(intent)
                state.written_intents += 1
            for edge in edges:
                for end, role in ((edge.source, "source"), (edge.target, "target")):
                    if end not in state.intents:
                        raise MissingEndpoint(end, role)
                state.index(clone_edge(edge))
                state.written_edges += 1
            state.leased = {i for i, x in state.intents.items() if x.lease is not None}
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
        self._intents, self._out, self._in, self._leased, self._recent, self._change_seq = (
            state.intents,
            state.out,
            state.inn,
            state.leased,
            [],
            self._change_seq + 1,
        )

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """The graph invariants (over a skeleton on disk) and the two indexes."""
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
            e.key for by in self._in.values() for ends in by.values() for e in ends.values()
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
        leased = {i for i, x in self._intents.items() if x.lease is not None}
        if leased != self._leased:
            problems.append(
                IntegrityProblem(
                    kind="derived_state",
                    message="the leased index differs from the intents for "
                    f"{len(leased ^ self._leased)} intent(s)",
                    ids=sorted(leased ^ self._leased)[:20],
                    repairable=True,
                )
            )
        return problems

    def rebuild_derived_state(self) -> int:
        """Rebuild the incoming-edge index and the leased index from the records."""
        self._check_open()
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self._lock:
            self._require_no_transaction("rebuild_derived_state")
            stored = self._all_edges()
            changed = len(self._index_problems(stored))
            inn: Adjacency = {}
            for edge in stored:
                inn.setdefault(edge.target, {}).setdefault(edge.type, {})[edge.source] = edge
            leased = {i for i, x in self._intents.items() if x.lease is not None}
            self._in, self._leased = inn, leased
            return changed


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


def _show(edge: Edge) -> str:
    return f"{edge.source!r} -{edge.type.value}-> {edge.target!r}"
