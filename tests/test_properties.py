"""Properties of the graph queries on random graphs (every backend), and of the model."""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph._base import StoreBase
from intentgraph.errors import CycleError, InvalidEdge, InvalidIntent
from intentgraph.models import EdgeType, Intent, IntentStatus
from tests.conftest import BACKENDS, SERVER_BACKENDS, release_url, url_for

PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SERVER_EXAMPLES = 20
"""Examples on a graph server, where each one opens a graph and every write is a few round
trips: a third of the others' (the state machine and the contract suite cover them too)."""
ORDERING = [EdgeType.IS_SUBGOAL_OF, EdgeType.DEPENDS_ON, EdgeType.BLOCKS]
backends = pytest.mark.parametrize("kind", BACKENDS)


def on_every_backend(**strategies: Any) -> Callable[[Callable[..., None]], Callable[[str], None]]:
    """Check a property on every backend, drawing its examples inside the test so that the
    number of examples can depend on the backend (``SERVER_EXAMPLES`` on a graph server)."""

    def wrap(body: Callable[..., None]) -> Callable[[str], None]:
        @backends
        def test(kind: str) -> None:
            examples = SERVER_EXAMPLES if kind in SERVER_BACKENDS else PROPS.max_examples

            @settings(PROPS, max_examples=examples)
            @given(**strategies)
            def check(**drawn: Any) -> None:
                body(kind, **drawn)

            check()

        test.__name__ = test.__qualname__ = body.__name__
        test.__doc__ = body.__doc__
        return test

    return wrap


@contextmanager
def fresh_store(kind: str) -> Iterator[StoreBase]:
    """An empty store of ``kind`` in its own temporary directory (one per example)."""
    directory = Path(tempfile.mkdtemp(prefix="ig-props-"))
    url = url_for(kind, directory)
    try:
        with ig.open_store(url) as store:
            yield store
        release_url(url)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def seeded(store: StoreBase, n: int, statuses: list[IntentStatus] | None = None) -> list[str]:
    ids = [f"n{i}" for i in range(n)]
    status = statuses or [IntentStatus.ACTIVE] * n
    store.put_many(
        Intent(id=i, name=i, priority=(k * 7) % 3, status=s)
        for k, (i, s) in enumerate(zip(ids, status, strict=True))
    )
    return ids


def try_add(store: StoreBase, src: str, dst: str, etype: EdgeType) -> bool:
    """Add an edge; on an invariant error, check that the edges did not change."""
    before = store.edges()
    try:
        store.add_edge(src, dst, etype)
    except InvalidEdge:
        assert store.edges() == before, "a rejected edge changed the store"
        return False
    return True


def seeded_with_edges(
    store: StoreBase, n: int, picks: list[tuple[int, int, EdgeType]]
) -> list[str]:
    """Seed ``n`` intents and try every picked edge between them; return the ids."""
    ids = seeded(store, n)
    for a, b, etype in picks:
        try_add(store, ids[a % n], ids[b % n], etype)
    return ids


def before_after_pairs(store: StoreBase) -> set[tuple[str, str]]:
    """(first, later) pairs ``plan`` must respect: dependency first, subgoal before parent."""
    pairs = set()
    for e in store.edges():
        if e.type is EdgeType.IS_SUBGOAL_OF or e.type is EdgeType.BLOCKS:
            pairs.add((e.source, e.target))
        elif e.type is EdgeType.DEPENDS_ON:
            pairs.add((e.target, e.source))
    return pairs


def reach(start: str, step: dict[str, set[str]]) -> dict[str, int]:
    """Breadth-first distances from ``start`` (excluded), computed independently."""
    dist, queue = {start: 0}, deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(step.get(node, ())):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    del dist[start]
    return dist


node_count = st.integers(2, 7)
edge_picks = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from(ORDERING)))


# --- graph properties (every backend) -----------------------------------------------------


@on_every_backend(n=node_count, picks=edge_picks, rank=st.randoms(use_true_random=False))
def test_plan_orders_a_random_dag_dependencies_and_subgoals_first(
    kind: str, n: int, picks: list[tuple[int, int, EdgeType]], rank: Any
) -> None:
    with fresh_store(kind) as store:
        ids = seeded(store, n)
        order = ids[:]
        rank.shuffle(order)  # a hidden order every edge agrees with: the graph is a DAG
        pos = {i: k for k, i in enumerate(order)}
        for a, b, etype in picks:
            first, later = sorted((ids[a % n], ids[b % n]), key=pos.__getitem__)
            if etype is EdgeType.DEPENDS_ON:
                try_add(store, later, first, etype)
            else:  # IS_SUBGOAL_OF child->parent, BLOCKS blocker->blocked: source first
                try_add(store, first, later, etype)
        for root in ids:
            plan = [i.id for i in store.plan(root)]
            assert sorted(plan) == sorted(node.intent.id for node in store.subtree(root))
            where = {i: k for k, i in enumerate(plan)}
            for first, later in before_after_pairs(store):
                if first in where and later in where:
                    assert where[first] < where[later], (first, later, plan)


@on_every_backend(n=node_count, picks=edge_picks)
def test_plan_raises_cycle_error_only_for_a_real_cycle(
    kind: str, n: int, picks: list[tuple[int, int, EdgeType]]
) -> None:
    with fresh_store(kind) as store:
        ids = seeded_with_edges(store, n, picks)
        pairs = before_after_pairs(store)
        for root in ids:
            try:
                store.plan(root)
            except CycleError as exc:
                ring = exc.cycle
                assert len(ring) >= 2 and len(set(ring)) == len(ring)
                assert all((x, y) in pairs for x, y in zip(ring, ring[1:] + ring[:1], strict=True))


@on_every_backend(
    n=node_count,
    picks=edge_picks,
    statuses=st.lists(st.sampled_from(list(IntentStatus)), min_size=7, max_size=7),
)
def test_ready_never_returns_a_waiting_intent_and_blocked_explains_the_rest(
    kind: str, n: int, picks: list[tuple[int, int, EdgeType]], statuses: list[IntentStatus]
) -> None:
    with fresh_store(kind) as store:
        ids = seeded(store, n, statuses[:n])
        for a, b, etype in picks:
            try_add(store, ids[a % n], ids[b % n], etype)
        ready = store.ready()
        holding = {IntentStatus.SUSPENDED, IntentStatus.FAILED, IntentStatus.ARCHIVED}
        finished = {IntentStatus.COMPLETED, IntentStatus.ARCHIVED}
        for intent in ready:
            assert intent.status is IntentStatus.ACTIVE
            assert all(d.status is IntentStatus.COMPLETED for d in store.dependencies(intent.id))
            assert all(c.status in finished for c in store.children(intent.id))
            assert not any(a.status in holding for a in store.ancestors(intent.id))
        blocked = {b.intent.id: b for b in store.blocked()}
        ready_ids = {i.id for i in ready}
        active = {i.id for i in store.list(status=IntentStatus.ACTIVE)}
        assert not ready_ids & set(blocked)
        assert active - ready_ids == set(blocked)
        for b in blocked.values():
            assert b.blocked_by or b.subgoals or b.held_by
            # held: something it needs will not finish by itself; every holder is one
            assert all(h.status in holding for h in b.held_by)
            assert {h.id for h in b.held_by} <= {
                h.id
                for h in store.list(status=tuple(holding))
                if b.intent.id in {i.id for i in store.impact(h.id)}
            }
        for limit in range(4):
            assert store.ready(limit=limit) == ready[:limit]


@on_every_backend(
    n=node_count,
    picks=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.sampled_from(EdgeType))),
)
def test_random_edge_sequences_keep_every_invariant(
    kind: str, n: int, picks: list[tuple[int, int, EdgeType]]
) -> None:
    with fresh_store(kind) as store:
        ids = seeded(store, n)
        for a, b, etype in picks:
            try_add(store, ids[a % n], ids[b % n], etype)
            try_add(store, ids[a % n], "missing", etype)
        before = store.edges()
        batch = [ig.Edge(source=ids[a % n], target=ids[b % n], type=t) for a, b, t in picks]
        try:
            store.add_edges(batch)
        except InvalidEdge:
            assert store.edges() == before, "a rejected batch changed the store"
        assert store.cycles() == []
        edges = store.edges()
        assert all(e.source != e.target for e in edges)
        children = [e.source for e in edges if e.type is EdgeType.IS_SUBGOAL_OF]
        assert len(children) == len(set(children)), "an intent has two parents"


@on_every_backend(n=node_count, picks=edge_picks)
def test_transitive_dependents_and_dependencies_match_closures_of_edges(
    kind: str, n: int, picks: list[tuple[int, int, EdgeType]]
) -> None:
    with fresh_store(kind) as store:
        ids = seeded_with_edges(store, n, picks)
        needs: dict[str, set[str]] = {}
        needed_by: dict[str, set[str]] = {}
        for e in store.edges():
            if e.type not in (EdgeType.DEPENDS_ON, EdgeType.BLOCKS):
                continue
            later, first = (e.source, e.target) if e.type is EdgeType.DEPENDS_ON else e.key[1::-1]
            needs.setdefault(later, set()).add(first)
            needed_by.setdefault(first, set()).add(later)
        for x in ids:
            for query, step in ((store.dependents, needed_by), (store.dependencies, needs)):
                dist = reach(x, step)
                want = sorted(dist, key=lambda i: (dist[i], i))
                assert [i.id for i in query(x, transitive=True)] == want
                assert {i.id for i in query(x)} == {i for i, d in dist.items() if d == 1}


# --- the model ------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=3)
zones = st.builds(
    timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))
)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=zones
)
valid_ids = st.text(
    st.characters(blacklist_categories=["Cc", "Zs", "Zl", "Zp", "Cs"]), min_size=1, max_size=200
).filter(lambda s: not any(c.isspace() for c in s))
valid_intents = st.builds(
    Intent,
    id=valid_ids,
    name=st.text(min_size=1, max_size=500).filter(str.strip),
    goal=st.text(max_size=200),
    original_request=st.none() | st.text(),
    status=st.sampled_from(list(IntentStatus)),
    priority=st.integers(-(2**63), 2**63 - 1),
    constraints=json_objects,
    preferences=json_objects,
    success_criteria=json_values,
    metadata=json_objects,
    session_id=st.none() | st.text(max_size=200),
    created_at=moments,
    updated_at=moments,
    version=st.integers(0, 2**63 - 1),
)


@settings(max_examples=200, deadline=None)
@given(intent=valid_intents)
def test_an_intent_survives_a_json_round_trip(intent: Intent) -> None:
    assert Intent.model_validate_json(intent.model_dump_json()) == intent
    assert Intent.model_validate(intent.model_dump()) == intent
    assert intent.created_at.utcoffset() == timedelta(0)


BAD_FIELDS = st.sampled_from(
    [
        {"name": ""},
        {"name": " \t\n"},
        {"name": "x" * 501},
        {"id": ""},
        {"id": "has space"},
        {"id": "ctl\x01"},
        {"id": "x" * 201},
        {"priority": 2**63},
        {"priority": -(2**63) - 1},
        {"priority": "high"},
        {"status": "done"},
        {"version": -1},
        {"created_at": datetime(2024, 1, 1)},
        {"updated_at": "yesterday"},
        {"metadata": []},
        {"constraints": {"k": object()}},
        {"session_id": "s" * 201},
        {"unknown_field": 1},
    ]
)


@given(bad=BAD_FIELDS, intent=valid_intents)
def test_an_invalid_field_raises_invalid_intent(bad: dict[str, Any], intent: Intent) -> None:
    fields = {**intent.model_dump(), **bad}
    with pytest.raises(InvalidIntent) as caught:
        Intent(**fields)
    assert caught.value.errors and isinstance(caught.value, ValueError)
    with pytest.raises(InvalidIntent):
        Intent.model_validate(fields)


# --- where the reference disagrees with the written contract ----------------------------------


def test_assigning_an_invalid_field_raises_invalid_intent() -> None:
    intent = Intent(name="ok")
    with pytest.raises(InvalidIntent):
        intent.name = ""


def test_a_datetime_that_cannot_be_utc_raises_invalid_intent() -> None:
    with pytest.raises(InvalidIntent):
        Intent(name="x", created_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))


@backends
def test_update_never_moves_updated_at_backwards(kind: str) -> None:
    with fresh_store(kind) as store:
        future = datetime(2999, 1, 1, tzinfo=UTC)
        store.put(Intent(id="a", name="a", created_at=future, updated_at=future))
        updated = store.update(store.get("a").model_copy(update={"priority": 1}))
        assert updated.updated_at == future
        store.put(Intent(id="b", name="b"))
        before = store.now()  # the store's clock: the graph servers' counts milliseconds
        assert store.set_status("b", "completed").updated_at >= before


@backends
def test_plan_respects_a_dependency_path_that_leaves_the_subtree(kind: str) -> None:
    with fresh_store(kind) as store:
        store.put_many(Intent(id=i, name=i, priority=p) for i, p in (("a", 5), ("b", 0), ("c", 0)))
        store.put(Intent(id="root", name="root"))
        store.put(Intent(id="outside", name="outside"))
        for child in ("a", "c"):
            store.add_edge(child, "root", EdgeType.IS_SUBGOAL_OF)
        store.add_edge("a", "outside", EdgeType.DEPENDS_ON)  # a needs outside...
        store.add_edge("outside", "c", EdgeType.DEPENDS_ON)  # ...which needs c
        plan = [i.id for i in store.plan("root")]
        assert plan.index("c") < plan.index("a"), plan
