"""The shared layer every backend builds on: input checks, and the queries that are written
once against the backend's primitives (``plan``, ``context``, ``stats``, ``cycles``...).

A backend subclasses ``StoreBase``, implements the abstract primitives and may override any
query for speed, as long as it gives the same answer.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar

from intentgraph import _graph
from intentgraph._transactions import Level, Transaction, TransactionalStore, gc_paused
from intentgraph.errors import (
    ClaimConflict,
    CycleError,
    IntentExists,
    IntentNotFound,
    InvalidFilter,
    InvalidIntent,
    InvalidTransition,
    ReadOnlyStore,
    SelfLoop,
    StoreClosed,
    StoreForked,
    VersionConflict,
)
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    ID_PATTERN,
    JSON_FIELDS,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    can_transition,
    check_json,
    has_lone_surrogate,
    utcnow,
)
from intentgraph.protocol import (
    BlockedIntent,
    Direction,
    GraphStats,
    Health,
    IntentContext,
    IntentFilter,
    IntentStorage,
    TreeNode,
)

HOLDING_STATUSES = frozenset({IntentStatus.SUSPENDED, IntentStatus.FAILED, IntentStatus.ARCHIVED})
"""An ancestor in one of these statuses keeps its whole subtree from being ready."""


def ready_key(intent: Intent) -> tuple[int, Any, str]:
    """Sort key of ``ready``/``blocked``/``plan``: priority (highest first), age, id."""
    return (-intent.priority, intent.created_at, intent.id)


_E = TypeVar("_E", IntentStatus, EdgeType)


def _member(kind: type[_E], value: Any, label: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        msg = f"unknown {label} {value!r}; one of {known}"
        raise InvalidIntent(label, [{"loc": (), "msg": msg}]) from None


def as_status(value: Any) -> IntentStatus:
    """Coerce a status name; raise ``InvalidIntent`` for an unknown one."""
    return _member(IntentStatus, value, "status")


def as_edge_type(value: Any) -> EdgeType:
    """Coerce an edge type name; raise ``InvalidIntent`` for an unknown one."""
    return _member(EdgeType, value, "edge type")


def check_direction(direction: Any) -> None:
    """Raise ``InvalidFilter`` unless ``direction`` is ``out``, ``in`` or ``both``."""
    if direction not in ("out", "in", "both"):
        raise InvalidFilter(f"direction must be 'out', 'in' or 'both', not {direction!r}")


def check_limit(limit: Any) -> None:
    """Raise ``InvalidFilter`` unless ``limit`` is None or a non-negative int."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise InvalidFilter(f"limit must be a non-negative integer or None, not {limit!r}")


def dependency_pair(edge: Edge) -> tuple[str, str] | None:
    """Return (dependent, dependency) for a blocking edge, None for any other type."""
    if edge.type is EdgeType.DEPENDS_ON:
        return (edge.source, edge.target)
    if edge.type is EdgeType.BLOCKS:
        return (edge.target, edge.source)
    return None


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def with_version(intent: Intent, version: int) -> Intent:
    """Return a shallow copy of a valid intent with another ``version`` (no re-validation)."""
    copy = Intent.__new__(Intent)
    fields = intent.__dict__.copy()
    fields["version"] = version
    _set = object.__setattr__
    _set(copy, "__dict__", fields)
    _set(copy, "__pydantic_fields_set__", intent.__pydantic_fields_set__.copy())
    _set(copy, "__pydantic_extra__", None)
    _set(copy, "__pydantic_private__", None)
    return copy


def clone(intent: Intent) -> Intent:
    """Return an independent copy of a stored (already valid) intent.

    Six times faster than ``model_copy(deep=True)``: only the JSON containers are copied.
    """
    copy = intent.model_copy()
    fields = copy.__dict__
    for name in JSON_FIELDS:
        fields[name] = _copy_json(fields[name])  # empty containers too: they can be filled
    return copy


def clone_edge(edge: Edge) -> Edge:
    """Return an independent copy of a stored edge."""
    copy = edge.model_copy()
    copy.__dict__["metadata"] = _copy_json(edge.metadata)
    return copy


_ID = re.compile(ID_PATTERN)


def storable_id(value: Any) -> bool:
    """Return True when ``value`` could be a stored intent's id (anything else is simply not
    found, before it reaches a driver that would fail on it in its own way)."""
    return type(value) is str and _ID.match(value) is not None and not has_lone_surrogate(value)


_MIN_INT64, _MAX_INT64 = -(2**63), 2**63 - 1


def _plausible(intent: Intent) -> bool:
    """Cheap re-check of the scalar fields (``model_construct`` skips validation).

    Exact types only: anything unusual (a str subclass, a non-UTC zone) goes through full
    validation instead, which accepts or refuses it precisely.
    """
    f = intent.__dict__
    name, goal, request, session = f["name"], f["goal"], f["original_request"], f["session_id"]
    priority, version, created, updated = (
        f["priority"],
        f["version"],
        f["created_at"],
        f["updated_at"],
    )
    return (
        type(f["id"]) is str
        and _ID.match(f["id"]) is not None
        and type(name) is str
        and 0 < len(name) <= 500
        and not name.isspace()
        and type(goal) is str
        and len(goal) <= 100_000
        and type(f["status"]) is IntentStatus
        and type(priority) is int
        and _MIN_INT64 <= priority <= _MAX_INT64
        and type(version) is int
        and version >= 0
        and (request is None or type(request) is str)
        and (session is None or (type(session) is str and len(session) <= 200))
        and type(f["constraints"]) is dict
        and type(f["preferences"]) is dict
        and type(f["metadata"]) is dict
        and type(created) is datetime
        and created.tzinfo is UTC
        and type(updated) is datetime
        and updated.tzinfo is UTC
    )


def as_intent(value: Any) -> Intent:
    """Accept an ``Intent`` or a mapping of its fields; return a valid intent.

    A valid ``Intent`` comes back as it is: callers copy what they keep. It was validated
    when built and on every assignment; only its JSON containers can have changed in place
    since (or everything, if it was made with ``model_construct``), so a cheap re-check
    runs first and full validation only when it fails: a third of the cost of validating
    every intent.
    """
    if isinstance(value, Intent):
        if not _plausible(value):
            return Intent.model_validate(dict(value.__dict__))  # raises the precise error
        fields = value.__dict__
        for name in JSON_FIELDS:
            if fields[name]:
                try:
                    check_json(fields[name], name)
                except ValueError as exc:
                    msg = str(exc)
                    raise InvalidIntent("intent", [{"loc": (name,), "msg": msg}]) from None
        return value
    if isinstance(value, dict):
        return Intent.model_validate(value)
    raise InvalidIntent("intent", [{"loc": (), "msg": f"expected an Intent, got {type(value)}"}])


def new_intent(value: Any) -> Intent:
    """Check an intent about to be stored for the first time; version 0 becomes 1.

    The result is a shallow copy: it may share JSON containers with ``value``, so a backend
    that keeps the object itself must ``clone`` it.
    """
    intent = as_intent(value)
    return with_version(intent, intent.version or 1)


def canonical_edge(edge: Edge | dict[str, Any]) -> Edge:
    """Return ``edge`` re-validated, with a symmetric edge's ends in sorted order."""
    if isinstance(edge, Edge):
        edge = Edge.model_validate(edge.__dict__)
    elif isinstance(edge, dict):
        edge = Edge.model_validate(edge)
    else:
        msg = f"expected an Edge, got {type(edge).__name__}"
        raise InvalidIntent("edge", [{"loc": (), "msg": msg}])
    if edge.source == edge.target:
        raise SelfLoop(edge.source, edge.type.value)
    if edge.type.symmetric and edge.source > edge.target:
        edge = edge.model_copy(update={"source": edge.target, "target": edge.source})
    return edge


def orient(edge: Edge, intent_id: str, direction: Direction) -> Edge:
    """Orient a stored symmetric edge from (``out``/``both``) or towards (``in``) an intent."""
    if not edge.type.symmetric:
        return edge
    want_source = edge.source == intent_id if direction != "in" else edge.target == intent_id
    if want_source:
        return edge
    return edge.model_copy(update={"source": edge.target, "target": edge.source})


def pick_direction(
    touching: Iterable[Edge], intent_id: str, direction: Direction
) -> builtins.list[Edge]:
    """Keep the edges touching an intent that go ``direction``, oriented and sorted."""
    found = []
    for edge in touching:
        is_out = edge.source == intent_id or edge.type.symmetric
        is_in = edge.target == intent_id or edge.type.symmetric
        if direction == "both" or (is_out if direction == "out" else is_in):
            found.append(orient(edge, intent_id, direction))
    found.sort(key=lambda e: e.key)
    return found


def next_version(stored: Intent, new: Intent, expected_version: int | None) -> Intent:
    """Check an update against the stored intent and return what to store."""
    if expected_version is not None and expected_version != stored.version:
        raise VersionConflict(stored.id, expected_version, stored.version)
    if not can_transition(stored.status, new.status):
        raise InvalidTransition(stored.id, stored.status.value, new.status.value)
    data = dict(new.__dict__)  # not model_dump(): see intentgraph/_codec.py
    data["created_at"] = stored.created_at
    data["updated_at"] = max(utcnow(), stored.updated_at)
    data["version"] = stored.version + 1
    return Intent.model_validate(data)


log = logging.getLogger("intentgraph")

_OPEN_STORES: weakref.WeakSet[StoreBase] = weakref.WeakSet()
_fork_hook_installed = False


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._after_fork_in_child()


class StoreBase(TransactionalStore, ABC):
    """Common behaviour of every ``IntentStorage`` backend."""

    backend_name = "base"
    fork_safe = True
    """Whether a process forked from the opener may go on using this store object."""

    def __init__(self, *, url: str, read_only: bool = False) -> None:
        global _fork_hook_installed
        self._url = url
        self._read_only = read_only
        self._closed = False
        self._degraded_reason: str | None = None
        self._lock = threading.RLock()
        self._levels: builtins.list[Level] = []
        self._pid = os.getpid()
        if not _fork_hook_installed:  # lazily: importing the package changes nothing
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook_installed = True
        _OPEN_STORES.add(self)

    # --- identity and lifecycle -------------------------------------------------------

    @property
    def backend(self) -> str:
        return self.backend_name

    @property
    def url(self) -> str:
        return self._url

    @property
    def degraded(self) -> bool:
        return self._degraded_reason is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def mark_degraded(self, reason: str) -> None:
        """Record that this store stands in for a primary that could not be reached."""
        self._degraded_reason = reason

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the {self.backend_name} store {self._url} is closed")
        if self._pid != os.getpid() and not self.fork_safe:
            raise StoreForked(self._url, self._pid)
        if self._levels:
            self._heal_if_abandoned()

    def _write(self) -> Transaction:
        """Return a transaction for a write (a savepoint inside a caller's transaction)."""
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        return self.transaction()

    def close(self) -> None:
        if self._closed:
            return
        if self._pid != os.getpid():
            # A forked child shares the parent's files: touch nothing, just let go.
            self._closed = True
            self._close_forked()
            return
        with self._lock:
            if self._closed:
                return
            self._require_no_transaction("close")
            try:
                self._close()
            finally:
                self._closed = True
                _OPEN_STORES.discard(self)

    def _close(self) -> None:
        """Release the backend's resources; the lock is held and no transaction is open."""

    def _close_forked(self) -> None:
        """Let go of resources inherited through fork() without touching shared files."""

    def _after_fork_in_child(self) -> None:
        """Runs in a child right after fork(): only the forking thread exists there."""
        me = threading.get_ident()
        if not any(level.thread == me for level in self._levels):
            # Another thread's transaction was open at fork time; it never ends here.
            self._lock = threading.RLock()
            for level in reversed(self._levels):
                level.locked = False
                if not level.committed:
                    self._tx_rollback(level)
            self._levels.clear()

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("degraded" if self.degraded else "open")
        return f"<{type(self).__name__} {self._url} {state}>"

    def health(self) -> Health:
        try:
            self._check_open()
            count = self.count()
            details = self._health_details()
        except Exception as exc:  # health reports failures, it does not raise them
            return Health(
                ok=False,
                backend=self.backend_name,
                url=self._url,
                degraded=self.degraded,
                reason=self._degraded_reason or f"{type(exc).__name__}: {exc}",
            )
        return Health(
            ok=True,
            backend=self.backend_name,
            url=self._url,
            degraded=self.degraded,
            reason=self._degraded_reason,
            intents=count,
            details=details,
        )

    def _health_details(self) -> dict[str, Any]:
        return {}

    @abstractmethod
    def compact(self) -> None: ...

    # --- primitives each backend provides ---------------------------------------------

    @abstractmethod
    def _insert_many(self, batch: builtins.list[Intent]) -> None:
        """Store checked new intents with distinct ids in one transaction.

        Raises:
            IntentExists: an id is already stored (and nothing was written).
        """

    @abstractmethod
    def find(self, intent_id: str) -> Intent | None: ...

    @abstractmethod
    def update(self, intent: Intent, *, expected_version: int | None = None) -> Intent: ...

    @abstractmethod
    def delete(self, intent_id: str, *, detach: bool = True) -> None: ...

    @abstractmethod
    def _select(self, flt: IntentFilter) -> builtins.list[Intent]: ...

    @abstractmethod
    def _count(self, flt: IntentFilter) -> int: ...

    @abstractmethod
    def add_edges(self, edges: Iterable[Edge]) -> builtins.list[Edge]: ...

    @abstractmethod
    def remove_edge(self, source: str, target: str, type: EdgeType) -> None: ...

    @abstractmethod
    def edges(
        self,
        intent_id: str | None = None,
        *,
        type: EdgeType | None = None,
        direction: Direction = "both",
    ) -> builtins.list[Edge]: ...

    @abstractmethod
    def children(self, intent_id: str) -> builtins.list[Intent]: ...

    @abstractmethod
    def subtree(
        self, intent_id: str, *, max_depth: int | None = None
    ) -> builtins.list[TreeNode]: ...

    @abstractmethod
    def ancestors(self, intent_id: str) -> builtins.list[Intent]: ...

    @abstractmethod
    def dependencies(
        self, intent_id: str, *, transitive: bool = False
    ) -> builtins.list[Intent]: ...

    @abstractmethod
    def dependents(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]: ...

    @abstractmethod
    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]: ...

    @abstractmethod
    def _dependency_map(self) -> dict[str, builtins.list[str]]:
        """Return {dependent: [dependencies]} over every blocking edge."""

    # --- built on the primitives ------------------------------------------------------

    def put(self, intent: Intent) -> Intent:
        return self.put_many([intent])[0]

    def put_many(self, intents: Iterable[Intent]) -> builtins.list[Intent]:
        items = builtins.list(intents)
        with gc_paused(len(items)):
            batch = [new_intent(i) for i in items]
            check_unique_ids(batch)
            self._insert_many(batch)
        return batch

    def get(self, intent_id: str) -> Intent:
        found = self.find(intent_id)
        if found is None:
            raise IntentNotFound(intent_id)
        return found

    def exists(self, intent_id: str) -> bool:
        return self.find(intent_id) is not None

    def get_many(self, intent_ids: Iterable[str]) -> builtins.list[Intent]:
        if isinstance(intent_ids, str):
            raise InvalidFilter("get_many takes an iterable of ids, not one string")
        wanted = builtins.list(intent_ids)
        query = tuple({i for i in wanted if storable_id(i)})  # the others are simply missing
        found = {i.id: i for i in self._select(IntentFilter(ids=query))}
        result = []
        seen: set[str] = set()
        for intent_id in wanted:
            if intent_id not in found:
                raise IntentNotFound(intent_id)
            # _select already returned copies; only a repeated id needs another one
            result.append(clone(found[intent_id]) if intent_id in seen else found[intent_id])
            seen.add(intent_id)
        return result

    def list(self, filter: IntentFilter | None = None, **criteria: Any) -> builtins.list[Intent]:
        self._check_open()
        return self._select(IntentFilter.of(filter, **criteria))

    def count(self, filter: IntentFilter | None = None, **criteria: Any) -> int:
        self._check_open()
        return self._count(IntentFilter.of(filter, **criteria))

    def set_status(
        self, intent_id: str, status: IntentStatus, *, expected_version: int | None = None
    ) -> Intent:
        status = as_status(status)
        with self.transaction():
            current = self.get(intent_id)
            changed = current.model_copy(update={"status": status})
            return self.update(changed, expected_version=expected_version)

    def claim(
        self,
        intent_id: str,
        *,
        expected_status: IntentStatus | Sequence[IntentStatus] = IntentStatus.ACTIVE,
        status: IntentStatus = IntentStatus.EXECUTING,
    ) -> Intent:
        expected: tuple[IntentStatus, ...]
        if isinstance(expected_status, str):
            expected = (as_status(expected_status),)
        else:
            expected = tuple(as_status(s) for s in expected_status)
        status = as_status(status)
        with self.transaction():
            current = self.get(intent_id)
            if current.status not in expected:
                raise ClaimConflict(intent_id, [s.value for s in expected], current.status.value)
            changed = current.model_copy(update={"status": status})
            return self.update(changed, expected_version=current.version)

    def add_edge(
        self,
        source: str,
        target: str,
        type: EdgeType,
        *,
        weight: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Edge:
        edge = Edge(source=source, target=target, type=type, weight=weight, metadata=metadata or {})
        return self.add_edges([edge])[0]

    def parent(self, intent_id: str) -> Intent | None:
        out = self.edges(intent_id, type=EdgeType.IS_SUBGOAL_OF, direction="out")
        return self.get(out[0].target) if out else None

    def conflicts(self, intent_id: str) -> builtins.list[Intent]:
        edges = self.edges(intent_id, type=EdgeType.CONFLICTS_WITH, direction="out")
        return self.get_many(sorted({e.target for e in edges}))

    def blocked(self) -> builtins.list[BlockedIntent]:
        ready_ids = {i.id for i in self.ready()}
        result = []
        for intent in self._select(IntentFilter(status=tuple(ACTIONABLE_STATUSES))):
            if intent.id in ready_ids:
                continue
            deps = [d for d in self.dependencies(intent.id) if d.status != IntentStatus.COMPLETED]
            held = [a for a in self.ancestors(intent.id) if a.status in HOLDING_STATUSES]
            result.append(BlockedIntent(intent=intent, blocked_by=deps, held_by=held))
        result.sort(key=lambda b: ready_key(b.intent))
        return result

    def cycles(self) -> builtins.list[builtins.list[str]]:
        self._check_open()
        return _graph.elementary_cycles(self._dependency_map())

    def plan(self, root_id: str) -> builtins.list[Intent]:
        tree = self.subtree(root_id)
        nodes = {n.intent.id: n.intent for n in tree}
        deps = self._dependency_map()
        # Order over the subtree plus every intent its dependencies lead to, so that a
        # path through an outside intent still orders the subtree's own intents.
        reached = set(nodes)
        stack = builtins.list(nodes)
        while stack:
            for dep in deps.get(stack.pop(), ()):
                if dep not in reached:
                    reached.add(dep)
                    stack.append(dep)
        order_edges = [(dep, n) for n in reached for dep in deps.get(n, ())]
        order_edges += [(n.intent.id, n.parent_id) for n in tree if n.parent_id is not None]
        outside = self.get_many(sorted(reached - nodes.keys()))
        keys = {i.id: ready_key(i) for i in [*nodes.values(), *outside]}
        try:
            order = _graph.topological_order(keys, order_edges)
        except _graph._Cycle as exc:
            raise CycleError(exc.cycle, "plan") from None
        return [nodes[i] for i in order if i in nodes]

    def context(self, intent_id: str, *, hops: int = 2, max_nodes: int = 50) -> IntentContext:
        focus = self.get(intent_id)
        if hops <= 0:
            return IntentContext(focus=focus)
        budget = max(max_nodes - 1, 0)
        truncated = False
        sections: dict[str, builtins.list[Intent]] = {}
        candidates = {
            "ancestors": self.ancestors(intent_id)[:hops],
            "dependencies": self._within(self.dependencies, intent_id, hops),
            "children": self.children(intent_id),
            "dependents": self._within(self.dependents, intent_id, hops),
            "conflicts": self.conflicts(intent_id),
        }
        seen = {intent_id}
        for name in ("ancestors", "dependencies", "children", "dependents", "conflicts"):
            kept = []
            for intent in candidates[name]:
                if intent.id in seen:
                    continue
                if budget == 0:
                    truncated = True
                    break
                seen.add(intent.id)
                kept.append(intent)
                budget -= 1
            sections[name] = kept
        return IntentContext(focus=focus, truncated=truncated, **sections)

    @staticmethod
    def _within(query: Any, intent_id: str, hops: int) -> builtins.list[Intent]:
        """Breadth-first over a direct query, ``hops`` layers deep, nearest first."""
        found: builtins.list[Intent] = []
        seen = {intent_id}
        layer = [intent_id]
        for _ in range(hops):
            nxt: dict[str, Intent] = {}
            for node in layer:
                for intent in query(node):
                    if intent.id not in seen:
                        nxt[intent.id] = intent
            if not nxt:
                break
            seen.update(nxt)
            layer = sorted(nxt)
            found.extend(nxt[i] for i in layer)
        return found

    def stats(self) -> GraphStats:
        self._check_open()
        by_status = {s.value: 0 for s in IntentStatus}
        unfinished: set[str] = set()
        total = 0
        for intent in self._select(IntentFilter()):
            total += 1
            by_status[intent.status.value] += 1
            if intent.status not in (IntentStatus.COMPLETED, IntentStatus.ARCHIVED):
                unfinished.add(intent.id)
        by_type = {t.value: 0 for t in EdgeType}
        touched: set[str] = set()
        all_edges = self.edges()
        for edge in all_edges:
            by_type[edge.type.value] += 1
            touched.add(edge.source)
            touched.add(edge.target)
        dependents_of: dict[str, builtins.list[str]] = {}
        for dependent, deps in self._dependency_map().items():
            for dep in deps:
                dependents_of.setdefault(dep, []).append(dependent)
        counts = _graph.reach_counts(
            lambda n: dependents_of.get(n, ()),
            (n for n in dependents_of if n in unfinished),
        )
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        return GraphStats(
            intents=total,
            by_status=by_status,
            edges=len(all_edges),
            by_edge_type=by_type,
            top_blockers=top,
            orphans=total - len(touched),
        )


def check_unique_ids(intents: Sequence[Intent]) -> None:
    """Raise ``IntentExists`` when an id repeats within one batch."""
    seen: set[str] = set()
    for intent in intents:
        if intent.id in seen:
            raise IntentExists(intent.id)
        seen.add(intent.id)


if TYPE_CHECKING:  # mypy proves every backend built on StoreBase meets the protocol

    def _meets_protocol(store: StoreBase) -> IntentStorage:
        return store
