"""Contract: storing, reading, updating and deleting intents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import intentgraph as ig
from intentgraph import errors
from intentgraph.models import ALLOWED_TRANSITIONS, IntentStatus

from ._support import at, ids, make, put, reopen, snapshot

S = IntentStatus
E = ig.EdgeType

# --- put / get / find / exists / get_many -------------------------------------------------


def test_put_returns_the_stored_copy(store):
    stored = store.put(make("a", goal="ship it", priority=3))
    assert stored.id == "a"
    assert stored.name == "intent a"
    assert stored.goal == "ship it"
    assert stored.priority == 3


def test_get_returns_what_put_stored(store):
    stored = put(store, "a", goal="ship it")
    assert store.get("a") == stored


def test_get_missing_intent_raises_not_found(store):
    with pytest.raises(errors.IntentNotFound) as info:
        store.get("nope")
    assert info.value.intent_id == "nope"
    assert isinstance(info.value, LookupError)


def test_find_returns_the_intent_or_none(store):
    put(store, "a")
    assert store.find("a").id == "a"
    assert store.find("nope") is None


def test_exists_says_whether_an_id_is_stored(store):
    put(store, "a")
    assert store.exists("a") is True
    assert store.exists("b") is False


def test_get_many_returns_intents_in_the_order_given(store):
    for i in ("a", "b", "c"):
        put(store, i)
    assert ids(store.get_many(["c", "a", "b"])) == ["c", "a", "b"]


def test_get_many_of_nothing_is_empty(store):
    assert store.get_many([]) == []


def test_get_many_repeats_an_id_given_twice(store):
    put(store, "a")
    put(store, "b")
    assert ids(store.get_many(["b", "a", "b"])) == ["b", "a", "b"]


def test_get_many_with_a_missing_id_raises_not_found_naming_the_first_missing(store):
    put(store, "a")
    with pytest.raises(errors.IntentNotFound) as info:
        store.get_many(["a", "x", "y"])
    assert info.value.intent_id == "x"
    assert "'x'" in str(info.value)


def test_put_without_an_id_generates_one(store):
    stored = store.put(ig.Intent(name="anonymous"))
    assert stored.id
    assert store.get(stored.id).name == "anonymous"


# --- put of existing ids, put_many ---------------------------------------------------------


def test_put_of_an_existing_id_raises_intent_exists_and_keeps_the_stored_intent(store):
    put(store, "a", goal="first")
    before = snapshot(store)
    with pytest.raises(errors.IntentExists) as info:
        store.put(make("a", goal="second"))
    assert info.value.intent_id == "a"
    assert snapshot(store) == before
    assert store.get("a").goal == "first"


def test_put_of_an_invalid_intent_raises_invalid_intent_and_stores_nothing(store):
    bad = ig.Intent.model_construct(id="a", name="")
    with pytest.raises(errors.InvalidIntent):
        store.put(bad)
    assert store.count() == 0


# Values an Intent built with model_construct (no validation) may carry; validation refuses
# each, so a store must too, however cheaply it checks an intent that looks built normally.
UNCHECKED = [
    ("id", "a\n"),
    ("id", "a b"),
    ("id", ""),
    ("id", "x" * 201),
    ("name", ""),
    ("name", " \t"),
    ("name", "n" * 501),
    ("goal", "g" * 100_001),
    ("priority", 2**63),
    ("version", -1),
    ("attempts", -1),
    ("session_id", "s" * 201),
    ("reason", "r" * 10_001),
    ("created_at", datetime(2024, 1, 1, 12, 0)),
    ("constraints", {"k": float("nan")}),
    ("metadata", {1: "not a string key"}),
]


@pytest.mark.parametrize(("field", "value"), UNCHECKED, ids=[f for f, _ in UNCHECKED])
def test_put_of_an_unvalidated_intent_with_a_bad_value_is_refused(store, field, value):
    bad = ig.Intent.model_construct(**{**make("a").__dict__, field: value})
    with pytest.raises(errors.InvalidIntent):
        store.put(bad)
    with pytest.raises(errors.InvalidIntent):
        store.put_many([make("b"), bad])
    assert store.count() == 0


@pytest.mark.parametrize("bad_id", ["a\n", "a b", "", "x" * 201])
def test_an_unvalidated_edge_with_a_bad_end_is_refused(store, bad_id):
    put(store, "a")
    edge = ig.Edge(source="a", target="a2", type=ig.EdgeType.RELATED_TO)
    bad = ig.Edge.model_construct(**{**edge.__dict__, "target": bad_id})
    with pytest.raises((errors.InvalidIntent, errors.IntentNotFound)):
        store.add_edges([bad])
    assert store.edges() == []


def test_put_of_something_that_is_not_an_intent_raises_invalid_intent(store):
    with pytest.raises(errors.InvalidIntent):
        store.put("not an intent")
    assert store.count() == 0


def test_put_many_stores_every_intent(store):
    stored = store.put_many([make("a"), make("b"), make("c")])
    assert ids(stored) == ["a", "b", "c"]
    assert [i.id for i in store.list(order_by="id")] == ["a", "b", "c"]


def test_put_many_with_an_id_repeated_in_the_batch_writes_nothing(store):
    with pytest.raises(errors.IntentExists) as info:
        store.put_many([make("a"), make("b"), make("a")])
    assert info.value.intent_id == "a"
    assert store.count() == 0


def test_put_many_with_an_id_already_stored_writes_nothing(store):
    put(store, "b", goal="original")
    before = snapshot(store)
    with pytest.raises(errors.IntentExists) as info:
        store.put_many([make("a"), make("b"), make("c")])
    assert info.value.intent_id == "b"
    assert snapshot(store) == before


def test_put_many_with_an_invalid_intent_writes_nothing(store):
    with pytest.raises(errors.InvalidIntent):
        store.put_many([make("a"), ig.Intent.model_construct(id="b", name="")])
    assert store.count() == 0


def test_put_many_accepts_any_iterable(store):
    store.put_many(make(i) for i in ("a", "b"))
    assert store.count() == 2


def test_put_many_of_nothing_stores_nothing(store):
    assert store.put_many([]) == []
    assert store.count() == 0


# --- versions and timestamps ----------------------------------------------------------------


def test_put_turns_version_zero_into_one(store):
    assert make("a").version == 0
    assert store.put(make("a")).version == 1
    assert store.get("a").version == 1


def test_put_keeps_a_nonzero_version_as_given(store):
    assert store.put(make("a", version=7)).version == 7


def test_update_increments_the_version_by_one(store):
    put(store, "a")
    first = store.update(make("a", goal="v2"))
    second = store.update(make("a", goal="v3"))
    assert (first.version, second.version) == (2, 3)
    assert store.get("a").version == 3
    assert store.get("a").goal == "v3"


def test_set_status_increments_the_version_by_one(store):
    put(store, "a")
    assert store.set_status("a", S.EXECUTING).version == 2
    assert store.set_status("a", S.COMPLETED).version == 3
    assert store.get("a").status is S.COMPLETED


def test_set_status_to_the_same_status_is_allowed(store):
    put(store, "a", status=S.COMPLETED)
    assert store.set_status("a", S.COMPLETED).status is S.COMPLETED


def test_put_keeps_timestamps_as_given(store):
    stored = put(store, "a", created_at=at(0), updated_at=at(5))
    assert stored.created_at == at(0)
    assert stored.updated_at == at(5)
    assert store.get("a").created_at == at(0)
    assert store.get("a").updated_at == at(5)


def test_update_keeps_created_at_from_the_stored_intent(store):
    put(store, "a", created_at=at(0), updated_at=at(0))
    updated = store.update(make("a", goal="new", created_at=at(999)))
    assert updated.created_at == at(0)
    assert store.get("a").created_at == at(0)


def test_update_sets_updated_at_to_now(store):
    put(store, "a", created_at=at(0), updated_at=at(0))
    before = datetime.now(UTC)
    updated = store.update(make("a", goal="new", updated_at=at(1)))
    after = datetime.now(UTC)
    assert before - timedelta(seconds=1) <= updated.updated_at <= after + timedelta(seconds=1)


def test_updated_at_never_decreases_even_when_stored_in_the_future(store):
    future = datetime(2100, 1, 1, tzinfo=UTC)
    put(store, "a", created_at=at(0), updated_at=future)
    assert store.update(make("a", goal="x")).updated_at >= future
    assert store.set_status("a", S.SUSPENDED).updated_at >= future


def test_updated_at_does_not_decrease_across_successive_updates(store):
    put(store, "a")
    stamps = [store.update(make("a", goal=str(n))).updated_at for n in range(5)]
    assert stamps == sorted(stamps)


# --- copies -------------------------------------------------------------------------------


def test_mutating_the_intent_given_to_put_does_not_change_the_store(store):
    original = make("a", goal="kept", metadata={"nested": {"k": [1, 2]}})
    store.put(original)
    original.goal = "changed"
    original.metadata["nested"]["k"].append(3)
    original.metadata["new"] = True
    got = store.get("a")
    assert got.goal == "kept"
    assert got.metadata == {"nested": {"k": [1, 2]}}


def test_mutating_a_returned_intent_does_not_change_the_store(store):
    returned = store.put(make("a", goal="kept", metadata={"nested": {"k": [1]}}))
    returned.goal = "changed"
    returned.metadata["nested"]["k"].append(2)
    fetched = store.get("a")
    fetched.metadata["nested"]["x"] = 1
    fetched.constraints["c"] = 1
    listed = store.list()[0]
    listed.metadata["nested"].clear()
    many = store.get_many(["a"])[0]
    many.metadata.clear()
    found = store.find("a")
    found.metadata["nested"]["k"].clear()
    got = store.get("a")
    assert got.goal == "kept"
    assert got.metadata == {"nested": {"k": [1]}}
    assert got.constraints == {}
    # pydantic hands out its set of set fields itself: each copy must own one.
    store.get("a").model_fields_set.clear()
    store.ready()[0].model_fields_set.discard("goal")
    assert "goal" in store.get("a").model_fields_set
    assert store.get("a").model_fields_set == got.model_fields_set != set()


def test_mutating_the_intent_given_to_update_does_not_change_the_store(store):
    put(store, "a")
    changed = make("a", metadata={"nested": {"k": 1}})
    returned = store.update(changed)
    changed.metadata["nested"]["k"] = 2
    returned.metadata["nested"]["k"] = 3
    assert store.get("a").metadata == {"nested": {"k": 1}}


# --- update errors ------------------------------------------------------------------------


def test_update_of_a_missing_id_raises_not_found_and_creates_nothing(store):
    with pytest.raises(errors.IntentNotFound) as info:
        store.update(make("ghost"))
    assert info.value.intent_id == "ghost"
    assert store.exists("ghost") is False


def test_set_status_of_a_missing_id_raises_not_found(store):
    with pytest.raises(errors.IntentNotFound):
        store.set_status("ghost", S.COMPLETED)


def test_update_with_the_matching_expected_version_succeeds(store):
    put(store, "a")
    assert store.update(make("a", goal="x"), expected_version=1).version == 2


def test_update_with_a_stale_expected_version_raises_version_conflict_and_changes_nothing(store):
    put(store, "a", goal="kept")
    store.update(make("a", goal="v2"))
    before = snapshot(store)
    with pytest.raises(errors.VersionConflict) as info:
        store.update(make("a", goal="lost"), expected_version=1)
    assert (info.value.intent_id, info.value.expected, info.value.actual) == ("a", 1, 2)
    assert snapshot(store) == before


def test_set_status_with_a_stale_expected_version_raises_version_conflict(store):
    put(store, "a")
    before = snapshot(store)
    with pytest.raises(errors.VersionConflict) as info:
        store.set_status("a", S.EXECUTING, expected_version=5)
    assert (info.value.expected, info.value.actual) == (5, 1)
    assert snapshot(store) == before


# --- the status transition table ---------------------------------------------------------

# Written out here rather than read from the code: current -> statuses it may move to.
TRANSITIONS = {
    "pending": {"active", "suspended", "archived"},
    "active": {"pending", "executing", "completed", "failed", "suspended", "archived"},
    "executing": {"completed", "failed", "suspended", "active", "archived"},
    "completed": {"archived"},
    "failed": {"active", "archived"},
    "suspended": {"active", "archived"},
    "archived": {"active"},
}
PAIRS = [(a.value, b.value) for a in S for b in S if a != b]


def test_transition_table_matches_the_models():
    assert {k.value: {v.value for v in vs} for k, vs in ALLOWED_TRANSITIONS.items()} == TRANSITIONS


@pytest.mark.parametrize(("current", "requested"), PAIRS)
def test_set_status_follows_the_transition_table(store, current, requested):
    put(store, "a", status=current)
    before = snapshot(store)
    if requested in TRANSITIONS[current]:
        assert store.set_status("a", S(requested)).status.value == requested
        assert store.get("a").status.value == requested
    else:
        with pytest.raises(errors.InvalidTransition) as info:
            store.set_status("a", S(requested))
        assert (info.value.current, info.value.requested) == (current, requested)
        assert snapshot(store) == before


@pytest.mark.parametrize(("current", "requested"), PAIRS)
def test_update_follows_the_transition_table(store, current, requested):
    put(store, "a", status=current)
    before = snapshot(store)
    if requested in TRANSITIONS[current]:
        assert store.update(make("a", status=requested)).status.value == requested
    else:
        with pytest.raises(errors.InvalidTransition):
            store.update(make("a", status=requested, goal="must not land"))
        assert snapshot(store) == before


def test_set_status_to_an_unknown_status_raises_an_intentgraph_error(store):
    put(store, "a")
    before = snapshot(store)
    with pytest.raises(errors.IntentGraphError):
        store.set_status("a", "bogus")
    assert snapshot(store) == before


def test_update_to_an_unknown_status_is_rejected_as_invalid(store):
    put(store, "a")
    with pytest.raises(errors.InvalidIntent):
        store.update(make("a", status="bogus"))


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_the_intent(store):
    put(store, "a")
    put(store, "b")
    store.delete("a")
    assert store.exists("a") is False
    assert [i.id for i in store.list()] == ["b"]


def test_delete_of_a_missing_id_raises_not_found(store):
    with pytest.raises(errors.IntentNotFound) as info:
        store.delete("ghost")
    assert info.value.intent_id == "ghost"


def test_delete_without_detach_of_an_intent_with_edges_raises_in_use_and_changes_nothing(store):
    put(store, "a")
    put(store, "b")
    store.add_edge("a", "b", E.DEPENDS_ON)
    before = snapshot(store)
    with pytest.raises(errors.IntentInUse) as info:
        store.delete("b", detach=False)
    assert (info.value.intent_id, info.value.edge_count) == ("b", 1)
    assert snapshot(store) == before


def test_in_use_counts_edges_in_both_directions(store):
    for i in ("a", "b", "c"):
        put(store, i)
    store.add_edge("a", "b", E.DEPENDS_ON)
    store.add_edge("c", "a", E.RELATED_TO)
    store.add_edge("a", "c", E.CONFLICTS_WITH)
    with pytest.raises(errors.IntentInUse) as info:
        store.delete("a", detach=False)
    assert info.value.edge_count == 3


def test_delete_without_detach_of_an_intent_without_edges_succeeds(store):
    put(store, "a")
    store.delete("a", detach=False)
    assert store.exists("a") is False


def test_delete_with_detach_removes_every_edge_touching_the_intent(store):
    for i in ("a", "b", "c"):
        put(store, i)
    store.add_edge("a", "b", E.DEPENDS_ON)
    store.add_edge("b", "c", E.IS_SUBGOAL_OF)
    store.add_edge("a", "c", E.RELATED_TO)
    store.delete("b", detach=True)
    assert [(e.source, e.target, e.type) for e in store.edges()] == [("a", "c", E.RELATED_TO)]


def test_a_deleted_id_can_be_put_again(store):
    put(store, "a", goal="old")
    store.delete("a")
    assert put(store, "a", goal="new").version == 1
    assert store.get("a").goal == "new"


# --- JSON roundtrip -----------------------------------------------------------------------

EVERY_FIELD = {
    "id": "ünï-😀-id",
    "name": "Été — 日本語 🎯 עברית",
    "goal": "line one\nline two\ttabbed \u200b zero-width, e\u0301 combining",
    "original_request": "please do « it » — ÇA",
    "status": "suspended",
    "priority": -(2**63),
    "constraints": {"budget": 12.5, "tools": ["a", "b"], "none": None},
    "preferences": {"style": {"tone": "dry", "max": 3}},
    "success_criteria": [1, "two", 3.25, True, None, {"deep": [[]]}],
    "metadata": {
        "big": 2**63 - 1,
        "bigger": 2**64 + 1,
        "negative": -(2**62),
        "precise": 2**53 + 1,
        "float": 0.1,
        "flag": False,
        "null": None,
        "empty": {},
        "list": [],
        "nested": {"a": {"b": {"c": ["ü", 1, None]}}},
        "ключ": "значение",
    },
    "session_id": "session-✓",
    "created_at": datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),
    "updated_at": datetime(2024, 5, 6, 8, 0, 0, 1, tzinfo=UTC),
    "version": 3,
}


def test_every_field_type_survives_a_roundtrip(store):
    store.put(ig.Intent(**EVERY_FIELD))
    got = store.get(EVERY_FIELD["id"])
    assert got.model_dump() == ig.Intent(**EVERY_FIELD).model_dump()
    assert type(got.metadata["bigger"]) is int
    assert type(got.metadata["float"]) is float
    assert got.metadata["flag"] is False


def test_the_largest_priority_survives_a_roundtrip(store):
    put(store, "a", priority=2**63 - 1)
    assert store.get("a").priority == 2**63 - 1


@pytest.mark.parametrize("priority", [2**63, -(2**63) - 1])
def test_a_priority_outside_64_bits_is_rejected(priority):
    with pytest.raises(errors.InvalidIntent):
        make("a", priority=priority)


@pytest.mark.parametrize("criteria", ["plain string", 42, 1.5, True, None, {"k": [1]}, []])
def test_success_criteria_may_be_any_json_value(store, criteria):
    put(store, "a", success_criteria=criteria)
    assert store.get("a").success_criteria == criteria


def test_every_field_type_survives_closing_and_reopening(store, store_url, backend):
    if backend == "memory":
        pytest.skip("a memory store does not persist")
    store.put(ig.Intent(**EVERY_FIELD))
    with reopen(store, store_url) as again:
        assert again.get(EVERY_FIELD["id"]).model_dump() == ig.Intent(**EVERY_FIELD).model_dump()


def test_updates_and_deletes_persist_across_closing_and_reopening(store, store_url, backend):
    if backend == "memory":
        pytest.skip("a memory store does not persist")
    for i in ("a", "b", "c"):
        put(store, i)
    store.update(make("a", goal="updated"))
    store.set_status("b", S.EXECUTING)
    store.delete("c")
    before = snapshot(store)
    with reopen(store, store_url) as again:
        assert snapshot(again) == before
        assert again.get("a").version == 2
        assert again.get("b").status is S.EXECUTING
        assert again.exists("c") is False


def test_an_aware_non_utc_datetime_comes_back_as_utc(store):
    plus_two = timezone(timedelta(hours=2))
    put(store, "a", created_at=datetime(2024, 1, 1, 14, 0, tzinfo=plus_two))
    got = store.get("a").created_at
    assert got == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert got.utcoffset() == timedelta(0)


def test_a_naive_datetime_is_rejected_with_invalid_intent():
    with pytest.raises(errors.InvalidIntent):
        make("a", created_at=datetime(2024, 1, 1, 12, 0))
    with pytest.raises(errors.InvalidIntent):
        make("a", updated_at=datetime(2024, 1, 1, 12, 0))


def test_put_of_an_intent_carrying_a_naive_datetime_is_rejected(store):
    bad = ig.Intent.model_construct(
        **{**make("a").__dict__, "created_at": datetime(2024, 1, 1, 12, 0)}
    )
    with pytest.raises(errors.InvalidIntent):
        store.put(bad)
    assert store.exists("a") is False
