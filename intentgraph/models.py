"""The data model: ``Intent``, ``Edge``, their enums and the status transition table.

Models hold data only; storage lives in the backends. Constructing or validating a model
with bad fields raises ``intentgraph.errors.InvalidIntent`` (a ``ValueError``).
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator

from intentgraph.errors import InvalidIntent

__all__ = [
    "ACTIONABLE_STATUSES",
    "ALLOWED_TRANSITIONS",
    "BLOCKING_EDGE_TYPES",
    "FINISHED_SUBGOAL",
    "HOLDING_STATUSES",
    "MAX_JSON_DEPTH",
    "Edge",
    "EdgeType",
    "Intent",
    "IntentStatus",
    "can_transition",
    "new_id",
    "utcnow",
]


class IntentStatus(StrEnum):
    """Where an intent is in its life."""

    PENDING = "pending"  # recorded, not yet approved to run
    ACTIVE = "active"  # may run once its dependencies are completed
    EXECUTING = "executing"  # claimed by a worker
    COMPLETED = "completed"
    FAILED = "failed"
    SUSPENDED = "suspended"  # paused by a person or the orchestrator
    ARCHIVED = "archived"


_S = IntentStatus
ALLOWED_TRANSITIONS: dict[IntentStatus, frozenset[IntentStatus]] = {
    _S.PENDING: frozenset({_S.ACTIVE, _S.SUSPENDED, _S.ARCHIVED}),
    _S.ACTIVE: frozenset(_S) - {_S.ACTIVE},
    _S.EXECUTING: frozenset({_S.COMPLETED, _S.FAILED, _S.SUSPENDED, _S.ACTIVE, _S.ARCHIVED}),
    _S.COMPLETED: frozenset({_S.ARCHIVED}),
    _S.FAILED: frozenset({_S.ACTIVE, _S.ARCHIVED}),
    _S.SUSPENDED: frozenset({_S.ACTIVE, _S.ARCHIVED}),
    _S.ARCHIVED: frozenset({_S.ACTIVE}),
}
"""Status -> the statuses it may move to. Staying in the same status is always allowed."""

ACTIONABLE_STATUSES: frozenset[IntentStatus] = frozenset({_S.ACTIVE})
"""Statuses in which an intent is waiting to be run (what ``ready()`` looks at)."""


HOLDING_STATUSES: frozenset[IntentStatus] = frozenset({_S.SUSPENDED, _S.FAILED, _S.ARCHIVED})
"""An intent in one of these will not finish without someone stepping in: it holds its
subtree (and, as a dependency, its dependents) from running."""

FINISHED_SUBGOAL: frozenset[IntentStatus] = frozenset({_S.COMPLETED, _S.ARCHIVED})
"""A subgoal in one of these no longer holds its parent (an archived one was dropped)."""


def can_transition(current: IntentStatus, requested: IntentStatus) -> bool:
    """Return True when an intent in ``current`` may move to ``requested``."""
    return current == requested or requested in ALLOWED_TRANSITIONS[current]


class EdgeType(StrEnum):
    """How two intents relate. ``A -T-> B`` reads "A T B"."""

    IS_SUBGOAL_OF = "IS_SUBGOAL_OF"  # A is a child of B
    DEPENDS_ON = "DEPENDS_ON"  # A cannot start before B completes
    BLOCKS = "BLOCKS"  # A blocks B: B depends on A
    CONFLICTS_WITH = "CONFLICTS_WITH"  # symmetric
    ENABLES = "ENABLES"
    RELATED_TO = "RELATED_TO"
    TRIGGERED_BY = "TRIGGERED_BY"

    @property
    def symmetric(self) -> bool:
        """True for edge types where A->B and B->A are the same edge."""
        return self is EdgeType.CONFLICTS_WITH


BLOCKING_EDGE_TYPES: frozenset[EdgeType] = frozenset({EdgeType.DEPENDS_ON, EdgeType.BLOCKS})
"""Edge types that order execution; together they must stay acyclic."""


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


# --- ids and time ---------------------------------------------------------------------

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id: list[int] = [0, 0]  # [milliseconds, random part] of the last id made


def new_id() -> str:
    """Return a new 26-character ULID: unique, and sortable by creation time.

    Ids made in the same millisecond by this process increase monotonically.
    """
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_id[0]:
            ms, rand = _last_id[0], _last_id[1] + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom to increment
        _last_id[0], _last_id[1] = ms, rand
    value = (ms << 80) | (rand & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def utcnow() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 at +05:00 has no UTC equivalent
        raise ValueError(f"{value.isoformat()} is out of range in UTC") from None


JSON_FIELDS = ("constraints", "preferences", "metadata", "success_criteria")
"""The Intent fields that hold free-form JSON."""

MAX_JSON_DEPTH = 64
"""How deeply objects and arrays may nest in a JSON field (``{"a": 1}`` is one level).

One limit, checked when a value is validated, so that whatever a store accepts it can also
read back: JSON parsers, SQLite's JSON functions and the graph servers each stop at some
depth, and a container that holds itself would otherwise never end."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = "holds a lone surrogate (invalid Unicode)"


def has_lone_surrogate(text: str) -> bool:
    """Return True when ``text`` holds a lone surrogate (not valid Unicode, not encodable)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def check_json(value: Any, where: str = "value") -> None:
    """Raise ``ValueError`` unless ``value`` is plain JSON that every store can hold.

    That is: dicts with string keys, lists, strings, ints, bools, None and finite floats
    (JSON has no NaN or infinity: they would come back as null), strings without lone
    surrogates, nested at most ``MAX_JSON_DEPTH`` levels. Also used on stored intents, whose
    containers may have been changed in place after validation.
    """
    stack = [(value, where, 1)]
    while stack:
        item, path, level = stack.pop()
        kind = type(item)
        if kind is dict or kind is list:
            if level > MAX_JSON_DEPTH:
                raise ValueError(
                    f"{where}: nested deeper than {MAX_JSON_DEPTH} levels (or holds itself)"
                )
            pairs = item.items() if kind is dict else enumerate(item)
            for key, sub in pairs:
                if kind is dict:
                    if type(key) is not str:
                        raise ValueError(f"{path}: key {key!r} is not a string")
                    if has_lone_surrogate(key):
                        raise ValueError(f"{path}: a key {_LONE_SURROGATE}")
                sub_kind = type(sub)
                if sub_kind is str:
                    if has_lone_surrogate(sub):
                        raise ValueError(f"{path}: a string {_LONE_SURROGATE}")
                elif not (sub_kind is int or sub_kind is bool or sub is None):
                    sub_path = f"{path}.{key}" if kind is dict else f"{path}[{key}]"
                    stack.append((sub, sub_path, level + 1))
        elif kind is str:
            if has_lone_surrogate(item):
                raise ValueError(f"{path}: a string {_LONE_SURROGATE}")
        elif kind is int or kind is bool or item is None:
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{path}: {item!r} is not a finite number")
        elif isinstance(item, str | int | dict | list):  # subclasses: rare, check as the base
            stack.append((_as_base(item), path, level))
        else:
            raise ValueError(f"{path}: {kind.__name__} is not a JSON value")


def _as_base(item: Any) -> Any:
    base: type[Any]
    for base in (int, str, dict, list):
        if isinstance(item, base):
            return base(item)
    return item


# --- models ---------------------------------------------------------------------------

ID_PATTERN = r"^[^\s\x00-\x1f\x7f]{1,200}$"
"""What an intent id may look like: 1 to 200 characters, no blanks or control characters."""


def _details(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    return [dict(e) for e in exc.errors(include_url=False)]


class _Model(BaseModel):
    """Base that turns pydantic's validation errors into ``InvalidIntent``."""

    _label: ClassVar[str] = "model"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise InvalidIntent(self._label, _details(exc)) from exc

    # Tell pydantic this __init__ adds no behaviour of its own (it only translates the error),
    # so a model nested in another (a document's intents, an intent's lease) is built directly
    # instead of being validated a second time through it.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except pydantic.ValidationError as exc:
            raise InvalidIntent(self._label, _details(exc)) from exc

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise InvalidIntent(cls._label, _details(exc)) from exc

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except pydantic.ValidationError as exc:
            raise InvalidIntent(cls._label, _details(exc)) from exc


WORKER_PATTERN = ID_PATTERN
"""What a worker's name may look like (as an id: 1 to 200 characters, no blanks)."""


class Lease(_Model):
    """Who is running an intent, and until when: the record of one claim.

    ``token`` numbers the claims of an intent (it is the intent's ``attempts`` when it was
    claimed): a ``heartbeat`` or ``release`` that names another token comes from a worker
    whose lease was taken back, and is refused.
    """

    _label: ClassVar[str] = "lease"
    model_config = ConfigDict(extra="forbid", frozen=True)

    worker: str = Field(pattern=WORKER_PATTERN, description="Who claimed it.")
    token: int = Field(ge=1, strict=True, description="Which claim of this intent it is.")
    claimed_at: AwareDatetime = Field(description="When it was claimed (UTC).")
    expires_at: AwareDatetime = Field(
        description="When the lease runs out unless a heartbeat extends it (UTC)."
    )
    seconds: float = Field(gt=0, le=10**9, allow_inf_nan=False, description="Lease length.")

    @field_validator("claimed_at", "expires_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)


class Intent(_Model):
    """A goal an orchestrator pursues.

    The parent of an intent is not a field: it lives only in its ``IS_SUBGOAL_OF`` edge.
    ``version`` is 0 until the intent is first stored, then grows by one on every change.
    """

    _label: ClassVar[str] = "intent"
    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        str_strip_whitespace=False,
        json_schema_extra={"title": "Intent"},
    )

    id: str = Field(
        default_factory=new_id,
        pattern=ID_PATTERN,
        description="Unique id; a ULID (sortable by creation) when not given.",
    )
    name: str = Field(min_length=1, max_length=500, description="Short human-readable name.")
    goal: str = Field(default="", max_length=100_000, description="What must be achieved.")
    original_request: str | None = Field(
        default=None, description="The request this intent was derived from, verbatim."
    )
    status: IntentStatus = Field(default=IntentStatus.ACTIVE, description="Lifecycle status.")
    priority: int = Field(
        default=0,
        ge=-(2**63),
        le=2**63 - 1,
        strict=True,  # True is not a priority; neither is "2"
        description="Higher runs first among ready intents.",
    )
    constraints: dict[str, JsonValue] = Field(
        default_factory=dict, description="Hard limits the execution must respect."
    )
    preferences: dict[str, JsonValue] = Field(
        default_factory=dict, description="Soft wishes for the execution."
    )
    success_criteria: JsonValue = Field(
        default=None, description="How to tell the goal is met (any JSON value)."
    )
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict, description="Free-form JSON object for the caller's own use."
    )
    session_id: str | None = Field(default=None, max_length=200)
    lease: Lease | None = Field(
        default=None,
        description="Who is running it and until when: set by claim() and heartbeat(), "
        "cleared when it leaves executing.",
    )
    attempts: int = Field(
        default=0, ge=0, strict=True, description="How many times it has been claimed."
    )
    reason: str | None = Field(
        default=None,
        max_length=10_000,
        description="Why it is in its status (why it failed, say); cleared by a status "
        "change that gives none.",
    )
    created_at: AwareDatetime = Field(default_factory=utcnow, description="UTC.")
    updated_at: AwareDatetime = Field(default_factory=utcnow, description="UTC.")
    version: int = Field(default=0, ge=0, description="Bumped on every stored change.")

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)

    @field_validator("original_request", "session_id", "goal", "reason")
    @classmethod
    def _valid_unicode(cls, value: str | None) -> str | None:
        # pydantic checks a constrained str as UTF-8, but keeps a plain one as it is.
        if value is not None and has_lone_surrogate(value):
            raise ValueError(f"a string {_LONE_SURROGATE}")
        return value

    @field_validator(*JSON_FIELDS, mode="before")
    @classmethod
    def _plain_json(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        check_json(value, info.field_name or "value")  # before pydantic recurses into it
        return value


class Edge(_Model):
    """A typed, directed relation between two stored intents, unique on (source, target, type)."""

    _label: ClassVar[str] = "edge"
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    source: str = Field(pattern=ID_PATTERN)
    target: str = Field(pattern=ID_PATTERN)
    type: EdgeType
    weight: float | None = Field(default=None, allow_inf_nan=False)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)
    created_at: AwareDatetime = Field(default_factory=utcnow)

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _to_utc(value)

    @field_validator("metadata", mode="before")
    @classmethod
    def _plain_json(cls, value: Any) -> Any:
        check_json(value, "metadata")  # before pydantic recurses into it
        return value

    @property
    def key(self) -> tuple[str, str, EdgeType]:
        """The identity of the edge: (source, target, type)."""
        return (self.source, self.target, self.type)
