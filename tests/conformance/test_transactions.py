"""Contract: ``transaction()`` groups writes, all or nothing, and nests."""

from __future__ import annotations

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import edge_keys, ids, make, put, reopen, snapshot

E = ig.EdgeType
S = ig.IntentStatus


class Boom(Exception):
    """Raised by a test to abort a transaction."""


@pytest.fixture
def seeded(store):
    for intent_id in ("a", "b", "c"):
        put(store, intent_id, goal="seed")
    store.add_edge("a", "b", E.DEPENDS_ON)
    store.add_edge("c", "b", E.RELATED_TO)
    return store


def test_a_transaction_that_completes_keeps_every_write(seeded):
    with seeded.transaction():
        put(seeded, "d")
        seeded.add_edge("d", "a", E.IS_SUBGOAL_OF)
        seeded.set_status("a", S.EXECUTING)
    assert ids(seeded.list(order_by="id")) == ["a", "b", "c", "d"]
    assert seeded.parent("d").id == "a"
    assert seeded.get("a").status is S.EXECUTING


def test_an_empty_transaction_changes_nothing(seeded):
    before = snapshot(seeded)
    with seeded.transaction():
        pass
    assert snapshot(seeded) == before


def test_a_transaction_that_raises_rolls_back_every_write(seeded):
    before = snapshot(seeded)
    with pytest.raises(Boom), seeded.transaction():
        put(seeded, "d")
        seeded.put_many([make("e"), make("f")])
        seeded.update(make("a", goal="changed"))
        seeded.set_status("b", S.COMPLETED)
        seeded.claim("c")
        seeded.add_edge("d", "a", E.IS_SUBGOAL_OF)
        seeded.add_edge("a", "b", E.DEPENDS_ON, weight=9.0)
        seeded.remove_edge("c", "b", E.RELATED_TO)
        seeded.add_edges([ig.Edge(source="e", target="f", type=E.CONFLICTS_WITH)])
        seeded.delete("c")
        raise Boom
    assert snapshot(seeded) == before
    assert seeded.get("a").version == 1


def test_a_rolled_back_delete_restores_the_intent_and_its_edges(seeded):
    before = snapshot(seeded)
    with pytest.raises(Boom), seeded.transaction():
        seeded.delete("b")
        assert seeded.exists("b") is False
        raise Boom
    assert snapshot(seeded) == before
    assert edge_keys(seeded.edges("b")) == [("a", "b", "DEPENDS_ON"), ("c", "b", "RELATED_TO")]


def test_reads_inside_a_transaction_see_its_own_writes(seeded):
    with seeded.transaction():
        put(seeded, "d", goal="new")
        seeded.add_edge("d", "a", E.DEPENDS_ON)
        seeded.add_edge("d", "c", E.IS_SUBGOAL_OF)
        seeded.update(make("a", goal="changed"))
        assert seeded.get("d").goal == "new"
        assert seeded.exists("d") is True
        assert seeded.count() == 4
        assert ids(seeded.list(text="changed")) == ["a"]
        assert ids(seeded.dependencies("d", transitive=True)) == ["a", "b"]
        assert ids(seeded.children("c")) == ["d"]
        assert edge_keys(seeded.edges("d")) == [
            ("d", "a", "DEPENDS_ON"),
            ("d", "c", "IS_SUBGOAL_OF"),
        ]


def test_a_failing_write_that_propagates_out_of_a_transaction_undoes_earlier_writes(seeded):
    before = snapshot(seeded)
    with pytest.raises(errors.IntentExists), seeded.transaction():
        put(seeded, "d")
        seeded.add_edge("d", "a", E.DEPENDS_ON)
        seeded.set_status("a", S.SUSPENDED)
        put(seeded, "a")  # already stored
    assert snapshot(seeded) == before


def test_a_rejected_edge_that_propagates_out_of_a_transaction_undoes_earlier_writes(seeded):
    before = snapshot(seeded)
    with pytest.raises(errors.CycleError), seeded.transaction():
        put(seeded, "d")
        seeded.add_edge("b", "d", E.DEPENDS_ON)
        seeded.add_edge("d", "a", E.DEPENDS_ON)  # a -> b -> d -> a
    assert snapshot(seeded) == before


def test_a_failing_write_caught_inside_a_transaction_leaves_the_other_writes(seeded):
    with seeded.transaction():
        put(seeded, "d")
        with pytest.raises(errors.IntentExists):
            seeded.put_many([make("e"), make("a")])
        put(seeded, "f")
    assert ids(seeded.list(order_by="id")) == ["a", "b", "c", "d", "f"]


def test_a_nested_transaction_that_raises_and_is_caught_keeps_the_outer_writes(seeded):
    with seeded.transaction():
        put(seeded, "outer1")
        with pytest.raises(Boom), seeded.transaction():
            put(seeded, "inner")
            seeded.add_edge("inner", "a", E.DEPENDS_ON)
            seeded.set_status("a", S.ARCHIVED)
            raise Boom
        assert seeded.exists("inner") is False
        assert seeded.get("a").status is S.ACTIVE
        put(seeded, "outer2")
    assert ids(seeded.list(order_by="id")) == ["a", "b", "c", "outer1", "outer2"]
    assert seeded.get("a").status is S.ACTIVE
    assert edge_keys(seeded.edges("a")) == [("a", "b", "DEPENDS_ON")]


def test_a_nested_transaction_that_completes_is_undone_when_the_outer_one_raises(seeded):
    before = snapshot(seeded)
    with pytest.raises(Boom), seeded.transaction():
        put(seeded, "outer")
        with seeded.transaction():
            put(seeded, "inner")
            with seeded.transaction():
                put(seeded, "innermost")
        assert seeded.exists("innermost") is True
        raise Boom
    assert snapshot(seeded) == before


def test_the_store_works_normally_after_a_rolled_back_transaction(seeded):
    with pytest.raises(Boom), seeded.transaction():
        put(seeded, "d")
        raise Boom
    put(seeded, "d", goal="second try")
    assert seeded.get("d").goal == "second try"
    assert seeded.get("d").version == 1


def test_committed_writes_persist_and_rolled_back_ones_do_not(seeded, store_url, backend):
    if backend == "memory":
        pytest.skip("a memory store does not persist")
    with seeded.transaction():
        put(seeded, "kept")
    with pytest.raises(Boom), seeded.transaction():
        put(seeded, "lost")
        seeded.delete("a")
        raise Boom
    before = snapshot(seeded)
    with reopen(seeded, store_url) as again:
        assert snapshot(again) == before
        assert again.exists("kept") is True
        assert again.exists("lost") is False


@pytest.mark.parametrize("operation", ["close", "compact"])
def test_close_or_compact_inside_a_transaction_is_refused_and_persists_nothing(
    store: ig.IntentStorage, store_url: str, operation: str
) -> None:
    with pytest.raises(RuntimeError, match="leaves"), store.transaction():
        store.put(ig.Intent(id="ghost", name="never committed"))
        with pytest.raises(ig.errors.TransactionError, match=operation):
            getattr(store, operation)()
        raise RuntimeError("the block leaves with an error")
    assert not store.exists("ghost")
    store.put(ig.Intent(id="kept", name="the store goes on"))
    if store.backend != "memory":
        store = reopen(store, store_url)
    assert [i.id for i in store.list()] == ["kept"]
    store.close()
