"""Contract: ``list`` and ``count`` with ``IntentFilter``, on one fixed dataset.

The dataset (default order is created_at, so a b c d e):

    id  name            goal                    status     prio  session  created  updated
    a   "Été plans"     "beach"                 active        5  s1            0       30
    b   "Buy milk"      "at the Straße market"  pending       1  s1           10       10
    c   "Write report"  "summary of ÉTÉ sales"  completed     5  s2           20       20
    d   "deploy"        "STRASSE sign"          failed       -3  -            30       40
    e   "Zeta review"   ""                      active       10  s2           40       25

(times in minutes after T0; metadata below.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import at, ids, put

S = ig.IntentStatus


@pytest.fixture
def data(store):
    put(
        store, "a", name="Été plans", goal="beach", status=S.ACTIVE, priority=5,
        session_id="s1", created_at=at(0), updated_at=at(30),
        metadata={"team": "blue", "n": 1, "flag": True, "opt": None, "obj": {"k": 1}},
    )  # fmt: skip
    put(
        store, "b", name="Buy milk", goal="at the Straße market", status=S.PENDING, priority=1,
        session_id="s1", created_at=at(10), updated_at=at(10),
        metadata={"team": "red", "n": "1", "flag": 1, "list": [1]},
    )  # fmt: skip
    put(
        store, "c", name="Write report", goal="summary of ÉTÉ sales", status=S.COMPLETED,
        priority=5, session_id="s2", created_at=at(20), updated_at=at(20),
        metadata={"team": "blue", "n": 2, "flag": False, "opt": "x"},
    )  # fmt: skip
    put(
        store, "d", name="deploy", goal="STRASSE sign", status=S.FAILED, priority=-3,
        created_at=at(30), updated_at=at(40),
    )  # fmt: skip
    put(
        store, "e", name="Zeta review", status=S.ACTIVE, priority=10, session_id="s2",
        created_at=at(40), updated_at=at(25), metadata={"team": "green", "n": 1.0, "obj": None},
    )  # fmt: skip
    return store


def listed(store, **criteria):
    return ids(store.list(**criteria))


def test_list_without_criteria_returns_everything_by_created_at(data):
    assert listed(data) == ["a", "b", "c", "d", "e"]
    assert data.count() == 5


def test_list_of_an_empty_store_is_empty(store):
    assert store.list() == []
    assert store.count() == 0


# --- status, session, priority --------------------------------------------------------------


def test_list_by_one_status(data):
    assert listed(data, status="active") == ["a", "e"]
    assert listed(data, status=S.COMPLETED) == ["c"]
    assert listed(data, status="archived") == []


def test_list_by_several_statuses(data):
    assert listed(data, status=["pending", "failed"]) == ["b", "d"]
    assert listed(data, status=(S.ACTIVE, S.COMPLETED)) == ["a", "c", "e"]


def test_list_by_session_id(data):
    assert listed(data, session_id="s1") == ["a", "b"]
    assert listed(data, session_id="s2") == ["c", "e"]
    assert listed(data, session_id="other") == []


def test_list_by_priority_bounds_is_inclusive(data):
    assert listed(data, priority_min=5) == ["a", "c", "e"]
    assert listed(data, priority_max=1) == ["b", "d"]
    assert listed(data, priority_min=1, priority_max=5) == ["a", "b", "c"]
    assert listed(data, priority_min=-3, priority_max=-3) == ["d"]
    assert listed(data, priority_min=6, priority_max=9) == []


# --- text -----------------------------------------------------------------------------------


def test_text_matches_a_substring_of_name_or_goal_ignoring_case(data):
    assert listed(data, text="PLANS") == ["a"]
    assert listed(data, text="market") == ["b"]
    assert listed(data, text="Sign") == ["d"]
    assert listed(data, text="e") == ["a", "b", "c", "d", "e"]
    assert listed(data, text="nowhere") == []


def test_text_spans_the_newline_between_name_and_goal(data):
    assert listed(data, text="milk\nat") == ["b"]


def test_text_ignores_case_of_non_ascii_letters(data):
    assert listed(data, text="été") == ["a", "c"]
    assert listed(data, text="ÉTÉ") == ["a", "c"]


def test_text_compares_casefolded_so_sharp_s_matches_ss(data):
    assert listed(data, text="STRASSE") == ["b", "d"]
    assert listed(data, text="straße") == ["b", "d"]


def test_text_searches_neither_original_request_nor_metadata(store):
    put(store, "a", original_request="hidden needle", metadata={"k": "needle"}, session_id="needle")
    assert listed(store, text="needle") == []


def test_empty_text_is_an_invalid_filter(data):
    with pytest.raises(errors.InvalidFilter):
        data.list(text="")


# --- metadata -------------------------------------------------------------------------------


def test_metadata_matches_a_string_value(data):
    assert listed(data, metadata={"team": "blue"}) == ["a", "c"]


def test_metadata_requires_every_key_to_match(data):
    assert listed(data, metadata={"team": "blue", "n": 1}) == ["a"]
    assert listed(data, metadata={"team": "red", "n": 1}) == []


def test_metadata_string_and_number_differ(data):
    assert listed(data, metadata={"n": "1"}) == ["b"]
    assert listed(data, metadata={"n": 1}) == ["a", "e"]  # e holds 1.0
    assert listed(data, metadata={"n": 2}) == ["c"]


def test_metadata_true_matches_one_as_python_does(data):
    assert listed(data, metadata={"flag": True}) == ["a", "b"]
    assert listed(data, metadata={"flag": 1}) == ["a", "b"]
    assert listed(data, metadata={"flag": False}) == ["c"]


def test_metadata_none_matches_only_an_explicit_null(data):
    assert listed(data, metadata={"opt": None}) == ["a"]
    assert listed(data, metadata={"obj": None}) == ["e"]
    assert listed(data, metadata={"missing": None}) == []


def test_metadata_scalar_never_matches_a_nested_value(data):
    assert listed(data, metadata={"list": 1}) == []
    assert listed(data, metadata={"obj": 1}) == []
    assert listed(data, metadata={"obj": "{'k': 1}"}) == []


def test_metadata_criterion_that_is_an_object_is_an_invalid_filter(data):
    with pytest.raises(errors.InvalidFilter):
        data.list(metadata={"obj": {"k": 1}})


def test_metadata_on_a_missing_key_matches_nothing(data):
    assert listed(data, metadata={"absent": "x"}) == []


# --- ids and times --------------------------------------------------------------------------


def test_list_by_ids_ignores_unknown_ids_and_keeps_the_filter_order(data):
    assert listed(data, ids=("d", "b", "zzz")) == ["b", "d"]
    assert listed(data, ids="c") == ["c"]
    assert listed(data, ids=()) == []


def test_created_after_is_inclusive_and_created_before_exclusive(data):
    assert listed(data, created_after=at(10)) == ["b", "c", "d", "e"]
    assert listed(data, created_before=at(30)) == ["a", "b", "c"]
    assert listed(data, created_after=at(10), created_before=at(30)) == ["b", "c"]
    assert listed(data, created_after=at(10), created_before=at(10)) == []


def test_updated_after_is_inclusive_and_updated_before_exclusive(data):
    assert listed(data, updated_after=at(25)) == ["a", "d", "e"]
    assert listed(data, updated_before=at(25)) == ["b", "c"]


def test_time_bounds_compare_instants_across_timezones(data):
    plus_two = timezone(timedelta(hours=2))
    bound = datetime(2024, 1, 1, 14, 10, tzinfo=plus_two)  # == at(10)
    assert listed(data, created_after=bound) == ["b", "c", "d", "e"]
    assert listed(data, created_before=bound) == ["a"]


def test_a_naive_time_bound_is_an_invalid_filter(data):
    with pytest.raises(errors.InvalidFilter):
        data.list(created_after=datetime(2024, 1, 1))


# --- ordering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("created_at", ["a", "b", "c", "d", "e"]),
        ("updated_at", ["b", "c", "e", "a", "d"]),
        ("priority", ["d", "b", "a", "c", "e"]),
        ("name", ["b", "c", "e", "d", "a"]),  # code point order: "B" "W" "Z" "d" "É"
        ("id", ["a", "b", "c", "d", "e"]),
    ],
)
def test_order_by_each_field_ascending_and_descending(data, order_by, expected):
    assert listed(data, order_by=order_by) == expected
    assert listed(data, order_by=order_by, descending=True) == expected[::-1]


def test_order_ties_break_on_id(store):
    for intent_id in ("y", "x", "z"):
        put(store, intent_id, name="same", priority=1, created_at=at(0), updated_at=at(0))
    for order_by in ("created_at", "updated_at", "priority", "name"):
        assert listed(store, order_by=order_by) == ["x", "y", "z"]
        assert listed(store, order_by=order_by, descending=True) == ["z", "y", "x"]


def test_order_by_priority_breaks_ties_on_created_at_before_id(store):
    put(store, "a", priority=1, created_at=at(5))
    put(store, "b", priority=1, created_at=at(1))
    put(store, "c", priority=0, created_at=at(9))
    assert listed(store, order_by="priority") == ["c", "b", "a"]
    assert listed(store, order_by="priority", descending=True) == ["a", "b", "c"]


# --- paging and count -----------------------------------------------------------------------


def test_limit_and_offset_page_through_the_ordered_result(data):
    assert listed(data, order_by="id", limit=2) == ["a", "b"]
    assert listed(data, order_by="id", limit=2, offset=2) == ["c", "d"]
    assert listed(data, order_by="id", limit=2, offset=4) == ["e"]
    assert listed(data, order_by="id", offset=3) == ["d", "e"]
    assert listed(data, order_by="id", offset=10) == []
    assert listed(data, limit=0) == []


def test_paging_applies_after_filtering_and_descending_order(data):
    assert listed(data, status="active", order_by="priority", descending=True, limit=1) == ["e"]
    page = listed(data, priority_min=1, order_by="id", descending=True, offset=1, limit=2)
    assert page == ["c", "b"]


def test_count_applies_the_criteria(data):
    assert data.count(status="active") == 2
    assert data.count(metadata={"team": "blue"}) == 2
    assert data.count(text="straße") == 2
    assert data.count(session_id="nobody") == 0


def test_count_ignores_limit_and_offset(data):
    assert data.count(limit=1) == 5
    assert data.count(status="active", limit=1, offset=1) == 2
    assert data.count(offset=100) == 5


def test_a_filter_object_and_keywords_combine_with_keywords_winning(data):
    active = ig.IntentFilter(status="active")
    assert listed(data, filter=active) == ["a", "e"]
    assert ids(data.list(active, order_by="priority", descending=True)) == ["e", "a"]
    assert ids(data.list(active, status="completed")) == ["c"]
    assert data.count(active) == 2


# --- invalid filters ------------------------------------------------------------------------


def test_an_unknown_criterion_raises_invalid_filter(data):
    with pytest.raises(errors.InvalidFilter):
        data.list(colour="red")
    with pytest.raises(errors.InvalidFilter):
        data.count(colour="red")
    with pytest.raises(errors.InvalidFilter):
        ig.IntentFilter(colour="red")


@pytest.mark.parametrize(
    "criteria",
    [
        {"priority_min": "high"},
        {"status": "sleeping"},
        {"limit": -1},
        {"offset": -1},
        {"order_by": "colour"},
        {"created_after": "yesterday"},
        {"descending": "maybe"},
        {"ids": 5},
        {"metadata": ["team"]},
    ],
)
def test_a_criterion_of_the_wrong_type_raises_invalid_filter(data, criteria):
    with pytest.raises(errors.InvalidFilter):
        data.list(**criteria)
    with pytest.raises(errors.InvalidFilter):
        data.count(**criteria)


def test_invalid_filter_is_a_value_error():
    assert issubclass(errors.InvalidFilter, ValueError)
    assert issubclass(errors.InvalidFilter, errors.IntentGraphError)
