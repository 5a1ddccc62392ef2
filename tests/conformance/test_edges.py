"""Contract: adding, reading and removing edges."""

from __future__ import annotations

import time

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import at, edge_keys, ids, put, reopen, snapshot

E = ig.EdgeType


@pytest.fixture
def abc(store):
    for intent_id in ("a", "b", "c", "d", "r"):
        put(store, intent_id)
    return store


# --- add_edge -------------------------------------------------------------------------------


def test_add_edge_returns_the_stored_edge(abc):
    edge = abc.add_edge("a", "b", E.DEPENDS_ON, weight=0.5, metadata={"why": ["x"]})
    assert isinstance(edge, ig.Edge)
    assert (edge.source, edge.target, edge.type) == ("a", "b", E.DEPENDS_ON)
    assert edge.weight == 0.5
    assert edge.metadata == {"why": ["x"]}
    assert edge.created_at.utcoffset().total_seconds() == 0
    assert abc.edges() == [edge]


def test_add_edge_accepts_the_type_as_a_string(abc):
    abc.add_edge("a", "b", "DEPENDS_ON")
    assert edge_keys(abc.edges()) == [("a", "b", "DEPENDS_ON")]


def test_add_edge_defaults_to_no_weight_and_empty_metadata(abc):
    edge = abc.add_edge("a", "b", E.RELATED_TO)
    assert edge.weight is None
    assert edge.metadata == {}


def test_re_adding_an_edge_updates_weight_and_metadata_and_keeps_created_at(abc):
    first = abc.add_edge("a", "b", E.DEPENDS_ON, weight=1.0, metadata={"v": 1})
    time.sleep(0.002)
    second = abc.add_edge("a", "b", E.DEPENDS_ON, weight=2.0, metadata={"v": 2})
    assert second.created_at == first.created_at
    assert (second.weight, second.metadata) == (2.0, {"v": 2})
    [stored] = abc.edges()
    assert (stored.weight, stored.metadata, stored.created_at) == (2.0, {"v": 2}, first.created_at)


def test_the_same_ends_with_different_types_are_different_edges(abc):
    abc.add_edge("a", "b", E.RELATED_TO)
    abc.add_edge("a", "b", E.DEPENDS_ON)
    abc.add_edge("a", "b", E.ENABLES)
    assert edge_keys(abc.edges()) == [
        ("a", "b", "DEPENDS_ON"),
        ("a", "b", "ENABLES"),
        ("a", "b", "RELATED_TO"),
    ]


@pytest.mark.parametrize("edge_type", list(E))
def test_a_self_loop_raises_self_loop_for_every_type(abc, edge_type):
    with pytest.raises(errors.SelfLoop) as info:
        abc.add_edge("a", "a", edge_type)
    assert info.value.intent_id == "a"
    assert isinstance(info.value, errors.InvalidEdge)
    assert abc.edges() == []


def test_a_missing_source_raises_missing_endpoint(abc):
    with pytest.raises(errors.MissingEndpoint) as info:
        abc.add_edge("ghost", "a", E.DEPENDS_ON)
    assert (info.value.intent_id, info.value.role) == ("ghost", "source")
    assert isinstance(info.value, LookupError)
    assert abc.edges() == []


def test_a_missing_target_raises_missing_endpoint(abc):
    with pytest.raises(errors.MissingEndpoint) as info:
        abc.add_edge("a", "ghost", E.RELATED_TO)
    assert (info.value.intent_id, info.value.role) == ("ghost", "target")
    assert abc.edges() == []


def test_an_unknown_edge_type_is_rejected_as_invalid(abc):
    with pytest.raises(errors.InvalidIntent):
        abc.add_edge("a", "b", "LIKES")
    assert abc.edges() == []


def test_a_non_finite_weight_is_rejected_as_invalid(abc):
    with pytest.raises(errors.InvalidIntent):
        abc.add_edge("a", "b", E.RELATED_TO, weight=float("nan"))
    assert abc.edges() == []


@pytest.mark.parametrize(
    "bad",
    [
        ("a", "a", E.RELATED_TO),  # self-loop
        ("a", "ghost", E.RELATED_TO),  # missing endpoint
        ("c", "d", E.IS_SUBGOAL_OF),  # second parent
        ("b", "a", E.DEPENDS_ON),  # cycle
        ("a", "b", E.BLOCKS),  # cycle through BLOCKS
    ],
)
def test_a_rejected_edge_leaves_the_edges_unchanged(abc, bad):
    abc.add_edge("a", "b", E.DEPENDS_ON, weight=1.0)
    abc.add_edge("c", "r", E.IS_SUBGOAL_OF)
    before = snapshot(abc)
    with pytest.raises(errors.InvalidEdge):
        abc.add_edge(*bad, weight=9.0)
    assert snapshot(abc) == before


def test_edge_metadata_survives_a_roundtrip(abc):
    meta = {"ü": [1, 2**64, None, {"x": "日本"}], "f": 0.1, "t": True}
    abc.add_edge("a", "b", E.RELATED_TO, weight=-1.5, metadata=meta)
    [edge] = abc.edges()
    assert (edge.weight, edge.metadata) == (-1.5, meta)


def test_mutating_a_returned_edge_does_not_change_the_store(abc):
    meta = {"nested": {"k": [1]}}
    returned = abc.add_edge("a", "b", E.RELATED_TO, metadata=meta)
    meta["nested"]["k"].append(2)
    returned.metadata["nested"]["k"].append(3)
    abc.edges()[0].metadata["nested"]["x"] = 1
    abc.edges("a")[0].metadata.clear()
    assert abc.edges()[0].metadata == {"nested": {"k": [1]}}


# --- edges() ----------------------------------------------------------------------------------


@pytest.fixture
def web(abc):
    abc.add_edge("a", "b", E.DEPENDS_ON)
    abc.add_edge("c", "a", E.DEPENDS_ON)
    abc.add_edge("a", "r", E.IS_SUBGOAL_OF)
    abc.add_edge("a", "c", E.RELATED_TO)
    abc.add_edge("b", "a", E.BLOCKS)
    abc.add_edge("d", "a", E.ENABLES)
    abc.add_edge("b", "d", E.TRIGGERED_BY)
    return abc


def test_edges_without_an_id_returns_every_edge_by_source_target_type(web):
    assert edge_keys(web.edges()) == [
        ("a", "b", "DEPENDS_ON"),
        ("a", "c", "RELATED_TO"),
        ("a", "r", "IS_SUBGOAL_OF"),
        ("b", "a", "BLOCKS"),
        ("b", "d", "TRIGGERED_BY"),
        ("c", "a", "DEPENDS_ON"),
        ("d", "a", "ENABLES"),
    ]


def test_edges_of_an_intent_in_both_directions(web):
    assert edge_keys(web.edges("a")) == [
        ("a", "b", "DEPENDS_ON"),
        ("a", "c", "RELATED_TO"),
        ("a", "r", "IS_SUBGOAL_OF"),
        ("b", "a", "BLOCKS"),
        ("c", "a", "DEPENDS_ON"),
        ("d", "a", "ENABLES"),
    ]
    assert edge_keys(web.edges("a", direction="both")) == edge_keys(web.edges("a"))


def test_edges_out_of_an_intent(web):
    assert edge_keys(web.edges("a", direction="out")) == [
        ("a", "b", "DEPENDS_ON"),
        ("a", "c", "RELATED_TO"),
        ("a", "r", "IS_SUBGOAL_OF"),
    ]


def test_edges_into_an_intent(web):
    assert edge_keys(web.edges("a", direction="in")) == [
        ("b", "a", "BLOCKS"),
        ("c", "a", "DEPENDS_ON"),
        ("d", "a", "ENABLES"),
    ]


def test_edges_of_one_type(web):
    assert edge_keys(web.edges("a", type=E.DEPENDS_ON)) == [
        ("a", "b", "DEPENDS_ON"),
        ("c", "a", "DEPENDS_ON"),
    ]
    assert edge_keys(web.edges("a", type="DEPENDS_ON", direction="out")) == [
        ("a", "b", "DEPENDS_ON")
    ]
    assert edge_keys(web.edges("a", type=E.DEPENDS_ON, direction="in")) == [
        ("c", "a", "DEPENDS_ON")
    ]
    assert edge_keys(web.edges(type=E.BLOCKS)) == [("b", "a", "BLOCKS")]
    assert web.edges("a", type=E.CONFLICTS_WITH) == []


def test_edges_of_an_intent_without_edges_is_empty(web):
    put(web, "lonely")
    assert web.edges("lonely") == []


def test_edges_of_a_missing_intent_raises_not_found(web):
    with pytest.raises(errors.IntentNotFound) as info:
        web.edges("ghost")
    assert info.value.intent_id == "ghost"


def test_edges_persist_across_closing_and_reopening(web, store_url, backend):
    if backend == "memory":
        pytest.skip("a memory store does not persist")
    before = snapshot(web)
    with reopen(web, store_url) as again:
        assert snapshot(again) == before


# --- remove_edge ------------------------------------------------------------------------------


def test_remove_edge_removes_only_that_edge(web):
    web.remove_edge("a", "b", E.DEPENDS_ON)
    assert ("a", "b", "DEPENDS_ON") not in edge_keys(web.edges())
    assert len(web.edges()) == 6


def test_remove_edge_accepts_the_type_as_a_string(web):
    web.remove_edge("b", "a", "BLOCKS")
    assert edge_keys(web.edges("b")) == [("a", "b", "DEPENDS_ON"), ("b", "d", "TRIGGERED_BY")]


def test_removing_a_missing_edge_raises_edge_not_found(web):
    before = snapshot(web)
    with pytest.raises(errors.EdgeNotFound) as info:
        web.remove_edge("b", "a", E.DEPENDS_ON)
    assert (info.value.source, info.value.target, info.value.edge_type) == (
        "b",
        "a",
        "DEPENDS_ON",
    )
    assert isinstance(info.value, LookupError)
    with pytest.raises(errors.EdgeNotFound):
        web.remove_edge("a", "ghost", E.DEPENDS_ON)
    assert snapshot(web) == before


def test_a_removed_edge_can_be_added_again(web):
    web.remove_edge("a", "b", E.DEPENDS_ON)
    web.add_edge("a", "b", E.DEPENDS_ON, weight=3.0)
    assert [e.weight for e in web.edges("a", type=E.DEPENDS_ON, direction="out")] == [3.0]


def test_deleting_an_intent_removes_its_edges_from_its_neighbours(web):
    web.delete("a")
    assert edge_keys(web.edges()) == [("b", "d", "TRIGGERED_BY")]
    assert edge_keys(web.edges("b")) == [("b", "d", "TRIGGERED_BY")]
    assert web.edges("c") == []
    assert web.edges("r") == []


def test_remove_edge_of_an_unknown_type_raises_an_intentgraph_error(web):
    with pytest.raises(errors.IntentGraphError):
        web.remove_edge("a", "b", "LIKES")


def test_edges_of_an_unknown_type_raises_an_intentgraph_error(web):
    with pytest.raises(errors.IntentGraphError):
        web.edges("a", type="LIKES")


# --- the symmetric CONFLICTS_WITH -------------------------------------------------------------


def test_conflicts_with_is_seen_from_both_ends(abc):
    abc.add_edge("a", "b", E.CONFLICTS_WITH)
    assert edge_keys(abc.edges("a", direction="out")) == [("a", "b", "CONFLICTS_WITH")]
    assert edge_keys(abc.edges("b", direction="out")) == [("b", "a", "CONFLICTS_WITH")]
    assert edge_keys(abc.edges("b")) == [("b", "a", "CONFLICTS_WITH")]
    assert edge_keys(abc.edges("a")) == [("a", "b", "CONFLICTS_WITH")]


def test_conflicts_with_is_oriented_towards_the_intent_for_direction_in(abc):
    abc.add_edge("a", "b", E.CONFLICTS_WITH)
    assert edge_keys(abc.edges("b", direction="in")) == [("a", "b", "CONFLICTS_WITH")]
    assert edge_keys(abc.edges("a", direction="in")) == [("b", "a", "CONFLICTS_WITH")]


def test_conflicts_with_is_stored_once(abc):
    abc.add_edge("b", "a", E.CONFLICTS_WITH)
    [edge] = abc.edges()
    assert {edge.source, edge.target} == {"a", "b"}
    assert abc.stats().edges == 1


def test_re_adding_conflicts_with_the_other_way_updates_the_same_edge(abc):
    first = abc.add_edge("a", "b", E.CONFLICTS_WITH, weight=1.0)
    time.sleep(0.002)
    abc.add_edge("b", "a", E.CONFLICTS_WITH, weight=2.0, metadata={"again": True})
    [edge] = abc.edges()
    assert (edge.weight, edge.metadata) == (2.0, {"again": True})
    assert edge.created_at == first.created_at


@pytest.mark.parametrize(("source", "target"), [("a", "b"), ("b", "a")])
def test_conflicts_with_can_be_removed_from_either_orientation(abc, source, target):
    abc.add_edge("b", "a", E.CONFLICTS_WITH)
    abc.remove_edge(source, target, E.CONFLICTS_WITH)
    assert abc.edges() == []
    assert abc.edges("a") == []
    assert abc.edges("b") == []


def test_conflicts_lists_the_other_side_from_both_ends(abc):
    abc.add_edge("c", "a", E.CONFLICTS_WITH)
    abc.add_edge("b", "c", E.CONFLICTS_WITH)
    assert ids(abc.conflicts("c")) == ["a", "b"]
    assert ids(abc.conflicts("a")) == ["c"]
    assert ids(abc.conflicts("b")) == ["c"]
    assert abc.conflicts("d") == []


@pytest.mark.parametrize("deleted", ["a", "b"])
def test_deleting_either_end_removes_a_conflicts_with_edge(abc, deleted):
    abc.add_edge("b", "a", E.CONFLICTS_WITH)
    abc.delete(deleted)
    assert abc.edges() == []


def test_a_conflicts_with_self_loop_is_rejected(abc):
    with pytest.raises(errors.SelfLoop):
        abc.add_edge("a", "a", E.CONFLICTS_WITH)


# --- add_edges --------------------------------------------------------------------------------


def test_add_edges_stores_every_edge_and_returns_them(abc):
    added = abc.add_edges(
        [
            ig.Edge(source="a", target="b", type=E.DEPENDS_ON),
            ig.Edge(source="b", target="c", type=E.DEPENDS_ON, weight=2.0),
            ig.Edge(source="c", target="r", type=E.IS_SUBGOAL_OF),
        ]
    )
    assert len(added) == 3
    assert all(isinstance(e, ig.Edge) for e in added)
    assert edge_keys(abc.edges()) == [
        ("a", "b", "DEPENDS_ON"),
        ("b", "c", "DEPENDS_ON"),
        ("c", "r", "IS_SUBGOAL_OF"),
    ]


def test_add_edges_of_nothing_adds_nothing(abc):
    assert abc.add_edges([]) == []
    assert abc.edges() == []


def test_add_edges_repeating_an_edge_keeps_one_with_the_last_values(abc):
    abc.add_edges(
        [
            ig.Edge(source="a", target="b", type=E.RELATED_TO, weight=1.0),
            ig.Edge(source="a", target="b", type=E.RELATED_TO, weight=2.0),
        ]
    )
    assert [e.weight for e in abc.edges()] == [2.0]


@pytest.mark.parametrize(
    "bad",
    [
        ig.Edge(source="c", target="a", type=E.DEPENDS_ON),  # closes a -> b -> c -> a
        ig.Edge(source="a", target="ghost", type=E.RELATED_TO),
        ig.Edge(source="b", target="d", type=E.IS_SUBGOAL_OF),  # b already got parent r
        ig.Edge(source="d", target="d", type=E.RELATED_TO),
    ],
)
def test_add_edges_is_all_or_nothing(abc, bad):
    abc.add_edge("a", "d", E.RELATED_TO, weight=1.0, metadata={"v": 1})
    before = snapshot(abc)
    batch = [
        ig.Edge(source="a", target="b", type=E.DEPENDS_ON),
        ig.Edge(source="b", target="c", type=E.DEPENDS_ON),
        ig.Edge(source="b", target="r", type=E.IS_SUBGOAL_OF),
        ig.Edge(source="a", target="d", type=E.RELATED_TO, weight=5.0, metadata={"v": 2}),
        bad,
    ]
    with pytest.raises(errors.InvalidEdge):
        abc.add_edges(batch)
    assert snapshot(abc) == before


def test_add_edges_re_adding_an_edge_keeps_its_first_created_at(abc):
    abc.add_edges([ig.Edge(source="a", target="b", type=E.RELATED_TO)])
    first = abc.edges()[0].created_at
    abc.add_edges([ig.Edge(source="a", target="b", type=E.RELATED_TO, created_at=at(9))])
    assert abc.edges()[0].created_at == first
