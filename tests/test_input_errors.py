"""Bad input raises a typed ``IntentGraphError`` and writes nothing."""

from __future__ import annotations

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase


@pytest.fixture
def one(store: StoreBase) -> StoreBase:
    store.put(ig.Intent(id="a", name="a"))
    return store


def test_an_unknown_status_name_raises_invalid_intent(one: StoreBase) -> None:
    with pytest.raises(ig.errors.InvalidIntent, match="unknown status 'bogus'"):
        one.set_status("a", "bogus")  # type: ignore[arg-type]
    with pytest.raises(ig.errors.InvalidIntent):
        one.claim("a", expected_status="nope")  # type: ignore[arg-type]
    assert one.get("a").version == 1


def test_an_unknown_edge_type_name_raises_invalid_intent(one: StoreBase) -> None:
    with pytest.raises(ig.errors.InvalidIntent, match="unknown edge type"):
        one.edges("a", type="bogus")  # type: ignore[arg-type]
    with pytest.raises(ig.errors.InvalidIntent):
        one.remove_edge("a", "a", "bogus")  # type: ignore[arg-type]
    with pytest.raises(ig.errors.InvalidIntent):
        one.add_edge("a", "a", "bogus")  # type: ignore[arg-type]


def test_assigning_a_bad_value_to_a_model_raises_invalid_intent() -> None:
    intent = ig.Intent(name="ok")
    with pytest.raises(ig.errors.InvalidIntent, match="name"):
        intent.name = "   "
    with pytest.raises(ig.errors.InvalidIntent, match="priority"):
        intent.priority = "high"  # type: ignore[assignment]
    assert intent.name == "ok"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x", "priority": 2**63},
        {"name": "x", "id": "has space"},
        {"name": "x", "id": ""},
        {"name": "x", "status": "unknown"},
        {"name": "x", "metadata": {"f": object()}},
        {"name": "x", "unknown_field": 1},
    ],
)
def test_invalid_fields_raise_invalid_intent_and_store_nothing(
    store: StoreBase, fields: dict[str, object]
) -> None:
    with pytest.raises(ig.errors.InvalidIntent):
        store.put(fields)  # type: ignore[arg-type]
    assert store.count() == 0


def test_non_json_metadata_slipped_in_by_mutation_is_refused(store: StoreBase) -> None:
    intent = ig.Intent(id="m", name="m")
    intent.metadata["bad"] = {1, 2}  # type: ignore[assignment]  # in-place: not validated
    with pytest.raises(ig.errors.InvalidIntent):
        store.put(intent)
    assert not store.exists("m")


def test_open_store_refuses_unknown_keywords() -> None:
    with pytest.raises(TypeError):
        ig.open_store("memory://", fallbak=True)  # type: ignore[call-arg]


def test_registering_a_backend_reaches_open_store() -> None:
    from intentgraph.factory import register_backend

    register_backend("mem-alias", "intentgraph.backends.memory:MemoryStore")
    with ig.open_store("mem-alias://") as store:
        assert store.backend == "memory"


def test_a_registered_target_that_does_not_exist_raises_backend_not_installed() -> None:
    factory = ig.StorageFactory({"broken": ("intentgraph.backends.memory:NoSuchStore", None)})
    with pytest.raises(ig.errors.BackendNotInstalled, match="reinstall"):
        factory.open("broken://")


def test_a_bad_direction_or_limit_raises_invalid_filter(one: StoreBase) -> None:
    with pytest.raises(ig.errors.InvalidFilter, match="direction"):
        one.edges("a", direction="sideways")  # type: ignore[arg-type]
    with pytest.raises(ig.errors.InvalidFilter, match="limit"):
        one.ready(limit=-1)


def test_get_many_refuses_a_lone_string(one: StoreBase) -> None:
    with pytest.raises(ig.errors.InvalidFilter):
        one.get_many("a")


def test_add_edges_refuses_what_is_not_an_edge(one: StoreBase) -> None:
    one.put(ig.Intent(id="b", name="b"))
    with pytest.raises(ig.errors.InvalidIntent, match="expected an Edge"):
        one.add_edges([("a", "b", "DEPENDS_ON")])  # type: ignore[list-item]
    assert one.edges() == []


def test_health_of_a_closed_store_says_so_without_raising(one: StoreBase) -> None:
    one.close()
    health = one.health()
    assert not health.ok
    assert "closed" in (health.reason or "")


@pytest.mark.parametrize("value", [True, "2", 1.5])
def test_a_priority_must_be_a_real_integer(value: object) -> None:
    with pytest.raises(ig.errors.InvalidIntent, match="priority"):
        ig.Intent(name="x", priority=value)
