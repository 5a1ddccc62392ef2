"""The shared layer every backend builds on: input checks, and the queries that are written
once against the backend's primitives (``plan``, ``context``, ``stats``, ``cycles``...).

A backend subclasses ``StoreBase``, implements the abstract primitives and may override any
query for speed, as long as it gives the same answer.
"""

from __future__ import annotations

import builtins
import logging
import math
import os
import re
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Container, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from intentgraph._codec import SHARED_EDGE_FIELDS, SHARED_INTENT_FIELDS, assemble
from intentgraph._queries import GraphQueries
from intentgraph._transactions import Level, Transaction, TransactionalStore, gc_paused
from intentgraph._whole import WholeStore
from intentgraph._workloop import WorkLoop
from intentgraph.errors import (
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
from intentgraph.filters import Direction, IntentFilter
from intentgraph.models import (
    ID_PATTERN,
    JSON_FIELDS,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    Lease,
    as_status,
    can_transition,
    check_json,
    has_lone_surrogate,
    utcnow,
)
from intentgraph.protocol import IntentStorage
from intentgraph.results import ChangeBatch, Health, TreeNode


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
    # Stored JSON holds exact dicts and lists only (check_json); the containers are copied
    # in C and only nested ones visited: most metadata is one level deep.
    kind = type(value)
    if kind is dict:
        copy = value.copy()
        for key, item in copy.items():
            if type(item) is dict or type(item) is list:
                copy[key] = _copy_json(item)
        return copy
    if kind is list:
        copy = value.copy()
        for at, item in enumerate(copy):
            if type(item) is dict or type(item) is list:
                copy[at] = _copy_json(item)
        return copy
    return value


def with_version(intent: Intent, version: int) -> Intent:
    """Return a shallow copy of a valid intent with another ``version`` (no re-validation)."""
    fields = intent.__dict__.copy()
    fields["version"] = version
    return assemble(Intent, fields, intent.__pydantic_fields_set__.copy())  # type: ignore[no-any-return]


def clone(intent: Intent) -> Intent:
    """Return an independent copy of a stored (already valid) intent.

    Six times faster than ``model_copy(deep=True)``: only the JSON containers are copied.
    """
    fields = intent.__dict__.copy()
    for name in JSON_FIELDS:
        fields[name] = _copy_json(fields[name])  # empty containers too: they can be filled
    # What model_copy does, without its generic path: no private or extra fields here. A
    # copy handed out gets its own set of field names (never the stores' shared one).
    return assemble(Intent, fields, set(intent.__pydantic_fields_set__))  # type: ignore[no-any-return]


def clone_edge(edge: Edge) -> Edge:
    """Return an independent copy of a stored edge."""
    copy = edge.model_copy()
    copy.__dict__["metadata"] = _copy_json(edge.metadata)
    return copy


_ID = re.compile(ID_PATTERN)


def storable_id(value: Any) -> bool:
    """Return True when ``value`` could be a stored intent's id (anything else is simply not
    found, before it reaches a driver that would fail on it in its own way)."""
    return type(value) is str and _ID.fullmatch(value) is not None and not has_lone_surrogate(value)


_MIN_INT64, _MAX_INT64 = -(2**63), 2**63 - 1


def _plausible(intent: Intent, *, text_checked: bool = False) -> bool:
    """Cheap re-check of the scalar fields (``model_construct`` skips validation).

    Exact types only: anything unusual (a str subclass, a non-UTC zone) goes through full
    validation instead, which accepts or refuses it precisely. ``text_checked``: the
    strings come from a JSON parser that refuses lone surrogates (pydantic_core's).
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
        and _ID.fullmatch(f["id"]) is not None
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
        and (f["lease"] is None or type(f["lease"]) is Lease)
        and type(f["attempts"]) is int
        and f["attempts"] >= 0
        and (f["reason"] is None or (type(f["reason"]) is str and len(f["reason"]) <= 10_000))
        and (
            text_checked
            or not any(
                type(t) is str and has_lone_surrogate(t)
                for t in (f["id"], name, goal, request, session, f["reason"])
            )
        )
        and type(f["constraints"]) is dict
        and type(f["preferences"]) is dict
        and type(f["metadata"]) is dict
        and type(created) is datetime
        and created.tzinfo is UTC
        and type(updated) is datetime
        and updated.tzinfo is UTC
    )


def as_intent(value: Any, *, text_checked: bool = False) -> Intent:
    """Accept an ``Intent`` or a mapping of its fields; return a valid intent.

    A valid ``Intent`` comes back as it is: callers copy what they keep. It was validated
    when built and on every assignment; only its JSON containers can have changed in place
    since (or everything, if it was made with ``model_construct``), so a cheap re-check
    runs first and full validation only when it fails: a third of the cost of validating
    every intent.
    """
    if isinstance(value, Intent):
        if not _plausible(value, text_checked=text_checked):
            return Intent.model_validate(dict(value.__dict__))  # raises the precise error
        problem = _json_problem(value.__dict__, text_checked=text_checked)
        if problem is not None:
            name, msg = problem
            raise InvalidIntent("intent", [{"loc": (name,), "msg": msg}])
        return value
    if isinstance(value, dict):
        return Intent.model_validate(value)
    raise InvalidIntent("intent", [{"loc": (), "msg": f"expected an Intent, got {type(value)}"}])


_SCALARS = frozenset({str, int, bool, type(None)})


def _flat(value: Any) -> bool:
    """Whether parsed JSON text (string keys, no lone surrogates) is a scalar or one level
    of scalars, which ``check_json`` would accept (the usual metadata): the check is then
    one pass. A float is not flat here: ``check_json`` checks that it is finite."""
    kind = type(value)
    if kind is dict:
        return _SCALARS.issuperset(map(type, value.values()))  # a loop in C: half of all()
    if kind is list:
        return _SCALARS.issuperset(map(type, value))
    return kind in _SCALARS  # success_criteria may be any JSON value


def _json_problem(fields: dict[str, Any], *, text_checked: bool) -> tuple[str, str] | None:
    """The first JSON field of an intent's fields that ``check_json`` refuses, and why
    (None: all hold JSON every store can hold). ``text_checked``: as ``as_intent``."""
    for name in JSON_FIELDS:
        value = fields[name]
        if value and not (text_checked and _flat(value)):
            try:
                check_json(value, name)
            except ValueError as exc:
                return name, str(exc)
    return None


def check_stored_json(fields: dict[str, Any]) -> bool:
    """Whether the JSON fields of an intent record parsed from text by pydantic_core (no
    lone surrogates) hold JSON every store can hold (``as_intent``'s check, as a verdict)."""
    return _json_problem(fields, text_checked=True) is None


def _plausible_edge(edge: Edge, known: Container[str] = ()) -> bool:
    """Cheap re-check of an edge's scalar fields (see ``_plausible``); ids in ``known``
    were checked already (``storable_id``)."""
    f = edge.__dict__
    weight, created = f["weight"], f["created_at"]
    source, target = f["source"], f["target"]
    return (
        ((type(source) is str and source in known) or storable_id(source))
        and ((type(target) is str and target in known) or storable_id(target))
        and type(f["type"]) is EdgeType
        and (weight is None or (type(weight) is float and math.isfinite(weight)))
        and type(f["metadata"]) is dict
        and type(created) is datetime
        and created.tzinfo is UTC
    )


def as_edge(value: Edge, known: Container[str] = ()) -> Edge:
    """Return a valid edge: ``value`` itself when a cheap check passes (as ``as_intent``).
    ``known``: ids already found storable, not checked again."""
    if not _plausible_edge(value, known):
        return Edge.model_validate(dict(value.__dict__))  # raises the precise error
    if value.metadata:
        try:
            check_json(value.metadata, "metadata")
        except ValueError as exc:
            raise InvalidIntent("edge", [{"loc": ("metadata",), "msg": str(exc)}]) from None
    return value


def kept(intent: Intent) -> Intent:
    """Give an intent a store keeps the shared set of field names (see ``_codec``)."""
    object.__setattr__(intent, "__pydantic_fields_set__", SHARED_INTENT_FIELDS)
    return intent


def kept_edge(edge: Edge) -> Edge:
    """Give an edge a store keeps the shared set of field names (see ``_codec``)."""
    object.__setattr__(edge, "__pydantic_fields_set__", SHARED_EDGE_FIELDS)
    return edge


def new_intent(value: Any) -> Intent:
    """Check an intent about to be stored for the first time; version 0 becomes 1.

    The result is a shallow copy: it may share JSON containers with ``value``, so a backend
    that keeps the object itself must ``clone`` it.
    """
    intent = as_intent(value)
    if intent.lease is not None and intent.status is not IntentStatus.EXECUTING:
        msg = "only an executing intent has a lease"
        raise InvalidIntent("intent", [{"loc": ("lease",), "msg": msg}])
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


def next_version(
    stored: Intent,
    new: Intent,
    expected_version: int | None,
    *,
    now: datetime,
    claims: bool = False,
) -> Intent:
    """Check a change of a stored intent and return what to store.

    Only the claim operations (``claims``) may change ``lease`` and ``attempts``: for any
    other caller they must be as stored, so that a copy read before a claim or a release
    cannot undo it.
    """
    if expected_version is not None and expected_version != stored.version:
        raise VersionConflict(stored.id, expected_version, stored.version)
    if not claims and (new.lease != stored.lease or new.attempts != stored.attempts):
        raise VersionConflict(stored.id, new.version, stored.version)
    if not can_transition(stored.status, new.status):
        raise InvalidTransition(stored.id, stored.status.value, new.status.value)
    data = dict(new.__dict__)  # not model_dump(): see intentgraph/_codec.py
    if new.status is not stored.status:
        if new.status is not IntentStatus.EXECUTING:
            data["lease"] = None  # leaving executing ends the claim
        if new.reason == stored.reason:
            data["reason"] = None  # a status change keeps no stale reason
        if new.status is IntentStatus.ACTIVE and stored.status in _FRESH_START:
            data["attempts"] = 0  # taken up again by a person: a fresh count
    data["created_at"] = stored.created_at
    data["updated_at"] = max(now, stored.updated_at)
    data["version"] = stored.version + 1
    return Intent.model_validate(data)


_FRESH_START = frozenset({IntentStatus.FAILED, IntentStatus.ARCHIVED})


log = logging.getLogger("intentgraph")

_OPEN_STORES: weakref.WeakSet[StoreBase] = weakref.WeakSet()
_fork_hook_installed = False


def _after_fork_in_child() -> None:
    for store in list(_OPEN_STORES):
        store._after_fork_in_child()


class StoreBase(GraphQueries, WorkLoop, WholeStore, TransactionalStore, ABC):
    """Common behaviour of every ``IntentStorage`` backend."""

    backend_name = "base"
    fork_safe = True
    """Whether a process forked from the opener may go on using this store object."""

    clock: Callable[[], datetime] | None = None
    """What ``now()`` asks, when set (tests set a controllable clock); otherwise the backend's
    own clock: this host's for the embedded backends, the server's for graph servers."""

    def now(self) -> datetime:
        """Return the store's time (UTC): what leases and ``updated_at`` are measured by."""
        return self.clock() if self.clock is not None else utcnow()

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

    def local_files(self) -> builtins.list[str]:
        """The files this store keeps on this machine: none (memory, graph servers)."""
        return []

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
    def _replace(
        self, new: Intent, *, expected_version: int | None = None, claims: bool = False
    ) -> Intent:
        """Store ``new`` (checked) in place of the stored intent with its id; return it.

        The checks and the rules of the new record are ``next_version``'s.

        Raises:
            IntentNotFound: no intent with ``new.id``.
        """

    @abstractmethod
    def _changes(self, since: int, limit: int | None) -> ChangeBatch:
        """Return the change feed after ``since`` (arguments already checked)."""

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
        flt = IntentFilter.of(filter, **criteria)
        with gc_paused(flt.limit):  # many new objects: no full GC scans meanwhile
            return self._select(flt)

    def count(self, filter: IntentFilter | None = None, **criteria: Any) -> int:
        self._check_open()
        return self._count(IntentFilter.of(filter, **criteria))

    def update(self, intent: Intent, *, expected_version: int | None = None) -> Intent:
        return self._replace(as_intent(intent), expected_version=expected_version)

    def set_status(
        self,
        intent_id: str,
        status: IntentStatus,
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> Intent:
        status = as_status(status)
        with self._write():
            current = self.get(intent_id)
            changed = current.model_copy(update={"status": status, "reason": reason})
            if reason is not None:
                changed = Intent.model_validate(dict(changed.__dict__))  # check the reason
            return self._replace(changed, expected_version=expected_version)

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

    def changes(self, since: int = 0, *, limit: int | None = 1000) -> ChangeBatch:
        self._check_open()
        check_limit(limit)
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise InvalidFilter(f"since must be a non-negative integer, not {since!r}")
        return self._changes(since, limit)


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
