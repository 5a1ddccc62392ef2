"""Contract: an ``add_edges`` batch of several thousand edges (the Cypher store checks and
writes it 2,000 edges at a time, the next part checked while the last is written) fails as
memory fails, on the first edge at fault in the batch's order, and then writes nothing."""

from __future__ import annotations

import pytest

import intentgraph as ig
from intentgraph.errors import (
    CycleError,
    InvalidEdge,
    MissingEndpoint,
    MultipleParents,
    SelfLoop,
)

E = ig.EdgeType
N = 2200  # intents; the batch below holds about 4,400 edges: three parts of 2,000 or fewer


def _intents() -> list[ig.Intent]:
    statuses = [ig.IntentStatus.ACTIVE] * 3 + [ig.IntentStatus.COMPLETED, ig.IntentStatus.FAILED]
    return [
        ig.Intent(id=f"i{k:04d}", name=f"n{k}", status=statuses[k % 5], priority=k % 3)
        for k in range(N)
    ]


def _edges() -> list[ig.Edge]:
    """A tree (each intent under the one at half its number) and a chain of dependencies,
    interleaved, so every part holds both types."""
    edges: list[ig.Edge] = []
    for k in range(1, N):
        edges.append(ig.Edge(source=f"i{k:04d}", target=f"i{k // 2:04d}", type=E.IS_SUBGOAL_OF))
        if k % 7:
            edges.append(ig.Edge(source=f"i{k:04d}", target=f"i{k - 1:04d}", type=E.DEPENDS_ON))
    return edges


def _state(store: ig.IntentStorage) -> tuple[object, ...]:
    return (
        [i.id for i in store.ready()],
        sorted((b.intent.id, [i.id for i in b.blocked_by]) for b in store.blocked()),
        [(c.seq, c.op, c.intent_id, c.target, c.type) for c in store.changes(0).changes],
        sorted(e.model_dump_json() for e in store.edges()),
    )


def _failure(store: ig.IntentStorage, batch: list[ig.Edge]) -> BaseException:
    store.put_many(_intents())
    store.add_edge("i0001", "i0000", E.RELATED_TO)
    before = _state(store)
    with pytest.raises(InvalidEdge) as caught:
        store.add_edges(batch)
    assert _state(store) == before  # nothing of the batch, not even its first parts
    assert store.check_integrity() == []
    return caught.value


def _same_failure(store: ig.IntentStorage, batch: list[ig.Edge]) -> BaseException:
    error = _failure(store, batch)
    expected = _failure(ig.open_store("memory://"), batch)
    assert type(error) is type(expected)
    assert str(error) == str(expected)
    return error


def test_a_missing_endpoint_in_the_last_part_of_a_large_batch_writes_nothing(store):
    batch = [*_edges(), ig.Edge(source="i0005", target="ghost", type=E.DEPENDS_ON)]
    error = _same_failure(store, batch)
    assert isinstance(error, MissingEndpoint)
    assert (error.intent_id, error.role) == ("ghost", "target")


def test_a_missing_endpoint_is_named_before_a_later_cycle_in_a_large_batch(store):
    edges = _edges()
    batch = [
        *edges[:-3],
        ig.Edge(source="ghost", target="i0001", type=E.RELATED_TO),
        *edges[-3:],
        ig.Edge(source="i0000", target=f"i{N - 1:04d}", type=E.DEPENDS_ON),  # closes a cycle
    ]
    error = _same_failure(store, batch)
    assert isinstance(error, MissingEndpoint)
    assert (error.intent_id, error.role) == ("ghost", "source")


def test_a_cycle_in_the_last_part_of_a_large_batch_writes_nothing(store):
    batch = [
        *_edges(),
        ig.Edge(source="i0000", target="i0003", type=E.DEPENDS_ON),  # closes a cycle
        ig.Edge(source="i0002", target="ghost", type=E.DEPENDS_ON),  # after it: not named
    ]
    error = _same_failure(store, batch)
    assert isinstance(error, CycleError)


def test_a_self_loop_at_the_end_of_a_large_batch_is_named_before_earlier_faults(store):
    # Memory refuses a malformed edge before it looks at the store; the Cypher store makes a
    # large batch canonical while it reads the graph, and must still name the self-loop.
    batch = [
        ig.Edge(source="ghost", target="i0001", type=E.RELATED_TO),
        *_edges(),
        ig.Edge(source="i0000", target="i0003", type=E.DEPENDS_ON),  # closes a cycle
        ig.Edge(source="i0004", target="i0004", type=E.ENABLES),
    ]
    error = _same_failure(store, batch)
    assert isinstance(error, SelfLoop)


def test_a_second_parent_in_the_last_part_of_a_large_batch_writes_nothing(store):
    batch = [*_edges(), ig.Edge(source="i0007", target="i0001", type=E.IS_SUBGOAL_OF)]
    error = _same_failure(store, batch)
    assert isinstance(error, MultipleParents)


def test_an_edge_given_again_in_a_later_part_keeps_its_first_time_and_its_last_values(store):
    edges = _edges()
    again = [e.model_copy(update={"metadata": {"again": True}}) for e in edges[:30]]
    batch = [*edges, *again]
    answers = []
    for s in (ig.open_store("memory://"), store):
        s.put_many(_intents())
        s.add_edges(batch)
        answers.append(_state(s))
    assert answers[0] == answers[1]
    stored = store.edges("i0001", type=E.IS_SUBGOAL_OF, direction="out")
    assert stored[0].metadata == {"again": True}
    assert stored[0].created_at == edges[0].created_at
    assert store.check_integrity() == []
