"""What ``list`` and ``count`` select: ``IntentFilter``, and the text it searches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, Self

import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from intentgraph.errors import InvalidFilter
from intentgraph.models import Intent, IntentStatus, has_lone_surrogate

__all__ = ["Direction", "IntentFilter", "OrderBy", "search_text"]

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
