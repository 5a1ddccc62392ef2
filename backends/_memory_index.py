"""The in-memory graph and the state it maintains, for ``MemoryStore`` (and ``JsonFileStore``).

Every change of the stored data goes through two methods, ``_store_intent`` and
``_restore_edge`` (writes, rollbacks and loads alike), which keep, for only the intents a
change affects, what SQLite keeps in its columns: ``unmet`` (blocking edges to a dependency
not completed), ``open`` (subgoals not completed or archived), ``held`` (an ancestor is
suspended, failed or archived), and the ready index, sorted as ``ready()`` answers. So
``ready(limit=100)`` reads 100 entries, and ``stats()`` counts without a scan.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from sortedcontainers import SortedList

from intentgraph._codec import edge_of
from intentgraph._graph import ReachIndex, find_cycle, find_parent_cycle
from intentgraph._queries import ready_key
from intentgraph.errors import StoreCorrupted
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
)

EdgeKey = tuple[str, str, EdgeType]
# What an edge is kept as: the edge, or only its created_at when it has no weight and no
# metadata (most edges): a fifth of the memory, and rebuilt on read (``_materialise``).
Stored = Edge | datetime
# edge type -> intent id -> the id at the other end -> the stored edge. By type first: an
# intent with edges of one type costs one small dict per end, not two.
Adjacency = dict[EdgeType, dict[str, dict[str, Stored]]]
ReadyKey = tuple[int, datetime, str]

_SUBGOAL, _DEPENDS, _BLOCKS = EdgeType.IS_SUBGOAL_OF, EdgeType.DEPENDS_ON, EdgeType.BLOCKS
_CONFLICTS = EdgeType.CONFLICTS_WITH
_DONE = IntentStatus.COMPLETED
_NONE: dict[Any, Any] = {}  # an empty mapping to look things up in; never written


class GraphIndex:
    """Mixin: intents, edges by type at both ends, and the state derived from them."""

    def _init_index(self) -> None:
        self._intents: dict[str, Intent] = {}
        self._out: Adjacency = {t: {} for t in EdgeType}  # type -> source -> target -> edge
        self._in: Adjacency = {t: {} for t in EdgeType}  # type -> target -> source -> edge
        self._maintaining = True  # off while a loader fills everything, then _rebuild_index
        # Set while the maintained state is being changed: still set after an exception
        # cut a change short, so the rollback rebuilds the state instead of undoing steps.
        self._index_dirty = False
        self._leased: set[str] = set()  # executing with a lease: reclaim looks here
        self._status_ids: dict[IntentStatus, set[str]] = {s: set() for s in IntentStatus}
        self._edge_counts: dict[EdgeType, int] = dict.fromkeys(EdgeType, 0)
        self._unmet: dict[str, int] = {}  # absent: 0
        self._open: dict[str, int] = {}  # absent: 0
        self._held: set[str] = set()
        self._ready: SortedList = SortedList()  # of ReadyKey
        self._ready_key: dict[str, ReadyKey] = {}
        # The ready ids a rebuild found, not yet put in order (None: _ready holds them all).
        # Ordering them is a tenth of a JSON store's open: it waits for the first read of
        # the order; writes meanwhile only add or remove ids here.
        self._ready_unordered: set[str] | None = None
        # Bumped at every change of a blocking edge: top blockers are kept per version.
        self._blocking_version = 0
        self._blockers: tuple[int, ReachIndex] | None = None

    # --- the two ways the data changes ------------------------------------------------------

    def _store_intent(self, intent_id: str, new: Intent | None) -> None:
        """Put ``new`` in place of the stored intent (None: remove it; its edges are gone)."""
        dirty, self._index_dirty = self._index_dirty, True
        self._put_intent(intent_id, new)
        self._index_dirty = dirty

    def _restore_edge(self, key: EdgeKey, edge: Edge | None) -> None:
        """Put ``edge`` under ``key`` (None: remove the edge there, if any)."""
        dirty, self._index_dirty = self._index_dirty, True
        self._put_edge(key, edge)
        self._index_dirty = dirty

    def _put_intent(self, intent_id: str, new: Intent | None) -> None:
        old = self._intents.get(intent_id)
        if new is None:
            self._intents.pop(intent_id, None)
        else:
            self._intents[intent_id] = new
        if not self._maintaining:
            return
        was = None if old is None else old.status
        now = None if new is None else new.status
        if was is not None:
            self._status_ids[was].discard(intent_id)
        if now is not None:
            self._status_ids[now].add(intent_id)
        if new is not None and new.lease is not None:
            self._leased.add(intent_id)
        else:
            self._leased.discard(intent_id)
        if old is not None and new is not None and was is not now:
            if (was is _DONE) != (now is _DONE):  # its dependents wait for it, or no longer
                step = -1 if now is _DONE else 1
                for dependent in self._dependent_ids(intent_id):
                    self._bump(self._unmet, dependent, step)
            if (was in FINISHED_SUBGOAL) != (now in FINISHED_SUBGOAL):
                parent = self._parent_id(intent_id)
                if parent is not None:
                    self._bump(self._open, parent, -1 if now in FINISHED_SUBGOAL else 1)
            if (was in HOLDING_STATUSES) != (now in HOLDING_STATUSES):
                for child in self._child_ids(intent_id):
                    self._refresh_held(child)
        self._sync(intent_id)

    def _put_edge(self, key: EdgeKey, edge: Edge | None) -> None:
        source, target, etype = key
        if etype is _DEPENDS or etype is _BLOCKS:
            self._blocking_version += 1
        out, back = self._out[etype], self._in[etype]
        if edge is None:
            old = _pop(out, source, target)
            _pop(back, target, source)
            if old is None or not self._maintaining:
                return
            step = -1
        else:
            value = compact(edge)
            ends = out.get(source)
            if ends is None:
                ends = out[source] = {}
            added = target not in ends
            ends[target] = value
            starts = back.get(target)
            if starts is None:
                starts = back[target] = {}
            starts[source] = value
            if not added or not self._maintaining:
                return
            step = 1
        self._edge_counts[etype] += step
        if etype is _DEPENDS or etype is _BLOCKS:
            dependent, dependency = (source, target) if etype is _DEPENDS else (target, source)
            if self._intents[dependency].status is not _DONE:
                self._bump(self._unmet, dependent, step)
        elif etype is _SUBGOAL:
            if self._intents[source].status not in FINISHED_SUBGOAL:
                self._bump(self._open, target, step)
            self._refresh_held(source)

    def _load_edge(self, source: str, target: str, etype: EdgeType, value: Stored) -> bool:
        """Add an edge while a loader fills the store (nothing is maintained meanwhile);
        return False when the store holds that edge already."""
        ends = self._out[etype].get(source)
        if ends is None:
            ends = self._out[etype][source] = {}
        elif target in ends:
            return False
        ends[target] = value
        starts = self._in[etype].get(target)
        if starts is None:
            starts = self._in[etype][target] = {}
        starts[source] = value
        return True

    def graph_problems(self, *, dependency_cycles: bool = True) -> builtins.list[str]:
        """Return how the stored graph breaks the invariants writes enforce (empty: none).

        Writes cannot break them; a hand-edited or badly merged file can. Queries assume the
        structural ones (both ends stored, one parent, no subgoal cycle), so a loader checks
        those before it serves anything; a dependency cycle breaks no query (``cycles()``
        reports it), so a loader may leave it out. One pass over the edges.
        """
        problems = []
        intents = self._intents
        for etype, by_source in self._out.items():
            if etype is not _CONFLICTS and _well_formed(by_source, self._in[etype], intents):
                continue  # the usual case, checked in bulk; else say where, edge by edge
            for source, ends in by_source.items():
                if source not in intents:
                    problems += [
                        f"{_show(source, t, etype)} names a missing intent {source!r}" for t in ends
                    ]
                for target in ends:
                    if target not in intents:
                        problems.append(
                            f"{_show(source, target, etype)} names a missing intent {target!r}"
                        )
                    if source == target:
                        problems.append(f"{_show(source, target, etype)} joins an intent to itself")
                    elif etype is _CONFLICTS and source > target:
                        problems.append(
                            f"{_show(source, target, etype)} is stored in reverse order"
                        )
        parents = self._out[_SUBGOAL]
        several = max(map(len, parents.values()), default=0) > 1
        for intent_id in sorted(i for i, up in parents.items() if several and len(up) > 1):
            problems.append(f"intent {intent_id!r} has {len(parents[intent_id])} parents")
        cycle = find_parent_cycle(parents, self._in[_SUBGOAL])
        if cycle is not None:
            problems.append(f"the subgoal edges form a cycle: {' -> '.join(cycle + cycle[:1])}")
        if dependency_cycles:
            cycle = find_cycle(self._dependency_lists())
            if cycle is not None:
                problems.append(
                    f"the dependency edges form a cycle: {' -> '.join(cycle + cycle[:1])}"
                )
        return problems

    # --- upkeep ---------------------------------------------------------------------------

    def _bump(self, counts: dict[str, int], intent_id: str, step: int) -> None:
        value = counts.get(intent_id, 0) + step
        if value:
            counts[intent_id] = value
        else:
            counts.pop(intent_id, None)
        self._sync(intent_id)

    def _refresh_held(self, root: str) -> None:
        """Recompute ``held`` for ``root`` (from its parent) and its whole subtree."""
        parent = self._parent_id(root)
        start = parent is not None and (
            parent in self._held or self._intents[parent].status in HOLDING_STATUSES
        )
        layer = [(root, start)]
        steps = len(self._intents)
        while layer:
            nxt: builtins.list[tuple[str, bool]] = []
            for node, held in layer:
                steps -= 1
                if steps < 0:
                    raise StoreCorrupted(f"the subgoal edges below {root!r} form a cycle")
                if held != (node in self._held):
                    if held:
                        self._held.add(node)
                    else:
                        self._held.discard(node)
                    self._sync(node)
                below = held or self._intents[node].status in HOLDING_STATUSES
                nxt.extend((child, below) for child in self._child_ids(node))
            layer = nxt

    def _sync(self, intent_id: str) -> None:
        """Put an intent in the ready index, or take it out, as its state now says."""
        intent = self._intents.get(intent_id)
        ready = (
            intent is not None
            and intent.status in ACTIONABLE_STATUSES
            and intent_id not in self._unmet
            and intent_id not in self._open
            and intent_id not in self._held
        )
        unordered = self._ready_unordered
        if unordered is not None:
            if ready:
                unordered.add(intent_id)
            else:
                unordered.discard(intent_id)
            return
        key = self._ready_key.get(intent_id)
        if ready:
            assert intent is not None
            want = ready_key(intent)
            if key == want:
                return
            if key is not None:
                self._ready.remove(key)
            self._ready.add(want)
            self._ready_key[intent_id] = want
        elif key is not None:
            self._ready.remove(key)
            del self._ready_key[intent_id]

    def _rebuild_index(self) -> None:
        """Compute every maintained value from the data, in one pass (after a bulk load, or
        a change an exception cut short)."""
        self._index_dirty = True
        self._maintaining = True
        self._blocking_version += 1
        for ids in self._status_ids.values():
            ids.clear()
        for adjacency in (self._out, self._in):  # entries an interrupted _pop left empty
            for by_node in adjacency.values():
                if all(by_node.values()):  # the usual case, checked without a loop
                    continue
                for node in [n for n, ends in by_node.items() if not ends]:
                    del by_node[node]
        for counts in (self._unmet, self._open, self._ready_key):
            counts.clear()
        self._leased.clear()
        self._held.clear()
        self._ready.clear()
        self._ready_unordered = set()
        self._edge_counts = dict.fromkeys(EdgeType, 0)
        intents = self._intents
        by_status: dict[IntentStatus, builtins.list[str]] = {s: [] for s in IntentStatus}
        for intent_id, intent in intents.items():
            by_status[intent.status].append(intent_id)
            if intent.lease is not None:
                self._leased.add(intent_id)
        for status, found in by_status.items():
            self._status_ids[status].update(found)
        # Membership in these sets, not an intent's status, per edge: a third of the time.
        done = self._status_ids[_DONE]
        finished = set().union(*(self._status_ids[s] for s in FINISHED_SUBGOAL))
        unmet, opened = self._unmet, self._open
        for etype, by_source in self._out.items():
            self._edge_counts[etype] = sum(map(len, by_source.values()))
            if etype is _DEPENDS:
                for source, ends in by_source.items():
                    waiting = len(ends) - len(done.intersection(ends))
                    if waiting:
                        unmet[source] = unmet.get(source, 0) + waiting
            elif etype is _BLOCKS:
                for source, ends in by_source.items():
                    if source not in done:
                        for target in ends:
                            unmet[target] = unmet.get(target, 0) + 1
            elif etype is _SUBGOAL:
                for source, ends in by_source.items():
                    if source not in finished:
                        for target in ends:
                            opened[target] = opened.get(target, 0) + 1
        for status in HOLDING_STATUSES:  # every subtree under a holding intent is held
            for intent_id in self._status_ids[status]:
                stack = builtins.list(self._child_ids(intent_id))
                while stack:
                    node = stack.pop()
                    if node not in self._held:
                        self._held.add(node)
                        stack.extend(self._child_ids(node))
        ready = builtins.list(
            self._status_ids[IntentStatus.ACTIVE]
            - self._unmet.keys()
            - self._open.keys()
            - self._held
        )
        self._ready_unordered = set(ready)
        self._index_dirty = False

    def _ordered_ready(self) -> SortedList:
        """The ready index in ready order, ordered now if the last rebuild left it unordered."""
        unordered = self._ready_unordered
        if unordered is not None:
            # From scratch each time: an exception half way leaves it to be done again.
            self._ready.clear()
            self._ready_key.clear()
            ids = builtins.list(unordered)
            keys = builtins.list(map(ready_key, map(self._intents.__getitem__, ids)))
            self._ready.update(keys)
            self._ready_key.update(zip(ids, keys, strict=True))
            self._ready_unordered = None
        return self._ready

    def _touched(self) -> int:
        """How many intents some edge touches (every entry in the maps holds an edge)."""
        nodes: set[str] = set()
        for adjacency in (self._out, self._in):
            for by_node in adjacency.values():
                nodes.update(by_node)
        return len(nodes)

    def _ready_ids(self, limit: int | None = None) -> Iterator[str]:
        """The ready intents' ids, in ready order."""
        return (key[2] for key in islice(self._ordered_ready(), limit))

    # --- lookups ----------------------------------------------------------------------------

    def _edge(self, source: str, target: str, etype: EdgeType) -> Edge | None:
        value = self._out[etype].get(source, _NONE).get(target)
        return None if value is None else _materialise(source, target, etype, value)

    def _edge_at(self, source: str, target: str, etype: EdgeType) -> Edge:
        """The stored edge under a key known to be there."""
        return _materialise(source, target, etype, self._out[etype][source][target])

    def _all_edges(self) -> builtins.list[Edge]:
        return [
            _materialise(source, target, etype, value)
            for etype, by_source in self._out.items()
            for source, ends in by_source.items()
            for target, value in ends.items()
        ]

    def _touching(self, intent_id: str) -> builtins.list[Edge]:
        found = []
        for etype in EdgeType:  # no self-loops exist, so no edge is found at both ends
            for target, value in self._out[etype].get(intent_id, _NONE).items():
                found.append(_materialise(intent_id, target, etype, value))
            for source, value in self._in[etype].get(intent_id, _NONE).items():
                found.append(_materialise(source, intent_id, etype, value))
        return found

    def _parent_id(self, intent_id: str) -> str | None:
        return next(iter(self._out[_SUBGOAL].get(intent_id, _NONE)), None)

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
        return builtins.list(self._in[_SUBGOAL].get(intent_id, _NONE))

    def _dependency_ids(self, intent_id: str) -> builtins.list[str]:
        deps = builtins.list(self._out[_DEPENDS].get(intent_id, _NONE))
        deps += self._in[_BLOCKS].get(intent_id, _NONE)
        return deps

    def _dependency_lists(self) -> dict[str, builtins.list[str]]:
        """What each intent waits for (DEPENDS_ON and BLOCKS), for those that wait at all."""
        return {i: deps for i in self._intents if (deps := self._dependency_ids(i))}

    def _dependent_ids(self, intent_id: str) -> builtins.list[str]:
        deps = builtins.list(self._in[_DEPENDS].get(intent_id, _NONE))
        deps += self._out[_BLOCKS].get(intent_id, _NONE)
        return deps

    def _blockers_index(self) -> ReachIndex:
        """The blocking edges' ``ReachIndex`` (dependency → dependents), kept per version."""
        if self._blockers is None or self._blockers[0] != self._blocking_version:
            succ = {t: builtins.list(s) for t, s in self._in[_DEPENDS].items() if s}
            for source, targets in self._out[_BLOCKS].items():
                if targets:
                    succ.setdefault(source, []).extend(targets)
            self._blockers = (self._blocking_version, ReachIndex(succ))
        return self._blockers[1]

    def _ids_with_status(self, statuses: Iterable[IntentStatus]) -> set[str]:
        found: set[str] = set()
        for status in statuses:
            found |= self._status_ids[status]
        return found


def _well_formed(
    by_source: dict[str, dict[str, Stored]],
    by_target: dict[str, dict[str, Stored]],
    intents: dict[str, Intent],
) -> bool:
    """Whether every edge of one type joins two stored intents and no intent to itself,
    from the ends' keys (an edge is in both maps) instead of a lookup per edge."""
    return (
        by_source.keys() <= intents.keys()
        and by_target.keys() <= intents.keys()
        and not any(map(dict.__contains__, by_source.values(), by_source.keys()))
    )


def _pop(adjacency: dict[str, dict[str, Stored]], node: str, other: str) -> Stored | None:
    """Take ``other`` out of ``node``'s entry, and the entry once empty; return the value."""
    ends = adjacency.get(node)
    if ends is None:
        return None
    value = ends.pop(other, None)
    if not ends:
        del adjacency[node]
    return value


def compact(edge: Edge) -> Stored:
    """What the store keeps of ``edge`` (see ``Stored``)."""
    return edge.created_at if edge.weight is None and not edge.metadata else edge


def _materialise(source: str, target: str, etype: EdgeType, value: Stored) -> Edge:
    """The edge a stored value stands for (see ``Stored``)."""
    if type(value) is datetime:
        return edge_of(source, target, etype, value)
    return value  # type: ignore[return-value]


def _show(source: str, target: str, etype: EdgeType) -> str:
    return f"edge {source!r} -{etype.value}-> {target!r}"
