"""Contract: large batches (the Cypher store's batch queries) give the answers of memory's:
the blocked state they maintain, the change feed, and all or nothing when rolled back."""

from __future__ import annotations

import random

import pytest

import intentgraph as ig

E = ig.EdgeType
S = ig.IntentStatus
N = 600  # more than one 256-edge bulk view, more than one 2,000-row query with the edges


def _batch(seed: int) -> tuple[list[ig.Intent], list[ig.Edge]]:
    """A forest and an acyclic set of blocking edges, every status, in random order, with
    some edges given twice and some of other types."""
    rng = random.Random(seed)
    statuses = [S.ACTIVE] * 5 + [S.COMPLETED, S.SUSPENDED, S.FAILED, S.ARCHIVED]
    intents = [
        ig.Intent(id=f"i{k:04d}", name=f"n{k}", status=rng.choice(statuses), priority=k % 4)
        for k in range(N)
    ]
    edges = [
        ig.Edge(source=f"i{k:04d}", target=f"i{rng.randrange(k):04d}", type=E.IS_SUBGOAL_OF)
        for k in range(1, N)
        if rng.random() < 0.8
    ]
    for _ in range(N):
        low, high = sorted(rng.sample(range(N), 2))
        kind = rng.choice([E.DEPENDS_ON, E.BLOCKS, E.RELATED_TO, E.CONFLICTS_WITH])
        if kind is E.BLOCKS:  # the lower blocks the higher: every wait points downwards
            edges.append(ig.Edge(source=f"i{low:04d}", target=f"i{high:04d}", type=kind))
        else:
            edges.append(ig.Edge(source=f"i{high:04d}", target=f"i{low:04d}", type=kind))
    rng.shuffle(edges)
    return intents, edges + edges[:40]


def _ids(intents: list[ig.Intent]) -> list[str]:
    return [i.id for i in intents]


def _answers(store: ig.IntentStorage) -> tuple[object, ...]:
    feed = store.changes(0, limit=None)
    bl = store.blocked()
    return (
        _ids(store.ready()),
        sorted((b.intent.id, _ids(b.blocked_by), _ids(b.subgoals), _ids(b.held_by)) for b in bl),
        [(c.seq, c.op, c.intent_id, c.target, c.type, c.status) for c in feed.changes],
        sorted((e.source, e.target, e.type.value) for e in store.edges()),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_bulk_writes_keep_the_blocked_state_and_the_feed_as_memory_does(store, seed):
    intents, edges = _batch(seed)
    third = len(edges) // 3
    results = []
    for s in (ig.open_store("memory://"), store):
        s.put_many(intents)
        s.add_edges(edges[:third])
        with pytest.raises(RuntimeError), s.transaction():
            s.add_edges(edges[third:])
            raise RuntimeError("rolled back")
        results.append(_answers(s))
        s.add_edges(edges[third:])
        s.add_edges(edges[:50])  # again: existing edges get their new values
        results.append(_answers(s))
    assert results[0] == results[2]
    assert results[1] == results[3]
    assert store.check_integrity() == []
