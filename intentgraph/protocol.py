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
import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from intentgraph.errors import InvalidFilter
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus, has_lone_surrogate

__all__ = [
    "BlockedIntent",
    "Direction",
    "GraphStats",
    "Health",
    "IntentContext",
    "IntentFilter",
    "IntentStorage",
    "OrderBy",
    "TreeNode",
]

Direction = Literal["out", "in", "both"]
OrderBy = Literal["created_at", "updated_at", "priority", "name", "id"]
Scalar = str | int | float | bool | None


class IntentFilter(BaseModel):
    """What ``list`` and ``count`` select. Every criterion given must hold (AND).

    Time bounds are half-open: ``*_after`` is inclusive, ``*_before`` exclusive. ``text`` is a
    case-insensitive substring match against ``name + "\\n" + goal``. ``metadata`` matches
    top-level keys by equality with scalar values (``None`` matches an explicit JSON null).
    Results are ordered by ``order_by`` then id; for ``priority`` the tie-break is
    ``created_at`` then id; ``descending`` reverses the whole key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    _label: ClassVar[str] = "filter"

    status: tuple[IntentStatus, ...] | None = None
    session_id: str | None = None
    text: str | None = Field(default=None, min_length=1)
    priority_min: int | None = None
    priority_max: int | None = None
    metadata: dict[str, Scalar] | None = None
    ids: tuple[str, ...] | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    updated_after: AwareDatetime | None = None
    updated_before: AwareDatetime | None = None
    order_by: OrderBy = "created_at"
    descending: bool = False
    limit: int | None = Field(default=None, ge=0)
    offset: int = Field(default=0, ge=0)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            msgs = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}"
                for e in exc.errors(include_url=False)[:5]
            )
            raise InvalidFilter(f"invalid filter: {msgs}") from exc

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("ids", mode="before")
    @classmethod
    def _ids_one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @pydantic.model_validator(mode="after")
    def _valid_unicode(self) -> Self:
        # A lone surrogate cannot be stored, so it cannot be searched for either: refuse it
        # here, as intents refuse it, rather than let each backend fail its own way.
        texts = [self.text, self.session_id, *(self.ids or ()), *(self.metadata or {})]
        texts += [v for v in (self.metadata or {}).values() if isinstance(v, str)]
        if any(t is not None and has_lone_surrogate(t) for t in texts):
            raise ValueError("a lone surrogate is not valid Unicode")
        return self

    @classmethod
    def of(cls, filter: IntentFilter | None = None, **criteria: Any) -> IntentFilter:
        """Merge an optional filter with keyword criteria (keywords win)."""
        if filter is None:
            return cls(**criteria)
        if not criteria:
            return filter
        given = {name: getattr(filter, name) for name in filter.model_fields_set}
        return cls(**{**given, **criteria})

    def matches(self, intent: Intent) -> bool:
        """Return True when ``intent`` satisfies every criterion (ordering/paging aside)."""
        if self.status is not None and intent.status not in self.status:
            return False
        if self.ids is not None and intent.id not in self.ids:
            return False
        if self.session_id is not None and intent.session_id != self.session_id:
            return False
        if self.priority_min is not None and intent.priority < self.priority_min:
            return False
        if self.priority_max is not None and intent.priority > self.priority_max:
            return False
        if not _in_range(intent.created_at, self.created_after, self.created_before):
            return False
        if not _in_range(intent.updated_at, self.updated_after, self.updated_before):
            return False
        if self.text is not None and self.text.casefold() not in search_text(intent):
            return False
        if self.metadata:
            for key, want in self.metadata.items():
                if key not in intent.metadata:
                    return False
                have = intent.metadata[key]
                if want is None:
                    if have is not None:
                        return False
                elif isinstance(have, dict | list) or have is None or have != want:
                    return False
        return True

    def sort_key(self, intent: Intent) -> tuple[Any, ...]:
        """The key ``list`` orders by (before ``descending`` is applied)."""
        if self.order_by == "priority":
            return (intent.priority, intent.created_at, intent.id)
        if self.order_by == "id":
            return (intent.id,)
        return (getattr(intent, self.order_by), intent.id)


def search_text(intent: Intent) -> str:
    """Return the case-folded text that ``IntentFilter.text`` searches."""
    return (intent.name + "\n" + intent.goal).casefold()


def _in_range(value: datetime, after: datetime | None, before: datetime | None) -> bool:
    if after is not None and value < after:
        return False
    return before is None or value < before


class TreeNode(BaseModel):
    """One intent of a subtree, with its depth below the root and its parent's id."""

    model_config = ConfigDict(frozen=True)

    intent: Intent
    depth: int
    parent_id: str | None


class BlockedIntent(BaseModel):
    """An actionable intent that cannot run yet, and why."""

    model_config = ConfigDict(frozen=True)

    intent: Intent
    blocked_by: list[Intent] = Field(
        default_factory=list, description="Direct dependencies that are not completed."
    )
    held_by: list[Intent] = Field(
        default_factory=list, description="Ancestors that are suspended, failed or archived."
    )


class IntentContext(BaseModel):
    """The bounded neighbourhood of an intent, for an LLM prompt."""

    model_config = ConfigDict(frozen=True)

    focus: Intent
    ancestors: list[Intent] = Field(default_factory=list)
    children: list[Intent] = Field(default_factory=list)
    dependencies: list[Intent] = Field(default_factory=list)
    dependents: list[Intent] = Field(default_factory=list)
    conflicts: list[Intent] = Field(default_factory=list)
    truncated: bool = False

    def to_text(self) -> str:
        """Render a compact plain-text summary, one line per intent."""

        def line(i: Intent) -> str:
            goal = f": {i.goal}" if i.goal else ""
            return f"- [{i.status}] {i.name} (id={i.id}, priority={i.priority}){goal}"

        out = ["FOCUS", line(self.focus)]
        for title, items in (
            ("ANCESTORS (nearest first)", self.ancestors),
            ("SUBGOALS", self.children),
            ("DEPENDS ON", self.dependencies),
            ("NEEDED BY", self.dependents),
            ("CONFLICTS WITH", self.conflicts),
        ):
            if items:
                out.append(title)
                out.extend(line(i) for i in items)
        if self.truncated:
            out.append("(neighbourhood truncated)")
        return "\n".join(out)

    def to_json(self) -> str:
        """Render the context as a JSON document."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class GraphStats(BaseModel):
    """Counts over the whole store."""

    model_config = ConfigDict(frozen=True)

    intents: int
    by_status: dict[str, int]
    edges: int
    by_edge_type: dict[str, int]
    top_blockers: list[tuple[str, int]] = Field(
        description="(id, transitive dependents) of unfinished intents, most first."
    )
    orphans: int = Field(description="Intents with no edge at all.")


class Health(BaseModel):
    """What a store says about itself. Never contains credentials."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    backend: str
    url: str
    degraded: bool = False
    reason: str | None = None
    intents: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


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
        """Replace a stored intent's fields; return the stored copy.

        ``created_at`` is kept from the stored intent, ``updated_at`` set to now (or kept,
        if the stored one is later: it never moves backwards) and ``version`` to the stored
        version plus one.

        Raises:
            IntentNotFound: no intent with ``intent.id``.
            VersionConflict: ``expected_version`` differs from the stored version.
            InvalidTransition: the status change is not allowed.
        """
        ...

    def set_status(
        self, intent_id: str, status: IntentStatus, *, expected_version: int | None = None
    ) -> Intent:
        """Move an intent to ``status``; return the stored copy.

        Raises:
            IntentNotFound, VersionConflict, InvalidTransition: as for ``update``.
        """
        ...

    def claim(
        self,
        intent_id: str,
        *,
        expected_status: IntentStatus | Sequence[IntentStatus] = IntentStatus.ACTIVE,
        status: IntentStatus = IntentStatus.EXECUTING,
    ) -> Intent:
        """Atomically move an intent from ``expected_status`` to ``status`` (compare-and-swap).

        Of several workers claiming the same intent, exactly one succeeds.

        Raises:
            IntentNotFound: no such intent.
            ClaimConflict: the intent is not in ``expected_status``.
            InvalidTransition: the status change is not allowed.
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
        """Return what cannot proceed until this intent completes (its blast radius)."""
        ...

    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]:
        """Return actionable intents whose dependencies are all completed and whose
        ancestors are not suspended, failed or archived.

        Raises:
            InvalidFilter: ``limit`` is negative or not an integer.
        """
        ...

    def blocked(self) -> builtins.list[BlockedIntent]:
        """Return each actionable intent that is not ready, with what holds it."""
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
        """Return counts by status and edge type, the top blockers and the orphans."""
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

    def close(self) -> None:
        """Release the store; idempotent."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
