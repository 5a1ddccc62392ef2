"""How intents and edges become node and relationship properties, and back.

The ``data`` property holds the whole intent (or edge) as JSON, exactly as the other backends
write it (``intentgraph._codec``): it is what the store reads back, so every value comes back
exact (FalkorDB returns floats with 15 digits; JSON keeps all 17), and a NUL character travels
as a ``\\u0000`` escape. The other properties are copies for people and for queries: the
fields as Cypher values (JSON objects as JSON text, times as ISO text), sort keys, and the
maintained blocked state (``unmet``, ``held``, ``rp``).
"""

from __future__ import annotations

from typing import Any

from intentgraph._codec import edge_to_json, intent_to_json, plain_edge_texts
from intentgraph.backends._sqlite_query import to_us
from intentgraph.filters import search_text
from intentgraph.models import ACTIONABLE_STATUSES, Edge, Intent

__all__ = [
    "MAINTAINED",
    "edge_props",
    "edge_row",
    "hex_key",
    "intent_props",
    "new_intent_row",
    "ready_priority",
    "typed_row",
]

MAINTAINED = ("unmet", "held", "open_subgoals", "rp")
"""The properties the store keeps up to date for ``ready()``/``blocked()``."""

_ACTIONABLE = frozenset(s.value for s in ACTIONABLE_STATUSES)


def hex_key(text: str) -> str:
    """A sort key that orders like Python's ``str`` on every server: the UTF-8 bytes in hex.

    Neo4j compares strings by UTF-16 code units and Python by code points; they disagree on
    characters beyond U+FFFF against U+E000..U+FFFF. Hex digits of UTF-8 compare alike
    everywhere, and UTF-8 byte order is code point order.
    """
    return text.encode("utf-8", "surrogatepass").hex()


def _clean(text: str | None, sanitize: bool) -> str | None:
    if text is None or not sanitize or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def ready_priority(status: str, priority: int, unmet: int, held: int, open_: int) -> int | None:
    """``rp``: the priority of an intent that is ready, None (no property) otherwise."""
    return priority if status in _ACTIONABLE and not (unmet or held or open_) else None


def intent_props(
    intent: Intent, *, sanitize: bool, unmet: int = 0, held: int = 0, open_subgoals: int = 0
) -> dict[str, Any]:
    """Return the node properties of ``intent`` (every key present; None removes one)."""
    props = _present_props(intent, sanitize)
    props["session_id"] = _clean(intent.session_id, sanitize)
    props["lease_us"] = None if intent.lease is None else to_us(intent.lease.expires_at)
    props["unmet"], props["held"], props["open_subgoals"] = unmet, held, open_subgoals
    props["rp"] = ready_priority(props["status"], intent.priority, unmet, held, open_subgoals)
    return props


def new_intent_row(intent: Intent, *, sanitize: bool, state: bool) -> dict[str, Any]:
    """Return the properties of a new intent for ``put_intents.cypher``: those of
    ``intent_props`` without absent values, so that fewer parameters are written into the
    query text; with the maintained state when ``state`` (a new intent has no edges:
    nothing unmet, held or open), else the query sets it."""
    row = _present_props(intent, sanitize)
    if state:
        row["unmet"] = row["held"] = row["open_subgoals"] = 0
        if row["status"] in _ACTIONABLE:
            row["rp"] = intent.priority
    if intent.session_id is not None:
        row["session_id"] = _clean(intent.session_id, sanitize)
    if intent.lease is not None:
        row["lease_us"] = to_us(intent.lease.expires_at)
    return row


def _present_props(intent: Intent, sanitize: bool) -> dict[str, Any]:
    """The properties every intent node has, whatever its state."""
    import pydantic_core

    return {
        "id": intent.id,
        "name": _clean(intent.name, sanitize),
        "goal": _clean(intent.goal, sanitize),
        "status": intent.status.value,
        "priority": intent.priority,
        "version": intent.version,
        "created_at": intent.created_at.isoformat(),
        "updated_at": intent.updated_at.isoformat(),
        "metadata": pydantic_core.to_json(intent.metadata).decode(),
        "created_us": to_us(intent.created_at),
        "updated_us": to_us(intent.updated_at),
        "ik": hex_key(intent.id),
        "nk": hex_key(intent.name),
        "search": _clean(search_text(intent), sanitize),
        "data": intent_to_json(intent),
    }


def edge_props(edge: Edge) -> dict[str, Any]:
    """Return the relationship properties of ``edge``."""
    import pydantic_core

    texts = plain_edge_texts(edge)
    if texts is not None:
        return {"data": texts[0], "weight": None, "created_at": texts[1], "metadata": "{}"}
    return {
        "data": edge_to_json(edge),
        "weight": edge.weight,
        "created_at": edge.created_at.isoformat(),
        "metadata": pydantic_core.to_json(edge.metadata).decode(),
    }


def edge_row(edge: Edge) -> dict[str, Any]:
    """Return a row of ``merge_edges.cypher``."""
    return {
        "source": edge.source,
        "target": edge.target,
        "type": edge.type.value,
        "props": edge_props(edge),
    }


def typed_row(edge: Edge, seq: int) -> dict[str, Any]:
    """Return a row of the queries that create edges of one type (``create_subgoals.cypher``
    and the others): the type is the query's; ``seq`` numbers the edge's feed record."""
    return {"source": edge.source, "target": edge.target, "seq": seq, "props": edge_props(edge)}
