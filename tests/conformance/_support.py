"""Helpers shared by the contract suite: hand-made intents with known ids and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import intentgraph as ig
from intentgraph._base import StoreBase

T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
"""A fixed instant; ``at(n)`` is ``n`` minutes after it, so creation order is known."""


def at(minutes: int) -> datetime:
    """Return the instant ``minutes`` after ``T0``."""
    return T0 + timedelta(minutes=minutes)


def make(intent_id: str, **fields: Any) -> ig.Intent:
    """Build an intent named after its id."""
    fields.setdefault("name", f"intent {intent_id}")
    return ig.Intent(id=intent_id, **fields)


def put(store: StoreBase, intent_id: str, **fields: Any) -> ig.Intent:
    """Store a new intent named after its id and return the stored copy."""
    return store.put(make(intent_id, **fields))


def ids(intents: Any) -> list[str]:
    """Return the ids of a list of intents (or of tree nodes / blocked intents)."""
    out = []
    for item in intents:
        intent = getattr(item, "intent", item)
        out.append(intent.id)
    return out


def edge_keys(edges: list[ig.Edge]) -> list[tuple[str, str, str]]:
    """Return (source, target, type) of each edge, type as its string value."""
    return [(e.source, e.target, e.type.value) for e in edges]


def snapshot(store: StoreBase) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return every intent and edge as plain data, to compare a store before and after."""
    intents = [i.model_dump(mode="json") for i in store.list(order_by="id")]
    edges = [e.model_dump(mode="json") for e in store.edges()]
    return intents, edges


def reopen(store: StoreBase, url: str) -> StoreBase:
    """Close ``store`` and open the same URL again."""
    store.close()
    return ig.open_store(url)
