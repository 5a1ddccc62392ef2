"""How intents and edges are written as JSON by every store (journal, document, SQLite rows).

The bytes are exactly what pydantic's ``model_dump_json`` writes, so files written before and
after read alike, but the work is done on plain data: pydantic's model serializer reads an
enum's ``value`` through Python code, where a pending signal handler runs, and it then turns
the handler's exception (``KeyboardInterrupt``, a timeout) into a serialization error, or in
``model_dump()`` into a mere warning. A store must let such an exception through untouched.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from intentgraph.models import Edge, Intent

__all__ = ["edge_fields", "edge_to_json", "intent_fields", "intent_to_json"]

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
