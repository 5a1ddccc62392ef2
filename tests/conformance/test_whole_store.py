"""The whole-store primitives on every backend: snapshot, bulk_load, check_integrity and
rebuild_derived_state."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase
from intentgraph._codec import edge_to_json, intent_to_json
from intentgraph.errors import ReadOnlyStore, TransactionError
from tests.conftest import BACKENDS, url_for

E = ig.EdgeType


def fill(store: StoreBase) -> None:
    store.put_many(
        [
            ig.Intent(id="root", name="root"),
            ig.Intent(id="a", name="a", priority=2, metadata={"k": [1, 2]}),
            ig.Intent(id="b", name="b", status=ig.IntentStatus.FAILED),
            ig.Intent(id="c", name="c"),
        ]
    )
    store.claim("a", worker="w1")  # a lease to copy
    store.add_edge("a", "root", E.IS_SUBGOAL_OF)
    store.add_edge("c", "b", E.IS_SUBGOAL_OF)
    store.add_edge("a", "c", E.DEPENDS_ON, weight=0.5)
    store.add_edge("c", "a", E.CONFLICTS_WITH)


def dump(store: StoreBase) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    intents = [i.model_dump(mode="json") for i in store.list(order_by="id")]
    edges = [e.model_dump(mode="json") for e in store.edges()]
    return intents, edges


def flat(batches: Iterator[list[ig.Intent]] | Iterator[list[ig.Edge]]) -> list[object]:
    return [x for batch in batches for x in batch]


def test_a_snapshot_gives_every_record_in_key_order_with_counts(store: StoreBase) -> None:
    fill(store)
    with store.snapshot(batch_size=3) as view:
        batches = list(view.intents())
        assert [len(b) for b in batches] == [3, 1]
        assert [i.id for b in batches for i in b] == ["a", "b", "c", "root"]
        assert view.intent_count == 4
        assert view.edge_count == 4
        assert flat(view.edges()) == store.edges()
        assert view.changes == store.changes(limit=0).latest
        # The JSON text is what the codec writes of the same records.
        texts = [t for batch in view.intent_json() for t in batch]
        assert texts == [intent_to_json(i) for i in flat(view.intents())]  # type: ignore[arg-type]
        texts = [t for batch in view.edge_json() for t in batch]
        assert texts == [edge_to_json(e) for e in store.edges()]


def test_a_snapshot_does_not_see_writes_made_after_it_was_taken(store: StoreBase) -> None:
    fill(store)
    with store.snapshot(batch_size=1) as view:
        # From another thread: the snapshot holds no lock that would block it.
        writer = threading.Thread(target=lambda: store.put(ig.Intent(id="d", name="d")))
        writer.start()
        writer.join(10)
        assert not writer.is_alive()
        assert [i.id for i in flat(view.intents())] == ["a", "b", "c", "root"]
        assert view.intent_count == 4
    assert store.exists("d")


def test_a_snapshot_cannot_be_taken_inside_a_transaction(store: StoreBase) -> None:
    with store.transaction(), pytest.raises(TransactionError):
        store.snapshot()


@pytest.mark.parametrize("target_kind", BACKENDS)
def test_bulk_load_copies_every_record_as_it_is(
    store: StoreBase, target_kind: str, tmp_path: Path
) -> None:
    fill(store)
    (tmp_path / "t").mkdir()
    with ig.open_store(url_for(target_kind, tmp_path / "t")) as target:
        target.put(ig.Intent(id="gone", name="replaced away"))
        with store.snapshot() as view:
            result = target.bulk_load(flat(view.intents()), flat(view.edges()), replace=True)
        assert (result.intents, result.edges, result.removed_intents) == (4, 4, 1)
        assert dump(target) == dump(store)
        assert target.check_integrity() == []
        # the maintained state answers like the source
        assert [i.id for i in target.ready()] == [i.id for i in store.ready()]
        assert [b.intent.id for b in target.blocked()] == [b.intent.id for b in store.blocked()]
        feed = target.changes(0)
        assert not feed.complete and feed.latest == result.changes


def test_bulk_load_merges_and_replaces_records_with_the_same_key(store: StoreBase) -> None:
    fill(store)
    newer = store.get("c").model_copy(update={"name": "c2", "version": 9})
    edge = store.edges("a", type=E.DEPENDS_ON)[0].model_copy(update={"weight": 2.0})
    result = store.bulk_load([newer, ig.Intent(id="e", name="e", version=1)], [edge])
    assert (result.intents, result.edges, result.removed_intents) == (2, 1, 0)
    assert store.get("c").name == "c2" and store.get("c").version == 9
    assert store.count() == 5
    assert store.edges("a", type=E.DEPENDS_ON)[0].weight == 2.0
    assert len(store.edges()) == 4
    assert store.check_integrity() == []


def test_bulk_load_refuses_when_the_store_changed_since_the_snapshot(store: StoreBase) -> None:
    fill(store)
    with store.snapshot() as view:
        seen = view.changes
    store.put(ig.Intent(id="late", name="late"))
    before = dump(store)
    with pytest.raises(TransactionError, match="changed since"):
        store.bulk_load([ig.Intent(id="x", name="x", version=1)], [], expected_changes=seen)
    assert dump(store) == before


def test_a_failing_input_leaves_the_store_as_it_was(store: StoreBase) -> None:
    fill(store)
    before = dump(store)

    def intents() -> Iterator[ig.Intent]:
        yield ig.Intent(id="x", name="x", version=1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.bulk_load(intents(), [], replace=True)
    assert dump(store) == before
    store.put(ig.Intent(id="after", name="writes still work"))
    assert store.check_integrity() == []


class Refused(Exception):
    """What a ``confirm`` raises in these tests."""


@pytest.mark.parametrize("as_json", [False, True], ids=["bulk_load", "bulk_load_json"])
@pytest.mark.parametrize("replace", [False, True], ids=["merge", "replace"])
def test_confirm_is_asked_once_after_every_record_and_a_refusal_writes_nothing(
    store: StoreBase, as_json: bool, replace: bool
) -> None:
    fill(store)
    before = dump(store)
    read: list[str] = []
    asked: list[list[str]] = []

    def intents() -> Iterator[ig.Intent]:
        for name in ("x", "y"):
            read.append(name)
            yield ig.Intent(id=name, name=name, version=1)

    def edges() -> Iterator[ig.Edge]:
        read.append("x->y")
        yield edge("x", "y", E.DEPENDS_ON)

    def load(confirm: Callable[[], object]) -> ig.LoadResult:
        if as_json:
            return store.bulk_load_json(
                (intent_to_json(i) for i in intents()),
                (edge_to_json(e) for e in edges()),
                replace=replace,
                confirm=confirm,
            )
        return store.bulk_load(intents(), edges(), replace=replace, confirm=confirm)

    def refuse() -> None:
        asked.append(list(read))
        raise Refused

    with pytest.raises(Refused):
        load(refuse)
    assert asked == [["x", "y", "x->y"]]  # once, and only when every record was read
    assert dump(store) == before
    read.clear()
    result = load(lambda: asked.append(list(read)))
    assert (result.intents, result.edges) == (2, 1)
    assert asked[-1] == ["x", "y", "x->y"] and len(asked) == 2
    assert store.get("x").name == "x" and store.count() == (2 if replace else 6)
    assert store.check_integrity() == []


def test_a_clean_store_has_no_integrity_problem_and_nothing_to_rebuild(store: StoreBase) -> None:
    fill(store)
    assert store.check_integrity() == []
    assert store.rebuild_derived_state() == 0


@pytest.mark.parametrize("kind", ["json", "sqlite"])
def test_a_read_only_store_refuses_bulk_load(kind: str, tmp_path: Path) -> None:
    url = url_for(kind, tmp_path)
    with ig.open_store(url) as writer:
        writer.put(ig.Intent(id="a", name="a"))
    with ig.open_store(url + "?read_only=1") as reader:
        with pytest.raises(ReadOnlyStore):
            reader.bulk_load([], [])
        with reader.snapshot() as view:
            assert view.intent_count == 1


@pytest.mark.parametrize("target_kind", BACKENDS)
def test_bulk_load_json_stores_the_written_text_like_bulk_load(
    store: StoreBase, target_kind: str, tmp_path: Path
) -> None:
    fill(store)
    (tmp_path / "t").mkdir()
    with ig.open_store(url_for(target_kind, tmp_path / "t")) as target:
        with store.snapshot() as view:
            texts = [t for batch in view.intent_json() for t in batch]
            edge_texts = [t for batch in view.edge_json() for t in batch]
        result = target.bulk_load_json(texts, edge_texts, replace=True)
        assert (result.intents, result.edges) == (4, 4)
        assert dump(target) == dump(store)
        assert target.check_integrity() == []
        assert target.rebuild_derived_state() == 0


def edge(source: str, target: str, etype: ig.EdgeType) -> ig.Edge:
    return ig.Edge(source=source, target=target, type=etype)


BROKEN_LOADS = {
    # Each loads onto fill()'s graph (merge) and breaks a rule writes keep.
    "a subgoal cycle": ([], [edge("root", "a", E.IS_SUBGOAL_OF)]),
    "two parents": ([], [edge("a", "b", E.IS_SUBGOAL_OF)]),
    "a dependency cycle": ([], [edge("c", "a", E.DEPENDS_ON)]),
    "a cycle through BLOCKS": ([], [edge("a", "c", E.BLOCKS)]),
    "a cycle among new intents": (
        [ig.Intent(id="x", name="x"), ig.Intent(id="y", name="y")],
        [edge("x", "y", E.IS_SUBGOAL_OF), edge("y", "x", E.IS_SUBGOAL_OF)],
    ),
    "a self-loop": ([], [ig.Edge.model_construct(source="a", target="a", type=E.RELATED_TO)]),
    "an invalid intent": ([ig.Intent.model_construct(id="bad id", name="")], []),
    "an edge to nowhere": ([], [edge("a", "ghost", E.DEPENDS_ON)]),
}


@pytest.mark.parametrize(
    ("case", "as_json"),
    # bulk_load_json takes records checked before (an invalid one is the caller's bug), and
    # checks the graph as bulk_load does unless told the caller has.
    [(case, False) for case in sorted(BROKEN_LOADS)]
    + [(case, True) for case in sorted(BROKEN_LOADS) if case != "an invalid intent"],
)
def test_bulk_load_refuses_records_that_break_the_rules_and_writes_nothing(
    store: StoreBase, case: str, as_json: bool
) -> None:
    fill(store)
    before = dump(store)
    intents, edges = BROKEN_LOADS[case]
    with pytest.raises((ig.errors.InvalidEdge, ig.errors.InvalidIntent)):
        if as_json:
            store.bulk_load_json(map(intent_to_json, intents), map(edge_to_json, edges))
        else:
            store.bulk_load(intents, edges)
    assert dump(store) == before
    assert store.check_integrity() == []
