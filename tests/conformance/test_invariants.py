"""Contract: the graph invariants every backend enforces at write time.

``CycleError.cycle`` lists the ids in dependency order, starting at the dependent of the new
edge: for ``c DEPENDS_ON a`` closing ``a -> b -> c`` it is ``["c", "a", "b"]`` (each id depends
on the next, the last on the first). For ``IS_SUBGOAL_OF`` it starts at the new child and
walks up the parents.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import edge_keys, put, snapshot

E = ig.EdgeType


@pytest.fixture
def g(store):
    for intent_id in ("a", "b", "c", "d", "e", "r"):
        put(store, intent_id)
    return store


# --- one parent -------------------------------------------------------------------------------


def test_a_second_parent_raises_multiple_parents(g):
    g.add_edge("a", "r", E.IS_SUBGOAL_OF)
    before = snapshot(g)
    with pytest.raises(errors.MultipleParents) as info:
        g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    assert (info.value.intent_id, info.value.parent_id, info.value.new_parent_id) == (
        "a",
        "r",
        "b",
    )
    assert isinstance(info.value, errors.InvalidEdge)
    assert snapshot(g) == before


def test_re_adding_the_same_parent_edge_is_not_a_second_parent(g):
    g.add_edge("a", "r", E.IS_SUBGOAL_OF)
    g.add_edge("a", "r", E.IS_SUBGOAL_OF, weight=2.0)
    assert [(e.target, e.weight) for e in g.edges("a", direction="out")] == [("r", 2.0)]


def test_a_parent_may_have_many_children(g):
    for child in ("a", "b", "c"):
        g.add_edge(child, "r", E.IS_SUBGOAL_OF)
    assert len(g.edges("r", type=E.IS_SUBGOAL_OF, direction="in")) == 3


def test_a_new_parent_is_allowed_once_the_old_edge_is_removed(g):
    g.add_edge("a", "r", E.IS_SUBGOAL_OF)
    g.remove_edge("a", "r", E.IS_SUBGOAL_OF)
    g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    assert g.parent("a").id == "b"


def test_a_new_parent_is_allowed_once_the_old_parent_is_deleted(g):
    g.add_edge("a", "r", E.IS_SUBGOAL_OF)
    g.delete("r")
    g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    assert g.parent("a").id == "b"


def test_two_parents_in_one_batch_write_nothing(g):
    with pytest.raises(errors.MultipleParents):
        g.add_edges(
            [
                ig.Edge(source="a", target="r", type=E.IS_SUBGOAL_OF),
                ig.Edge(source="a", target="b", type=E.IS_SUBGOAL_OF),
            ]
        )
    assert g.edges() == []


# --- subgoal cycles ---------------------------------------------------------------------------


def test_a_two_node_subgoal_cycle_raises_cycle_error(g):
    g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("b", "a", E.IS_SUBGOAL_OF)
    assert info.value.cycle == ["b", "a"]
    assert info.value.edge_type == "IS_SUBGOAL_OF"
    assert edge_keys(g.edges()) == [("a", "b", "IS_SUBGOAL_OF")]


def test_a_three_node_subgoal_cycle_raises_cycle_error_naming_it(g):
    g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    g.add_edge("b", "c", E.IS_SUBGOAL_OF)
    before = snapshot(g)
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("c", "a", E.IS_SUBGOAL_OF)
    assert info.value.cycle == ["c", "a", "b"]
    assert "c -> a -> b -> c" in str(info.value)
    assert snapshot(g) == before


# --- dependency cycles ------------------------------------------------------------------------


def test_a_two_node_depends_on_cycle_raises_cycle_error(g):
    g.add_edge("a", "b", E.DEPENDS_ON)
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("b", "a", E.DEPENDS_ON)
    assert info.value.cycle == ["b", "a"]
    assert info.value.edge_type == "DEPENDS_ON"


def test_a_three_node_depends_on_cycle_names_it_from_the_new_dependent(g):
    g.add_edge("a", "b", E.DEPENDS_ON)
    g.add_edge("b", "c", E.DEPENDS_ON)
    before = snapshot(g)
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("c", "a", E.DEPENDS_ON)
    assert info.value.cycle == ["c", "a", "b"]
    assert "c -> a -> b -> c" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert snapshot(g) == before


def test_a_long_depends_on_chain_cannot_be_closed(store):
    names = [f"n{i:02d}" for i in range(30)]
    store.put_many([ig.Intent(id=n, name=n) for n in names])
    store.add_edges([ig.Edge(source=x, target=y, type=E.DEPENDS_ON) for x, y in pairwise(names)])
    with pytest.raises(errors.CycleError) as info:
        store.add_edge("n29", "n00", E.DEPENDS_ON)
    assert info.value.cycle == ["n29", *names[:-1]]
    with pytest.raises(errors.CycleError) as info:
        store.add_edge("n10", "n05", E.DEPENDS_ON)
    assert info.value.cycle == ["n10", "n05", "n06", "n07", "n08", "n09"]
    assert len(store.edges()) == 29


def test_a_shortcut_in_a_chain_is_not_a_cycle(g):
    g.add_edge("a", "b", E.DEPENDS_ON)
    g.add_edge("b", "c", E.DEPENDS_ON)
    g.add_edge("a", "c", E.DEPENDS_ON)
    assert len(g.edges()) == 3


def test_a_diamond_is_not_a_cycle(g):
    g.add_edge("a", "b", E.DEPENDS_ON)
    g.add_edge("a", "c", E.DEPENDS_ON)
    g.add_edge("b", "d", E.DEPENDS_ON)
    g.add_edge("c", "d", E.DEPENDS_ON)
    assert len(g.edges()) == 4
    assert g.cycles() == []


def test_depends_on_plus_blocks_the_same_way_is_the_same_dependency(g):
    g.add_edge("a", "b", E.DEPENDS_ON)  # a needs b
    g.add_edge("b", "a", E.BLOCKS)  # b blocks a: a needs b
    assert len(g.edges()) == 2
    assert [i.id for i in g.dependencies("a")] == ["b"]


def test_depends_on_plus_blocks_the_other_way_is_a_cycle(g):
    g.add_edge("a", "b", E.DEPENDS_ON)  # a needs b
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("a", "b", E.BLOCKS)  # a blocks b: b needs a
    assert info.value.cycle == ["b", "a"]
    assert info.value.edge_type == "BLOCKS"
    assert edge_keys(g.edges()) == [("a", "b", "DEPENDS_ON")]


def test_blocks_edges_alone_form_cycles(g):
    g.add_edge("a", "b", E.BLOCKS)  # b needs a
    g.add_edge("b", "c", E.BLOCKS)  # c needs b
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("c", "a", E.BLOCKS)  # a needs c
    assert info.value.cycle == ["a", "c", "b"]


def test_a_cycle_mixing_depends_on_and_blocks_is_found(g):
    g.add_edge("a", "b", E.DEPENDS_ON)  # a needs b
    g.add_edge("c", "b", E.BLOCKS)  # b needs c
    g.add_edge("c", "d", E.DEPENDS_ON)  # c needs d
    before = snapshot(g)
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("d", "a", E.DEPENDS_ON)  # d needs a
    assert info.value.cycle == ["d", "a", "b", "c"]
    with pytest.raises(errors.CycleError) as info:
        g.add_edge("a", "d", E.BLOCKS)  # d needs a, said the other way
    assert info.value.cycle == ["d", "a", "b", "c"]
    assert snapshot(g) == before


@pytest.mark.parametrize("edge_type", [E.ENABLES, E.RELATED_TO, E.TRIGGERED_BY, E.CONFLICTS_WITH])
def test_non_blocking_edge_types_may_form_cycles(g, edge_type):
    g.add_edge("a", "b", edge_type)
    g.add_edge("b", "c", edge_type)
    g.add_edge("c", "a", edge_type)
    assert len(g.edges()) == 3
    assert g.cycles() == []


def test_subgoal_and_dependency_edges_are_checked_separately(g):
    g.add_edge("a", "b", E.IS_SUBGOAL_OF)
    g.add_edge("b", "a", E.DEPENDS_ON)  # the parent needs its child: not a cycle
    assert len(g.edges()) == 2
