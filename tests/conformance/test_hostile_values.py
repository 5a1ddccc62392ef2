"""Hostile values get one answer on every backend: deep or self-containing JSON, lone
surrogates, NUL characters. Whatever a store accepts, it reads back, also after a reopen."""

from __future__ import annotations

import time
from typing import Any

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase
from intentgraph.models import MAX_JSON_DEPTH
from tests.conformance._support import put, reopen


def reopened(store: StoreBase, url: str) -> StoreBase:
    """The same data through a fresh open (a memory store has nothing to reopen)."""
    return store if store.backend == "memory" else reopen(store, url)


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


def test_json_nested_to_the_limit_is_stored_and_read_back(store: StoreBase, store_url: str) -> None:
    deep = nested(MAX_JSON_DEPTH)
    put(store, "a", metadata=deep, success_criteria=[nested(MAX_JSON_DEPTH - 1)])
    store.put(ig.Intent(id="b", name="b"))
    store.add_edge("a", "b", ig.EdgeType.RELATED_TO, metadata=deep)
    store = reopened(store, store_url)
    try:
        assert store.get("a").metadata == deep
        assert store.list(metadata={"k": None}) == []  # a filter walks past it safely
        assert store.edges("a")[0].metadata == deep
    finally:
        store.close()


@pytest.mark.parametrize("field", ["metadata", "constraints", "preferences", "success_criteria"])
def test_json_nested_past_the_limit_is_refused_with_a_short_message(
    store: StoreBase, field: str
) -> None:
    with pytest.raises(ig.errors.InvalidIntent, match=f"deeper than {MAX_JSON_DEPTH}") as caught:
        put(store, "a", **{field: nested(MAX_JSON_DEPTH + 1)})
    assert len(str(caught.value)) < 300
    assert store.count() == 0


def test_edge_metadata_nested_past_the_limit_is_refused(store: StoreBase) -> None:
    put(store, "a")
    put(store, "b")
    with pytest.raises(ig.errors.InvalidIntent, match="deeper"):
        store.add_edge("a", "b", ig.EdgeType.RELATED_TO, metadata=nested(MAX_JSON_DEPTH + 1))
    assert store.edges() == []


def test_json_that_holds_itself_is_refused_at_once(store: StoreBase) -> None:
    loop: dict[str, Any] = {}
    loop["loop"] = loop
    started = time.monotonic()
    with pytest.raises(ig.errors.InvalidIntent):
        put(store, "a", metadata=loop)
    intent = ig.Intent(id="b", name="b")
    intent.metadata["self"] = intent.metadata  # changed in place after validation
    with pytest.raises(ig.errors.InvalidIntent, match="holds itself"):
        store.put(intent)
    stored = put(store, "c")
    stored.metadata["again"] = [stored.metadata]
    with pytest.raises(ig.errors.InvalidIntent):
        store.update(stored)
    assert time.monotonic() - started < 5
    assert [i.id for i in store.list()] == ["c"]


LONE = "\ud800"


@pytest.mark.parametrize(
    "fields",
    [
        {"id": f"a{LONE}"},
        {"name": f"a{LONE}"},
        {"goal": LONE},
        {"session_id": LONE},
        {"original_request": LONE},
        {"metadata": {LONE: 1}},
        {"metadata": {"k": f"v{LONE}"}},
        {"metadata": {"k": [{"deep": LONE}]}},
        {"constraints": {"\udc00": "x"}},
        {"success_criteria": [LONE]},
    ],
)
def test_a_lone_surrogate_is_refused_everywhere_and_nothing_is_rewritten(
    store: StoreBase, fields: dict[str, Any]
) -> None:
    fields.setdefault("id", "a")
    fields.setdefault("name", "a")
    with pytest.raises(ig.errors.InvalidIntent):
        store.put(ig.Intent(**fields))
    assert store.count() == 0


def test_a_lone_surrogate_in_edge_metadata_is_refused(store: StoreBase) -> None:
    put(store, "a")
    put(store, "b")
    with pytest.raises(ig.errors.InvalidIntent):
        store.add_edge("a", "b", ig.EdgeType.RELATED_TO, metadata={"k": LONE})
    with pytest.raises(ig.errors.InvalidIntent):
        store.add_edge("a", f"b{LONE}", ig.EdgeType.RELATED_TO)
    assert store.edges() == []


def test_an_id_that_cannot_be_stored_is_simply_not_found(store: StoreBase) -> None:
    put(store, "a")
    for bad in (f"a{LONE}", "a\x00", "", " ", 123, None, ("a",)):
        assert store.find(bad) is None  # type: ignore[arg-type]
        assert not store.exists(bad)  # type: ignore[arg-type]
        calls = [lambda b=bad: store.get(b), lambda b=bad: store.delete(b)]
        if bad is not None:  # edges(None) means every edge
            calls.append(lambda b=bad: store.edges(b))
        for call in (
            *calls,
            lambda b=bad: store.ancestors(b),
            lambda b=bad: store.subtree(b),
            lambda b=bad: store.set_status(b, ig.IntentStatus.SUSPENDED),
            lambda b=bad: store.get_many(["a", b]),
        ):
            with pytest.raises(ig.errors.IntentNotFound):
                call()
        with pytest.raises(ig.errors.EdgeNotFound):
            store.remove_edge("a", bad, ig.EdgeType.DEPENDS_ON)  # type: ignore[arg-type]
    assert [i.id for i in store.list()] == ["a"]


@pytest.mark.parametrize(
    "criteria",
    [
        {"text": LONE},
        {"session_id": LONE},
        {"ids": ("a", LONE)},
        {"metadata": {LONE: 1}},
        {"metadata": {"k": f"v{LONE}"}},
    ],
)
def test_a_lone_surrogate_in_a_filter_is_refused(
    store: StoreBase, criteria: dict[str, Any]
) -> None:
    put(store, "a")
    with pytest.raises(ig.errors.InvalidFilter):
        store.list(**criteria)
    with pytest.raises(ig.errors.InvalidFilter):
        store.count(**criteria)


def test_nul_characters_are_stored_and_read_back_exactly(store: StoreBase, store_url: str) -> None:
    put(
        store,
        "a",
        name="na\x00me",
        goal="go\x00al",
        session_id="s\x00",
        metadata={"k\x00": "v\x00w", "n": ["\x00", {"\x00": "\x00"}]},
    )
    put(store, "b", metadata={"k\x00": "v"})
    store.add_edge("a", "b", ig.EdgeType.RELATED_TO, metadata={"\x00": "\x00\x00"})
    store = reopened(store, store_url)
    try:
        a = store.get("a")
        assert (a.name, a.goal, a.session_id) == ("na\x00me", "go\x00al", "s\x00")
        assert a.metadata == {"k\x00": "v\x00w", "n": ["\x00", {"\x00": "\x00"}]}
        assert store.edges("a")[0].metadata == {"\x00": "\x00\x00"}
        assert [i.id for i in store.list(metadata={"k\x00": "v"})] == ["b"]
        assert [i.id for i in store.list(text="a\x00m")] == ["a"]
        assert [i.id for i in store.list(session_id="s\x00")] == ["a"]
    finally:
        store.close()


SUCCESS_CRITERIA = [
    5,
    -(2**63),
    2.5,
    1e-300,
    True,
    False,
    0,
    "",
    "done",
    [],
    [1, "a"],
    {"k": [1.5]},
]


def test_success_criteria_of_every_json_kind_is_read_back_after_a_reopen(
    store: StoreBase, store_url: str
) -> None:
    # A scalar success_criteria once made a JSON store unreadable after a reopen.
    for n, value in enumerate(SUCCESS_CRITERIA):
        put(store, f"i{n}", success_criteria=value)
    store = reopened(store, store_url)
    try:
        for n, value in enumerate(SUCCESS_CRITERIA):
            got = store.get(f"i{n}").success_criteria
            assert got == value and type(got) is type(value)
    finally:
        store.close()
