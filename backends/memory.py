"""The in-memory backend: the reference every other backend is compared against.

Thread-safe (one re-entrant lock), every read returns a copy. Writes are recorded as an undo
log (to roll back a failed transaction) and a redo log (which ``JsonFileStore`` persists).
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from intentgraph import _graph
from intentgraph._base import (
    HOLDING_STATUSES,
    StoreBase,
    as_edge_type,
    as_intent,
    canonical_edge,
    check_direction,
    check_limit,
    clone,
    clone_edge,
    dependency_pair,
    next_version,
    pick_direction,
    ready_key,
)
from intentgraph.errors import (
    CycleError,
    EdgeNotFound,
    IntentExists,
    IntentInUse,
    IntentNotFound,
    MissingEndpoint,
    MultipleParents,
    ReadOnlyStore,
)
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
)
from intentgraph.protocol import Direction, IntentFilter, TreeNode

EdgeKey = tuple[str, str, EdgeType]
# Redo operations, in the order they were applied:
#   ("put", Intent) | ("del", id) | ("edge", Edge) | ("unedge", EdgeKey)
RedoOp = tuple[str, Any]


class MemoryStore(StoreBase):
    """Intents and edges held in Python dicts; lost when the process ends."""

    backend_name = "memory"

    def __init__(self, *, url: str = "memory://", read_only: bool = False) -> None:
        super().__init__(url=url)
        self._read_only = read_only
        self._lock = threading.RLock()
        self._intents: dict[str, Intent] = {}
        self._out: dict[str, dict[tuple[str, EdgeType], Edge]] = {}
        self._in: dict[str, dict[tuple[str, EdgeType], Edge]] = {}
        self._depth = 0
        self._undo: builtins.list[tuple[str, Any, Any]] = []
        self._redo: builtins.list[RedoOp] = []

    # --- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True

    def compact(self) -> None:
        """Nothing to give back in memory; present so every store has ``compact()``."""
        self._check_open()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._check_open()
        with self._lock:
            mark = (len(self._undo), len(self._redo))
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._rollback_to(*mark)
                raise
            self._depth -= 1
            if self._depth == 0:
                try:
                    if self._redo:
                        self._commit(self._redo)
                except BaseException:
                    self._rollback_to(0, 0)
                    raise
                finally:
                    self._undo.clear()
                    self._redo.clear()

    def _commit(self, ops: builtins.list[RedoOp]) -> None:
        """Make a committed transaction durable; memory has nothing to do."""

    def _rollback_to(self, undo_mark: int, redo_mark: int) -> None:
        while len(self._undo) > undo_mark:
            kind, key, previous = self._undo.pop()
            if kind == "intent":
                if previous is None:
                    self._intents.pop(key, None)
                else:
                    self._intents[key] = previous
            else:
                self._restore_edge(key, previous)
        del self._redo[redo_mark:]

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self.transaction():
            yield

    # --- raw mutations (logged) -------------------------------------------------------

    def _set_intent(self, intent: Intent) -> None:
        self._undo.append(("intent", intent.id, self._intents.get(intent.id)))
        self._intents[intent.id] = intent
        self._redo.append(("put", intent))

    def _drop_intent(self, intent_id: str) -> None:
        self._undo.append(("intent", intent_id, self._intents.pop(intent_id)))
        self._redo.append(("del", intent_id))

    def _set_edge(self, edge: Edge) -> None:
        key = edge.key
        self._undo.append(("edge", key, self._out.get(edge.source, {}).get(key[1:])))
        self._restore_edge(key, edge)
        self._redo.append(("edge", edge))

    def _drop_edge(self, key: EdgeKey) -> None:
        previous = self._out[key[0]][key[1:]]
        self._undo.append(("edge", key, previous))
        self._restore_edge(key, None)
        self._redo.append(("unedge", key))

    def _restore_edge(self, key: EdgeKey, edge: Edge | None) -> None:
        source, target, etype = key
        if edge is None:
            self._out.get(source, {}).pop((target, etype), None)
            self._in.get(target, {}).pop((source, etype), None)
        else:
            self._out.setdefault(source, {})[(target, etype)] = edge
            self._in.setdefault(target, {})[(source, etype)] = edge

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
            intent = self._intents.get(intent_id)
            return None if intent is None else clone(intent)

    def update(self, intent: Intent, *, expected_version: int | None = None) -> Intent:
        new = as_intent(intent)
        with self._write():
            stored = self._intents.get(new.id)
            if stored is None:
                raise IntentNotFound(new.id)
            new = next_version(stored, new, expected_version)
            self._set_intent(new)
            return clone(new)

    def delete(self, intent_id: str, *, detach: bool = True) -> None:
        with self._write():
            if intent_id not in self._intents:
                raise IntentNotFound(intent_id)
            touching = self._touching(intent_id)
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
        existing = self._out.get(edge.source, {}).get((edge.target, edge.type))
        if existing is not None:
            edge = edge.model_copy(update={"created_at": existing.created_at})
        else:
            self._check_invariants(edge)
        self._set_edge(edge)
        return edge

    def _check_invariants(self, edge: Edge) -> None:
        if edge.type is EdgeType.IS_SUBGOAL_OF:
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
        if etype.symmetric and source > target:
            source, target = target, source
        with self._write():
            if (target, etype) not in self._out.get(source, {}):
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
                found = [e for m in self._out.values() for e in m.values()]
            else:
                self._require(intent_id)
                found = pick_direction(self._touching(intent_id), intent_id, direction)
            if etype is not None:
                found = [e for e in found if e.type is etype]
            found.sort(key=lambda e: e.key)
            return [clone_edge(e) for e in found]

    def _touching(self, intent_id: str) -> builtins.list[Edge]:
        out = builtins.list(self._out.get(intent_id, {}).values())
        inn = [e for e in self._in.get(intent_id, {}).values() if e.source != intent_id]
        return out + inn

    # --- graph helpers ----------------------------------------------------------------

    def _require(self, intent_id: str) -> Intent:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise IntentNotFound(intent_id)
        return intent

    def _parent_id(self, intent_id: str) -> str | None:
        for target, etype in self._out.get(intent_id, {}):
            if etype is EdgeType.IS_SUBGOAL_OF:
                return target
        return None

    def _parent_ids(self, intent_id: str) -> builtins.list[str]:
        parent = self._parent_id(intent_id)
        return [] if parent is None else [parent]

    def _ancestor_ids(self, intent_id: str) -> Iterator[str]:
        """Yield the parent, its parent, and so on up to the root."""
        parent = self._parent_id(intent_id)
        while parent is not None:
            yield parent
            parent = self._parent_id(parent)

    def _child_ids(self, intent_id: str) -> builtins.list[str]:
        return [s for s, t in self._in.get(intent_id, {}) if t is EdgeType.IS_SUBGOAL_OF]

    def _dependency_ids(self, intent_id: str) -> builtins.list[str]:
        deps = [t for t, et in self._out.get(intent_id, {}) if et is EdgeType.DEPENDS_ON]
        deps += [s for s, et in self._in.get(intent_id, {}) if et is EdgeType.BLOCKS]
        return deps

    def _dependent_ids(self, intent_id: str) -> builtins.list[str]:
        deps = [s for s, et in self._in.get(intent_id, {}) if et is EdgeType.DEPENDS_ON]
        deps += [t for t, et in self._out.get(intent_id, {}) if et is EdgeType.BLOCKS]
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

    # --- graph queries ----------------------------------------------------------------

    def children(self, intent_id: str) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            return self._copies(sorted(set(self._child_ids(intent_id))))

    def subtree(self, intent_id: str, *, max_depth: int | None = None) -> builtins.list[TreeNode]:
        self._check_open()
        with self._lock:
            root = self._require(intent_id)
            nodes = [TreeNode(intent=clone(root), depth=0, parent_id=None)]
            layer = [intent_id]
            depth = 0
            while layer and (max_depth is None or depth < max_depth):
                depth += 1
                pairs = sorted((c, p) for p in layer for c in self._child_ids(p))
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
        return all(
            self._intents[a].status not in HOLDING_STATUSES for a in self._ancestor_ids(intent.id)
        )

    @classmethod
    def from_url(cls, url: Any) -> MemoryStore:
        """Open from a ``memory://`` URL (each call is a new, empty store)."""
        from intentgraph.factory import check_query

        check_query(url, set())
        return cls(url="memory://")
