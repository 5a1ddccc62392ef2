"""The memory backend's maintained state (unmet, open subgoals, held, the ready index, the
counts) always equals a recomputation from the data: after random writes, after writes that
fail, and after transactions rolled back."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph.backends.jsonfile import JsonFileStore
from intentgraph.backends.memory import MemoryStore
from intentgraph.models import FINISHED_SUBGOAL, HOLDING_STATUSES
from tests.backends._random_writes import random_writes

S = ig.IntentStatus


def maintained(store: MemoryStore) -> tuple[Any, ...]:
    return (
        dict(store._unmet),
        dict(store._open),
        set(store._held),
        list(store._ordered_ready()),
        {s: set(ids) for s, ids in store._status_ids.items()},
        dict(store._edge_counts),
        store._touched(),
        set(store._leased),
    )


def recomputed(store: MemoryStore) -> tuple[Any, ...]:
    kept = maintained(store)
    store._rebuild_index()
    fresh = maintained(store)
    assert maintained(store) == fresh
    return kept, fresh


def expected_ready(store: MemoryStore) -> list[str]:
    """ready() by its definition, from the public queries."""
    hits = [
        i
        for i in store.list(status="active")
        if all(d.status is S.COMPLETED for d in store.dependencies(i.id))
        and all(c.status in FINISHED_SUBGOAL for c in store.children(i.id))
        and not any(a.status in HOLDING_STATUSES for a in store.ancestors(i.id))
    ]
    return [i.id for i in sorted(hits, key=lambda i: (-i.priority, i.created_at, i.id))]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["memory", "json"])
def test_maintained_state_equals_a_recomputation_after_random_writes(
    tmp_path: Path, seed: int, kind: str
) -> None:
    store: MemoryStore = MemoryStore() if kind == "memory" else JsonFileStore(tmp_path / "s.json")
    try:
        for step, _ in random_writes(store, random.Random(seed), steps=300):
            if step % 25 == 0:
                kept, fresh = recomputed(store)
                assert kept == fresh, f"step {step}"
                assert [i.id for i in store.ready()] == expected_ready(store)
        kept, fresh = recomputed(store)
        assert kept == fresh
        if kind == "json":
            store.close()
            store = JsonFileStore(tmp_path / "s.json")  # loaded in bulk, then rebuilt
            assert maintained(store) == fresh
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(6))
def test_writes_before_the_ready_order_is_first_read_keep_the_index_exact(seed: int) -> None:
    # A rebuild (an open, a bulk load, a rollback) leaves the ready ids unordered until a
    # read needs their order; the writes meanwhile only add or remove ids.
    store = MemoryStore()
    unordered_writes = 0
    for step, _ in random_writes(store, random.Random(seed), steps=400):
        if step % 40 == 0:
            store._rebuild_index()
        unordered_writes += store._ready_unordered is not None
        if step % 40 == 39:
            kept, fresh = recomputed(store)
            assert kept == fresh, f"step {step}"
            assert [i.id for i in store.ready()] == expected_ready(store)
    assert unordered_writes > 100
