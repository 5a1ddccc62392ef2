"""Stored intent records read from their JSON text in one pass.

A store's loader reads records a store wrote. pydantic-core parses such a record and checks
its exact shape in the same pass (strict types, no key missing or extra, every bound the
model puts on a field, the id pattern), which leaves Python only the checks a schema cannot
state: the times are UTC, the name is not blank, the JSON fields are plain JSON. A third
less work than parsing, building and checking in Python.

Anything else is not read here: a lease (rare: only while executing), a record in another
shape, a value out of bounds. ``intent_from_line`` then returns None and the caller reads
the record the general way, which accepts it or names the problem precisely. So this path
never accepts what that way refuses, and builds the same intent from what both accept
(tests/backends/test_record_text.py compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import ConfigDict, TypeAdapter
from typing_extensions import TypedDict

from intentgraph._base import check_stored_json
from intentgraph._codec import SHARED_INTENT_FIELDS, assemble
from intentgraph.models import Intent

__all__ = ["intent_from_line"]

# What the schema leaves to Python: the times are read by datetime (and checked to be UTC
# below); the JSON fields' contents are checked by check_stored_json (the model's check);
# a lease is read the general way.
_LEFT_TO_PYTHON: dict[str, Any] = {
    "constraints": dict[str, Any],
    "preferences": dict[str, Any],
    "metadata": dict[str, Any],
    "success_criteria": Any,
    "lease": None,
    "created_at": str,
    "updated_at": str,
}


def _stored_shape() -> TypeAdapter[dict[str, Any]]:
    """The stored record's shape: every other field with the model's own type and bounds
    (one definition of them), in the model's field order (the order records are written)."""
    fields: dict[str, Any] = {}
    for name, info in Intent.model_fields.items():
        if name in _LEFT_TO_PYTHON:
            fields[name] = _LEFT_TO_PYTHON[name]
        elif info.metadata:
            fields[name] = Annotated[(info.annotation, *info.metadata)]
        else:
            fields[name] = info.annotation
    make_shape: Any = TypedDict  # built from the model's fields: not a literal mypy reads
    shape: Any = make_shape("StoredIntent", fields)
    # The id pattern (ID_PATTERN) means the same to Rust's regex as to Python's re: \s is
    # Unicode White_Space in both, and the characters re adds (\x1c-\x1f) are excluded by
    # name; $ cannot meet the newline re lets it skip. Rust's is a tenth of the time.
    shape.__pydantic_config__ = ConfigDict(
        strict=True, extra="forbid", regex_engine="rust-regex", cache_strings="keys"
    )
    adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(shape)
    return adapter


_read = _stored_shape().validator.validate_json
_fromiso = datetime.fromisoformat


def intent_from_line(text: bytes) -> Intent | None:
    """Read one stored intent record from its compact JSON text, every value checked; None
    for a record this fast path does not take (read it the general way)."""
    try:
        fields = _read(text)
        created = fields["created_at"] = _fromiso(fields["created_at"])
        updated = fields["updated_at"] = _fromiso(fields["updated_at"])
    except ValueError:  # pydantic's ValidationError is one
        return None
    if created.tzinfo is not UTC or updated.tzinfo is not UTC or fields["name"].isspace():
        return None
    if not check_stored_json(fields):
        return None
    return assemble(Intent, fields, SHARED_INTENT_FIELDS)  # type: ignore[no-any-return]
