"""Random writes, some failing and some rolled back, for tests that check what a store
maintains against a recomputation."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import intentgraph as ig
from intentgraph.errors import IntentGraphError

S, E = ig.IntentStatus, ig.EdgeType
ORDERING = [E.IS_SUBGOAL_OF, E.DEPENDS_ON, E.BLOCKS, E.RELATED_TO]


def random_write(store: Any, rng: random.Random, ids: list[str], step: int) -> None:
    op = rng.random()
    if op < 0.2 or len(ids) < 3:
        intent = ig.Intent(id=f"i{step}", name="x", priority=rng.randint(0, 3))
        store.put(intent)
        ids.append(intent.id)
    elif op < 0.45:
        store.set_status(rng.choice(ids), rng.choice(list(S)))
    elif op < 0.55:
        store.patch(rng.choice(ids), priority=rng.randint(0, 3))
    elif op < 0.8:
        a, b = rng.sample(ids, 2)
        store.add_edge(a, b, rng.choice(ORDERING))
    elif op < 0.9:
        edges = store.edges()
        if edges:
            e = rng.choice(edges)
            store.remove_edge(e.source, e.target, e.type)
    elif op < 0.95:
        store.claim_next(worker="w")
    else:
        victim = rng.choice(ids)
        store.delete(victim)
        ids.remove(victim)


def random_writes(store: Any, rng: random.Random, *, steps: int) -> Iterator[tuple[int, Any]]:
    """Run ``steps`` random writes (a fifth of them in a transaction rolled back); yield
    the step number after each, with the store."""
    ids: list[str] = []
    for step in range(steps):
        try:
            if rng.random() < 0.2:
                with store.transaction():
                    for extra in range(rng.randint(1, 4)):
                        random_write(store, rng, list(ids), step * 10 + extra)
                    raise RuntimeError("roll it all back")
            random_write(store, rng, ids, step)
        except (IntentGraphError, RuntimeError, ValueError):
            pass
        yield step, store
