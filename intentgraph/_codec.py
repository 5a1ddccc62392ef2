"""How intents and edges are written as JSON by every store (journal, document, SQLite rows).

The bytes are exactly what pydantic's ``model_dump_json`` writes, so files written before and
after read alike, but the work is done on plain data: pydantic's model serializer reads an
enum's ``value`` through Python code, where a pending signal handler runs, and it then turns
the handler's exception (``KeyboardInterrupt``, a timeout) into a serialization error, or in
``model_dump()`` into a mere warning. A store must let such an exception through untouched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pydantic_core

from intentgraph.models import Edge, EdgeType, Intent, IntentStatus, Lease

__all__ = [
    "edge_fields",
    "edge_from_written",
    "edge_to_json",
    "intent_fields",
    "intent_from_written",
    "intent_to_json",
]

_to_json = pydantic_core.to_json


def intent_fields(intent: Intent) -> dict[str, Any]:
    """Return the intent's fields as plain data (the status as a plain string)."""
    fields = dict(intent.__dict__)
    fields["status"] = fields["status"].value
    lease = fields["lease"]
    if lease is not None:
        fields["lease"] = dict(lease.__dict__)
    return fields


def edge_fields(edge: Edge) -> dict[str, Any]:
    """Return the edge's fields as plain data (the type as a plain string)."""
    fields = dict(edge.__dict__)
    fields["type"] = fields["type"].value
    return fields


def intent_to_json(intent: Intent) -> str:
    """Return the intent as compact JSON, as ``intent.model_dump_json()`` would."""
    return _to_json(intent_fields(intent)).decode()


def edge_to_json(edge: Edge) -> str:
    """Return the edge as compact JSON, as ``edge.model_dump_json()`` would."""
    return _to_json(edge_fields(edge)).decode()


_STATUSES = {s.value: s for s in IntentStatus}
_TYPES = {t.value: t for t in EdgeType}
_fromiso = datetime.fromisoformat


def _assemble(cls: type[Any], fields: dict[str, Any]) -> Any:
    # What model_construct does, without its per-field defaults: every field is present.
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", set(fields))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def intent_from_written(text: str | bytes) -> Intent:
    """Rebuild, without validating it again, an intent from the JSON ``intent_to_json``
    wrote of a valid intent (or any text of that record in that form, checked before)."""
    fields = pydantic_core.from_json(text)
    fields["created_at"] = _fromiso(fields["created_at"])
    fields["updated_at"] = _fromiso(fields["updated_at"])
    fields["status"] = _STATUSES[fields["status"]]
    if fields["lease"] is not None:
        fields["lease"] = Lease.model_validate(fields["lease"])
    return _assemble(Intent, fields)  # type: ignore[no-any-return]


def edge_from_written(text: str | bytes) -> Edge:
    """Rebuild, without validating it again, an edge from the JSON ``edge_to_json`` wrote."""
    fields = pydantic_core.from_json(text)
    fields["type"] = _TYPES[fields["type"]]
    fields["created_at"] = _fromiso(fields["created_at"])
    return _assemble(Edge, fields)  # type: ignore[no-any-return]
