"""Contract: ``list`` and ``count`` give memory's answers for hostile strings and numbers.

NUL characters, quotes, backslashes, the six characters ``\\u0000``, control characters,
non-ASCII text, and numbers that SQLite cannot hold exactly (integers beyond int64, -0.0,
booleans that equal 1). Expected answers are written by hand from Python's ``==``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph._base import StoreBase
from tests.conftest import url_for

from ._support import at, ids, put

STRINGS = {
    "nul": "v\x00w",
    "plain": "v",
    "lone_nul": "\x00",
    "two_nuls": "\x00\x00",
    "nul_end": "v\x00",
    "backslash": "a\\b",
    "backslash_nul": "\\\x00",
    "quote": 'q"x',
    "literal": "\\u0000",  # six characters, no NUL
    "literal_nul": "\\u0000\x00",
    "control": "\x01\x1f\x7f",
    "accent": "é😀",
    "separator": "a\u2028b",
    "empty": "",
}


@pytest.fixture
def strings(store):
    for n, (name, value) in enumerate(STRINGS.items()):
        put(store, name, created_at=at(n), metadata={"k": value})
    return store


def listed(store: StoreBase, **criteria: Any) -> list[str]:
    """Return the ids ``list`` finds, after checking ``count`` against the unpaged list."""
    unpaged = {k: v for k, v in criteria.items() if k not in ("limit", "offset")}
    assert store.count(**unpaged) == len(store.list(**unpaged))
    return ids(store.list(**criteria))


@pytest.mark.parametrize("name", list(STRINGS))
def test_a_metadata_string_matches_only_itself(strings, name):
    assert listed(strings, metadata={"k": STRINGS[name]}) == [name]
    assert strings.count(metadata={"k": STRINGS[name]}) == 1


def test_a_string_with_nul_does_not_match_its_prefix(strings):
    assert listed(strings, metadata={"k": "v"}) == ["plain"]
    assert listed(strings, metadata={"k": ""}) == ["empty"]
    assert listed(strings, metadata={"k": "\\"}) == []


def test_a_wanted_string_with_nul_matches_nothing_shorter(strings):
    assert listed(strings, metadata={"k": "v\x00x"}) == []
    assert listed(strings, metadata={"k": "\x00\x00\x00"}) == []


def test_paging_a_metadata_filter_counts_only_exact_matches(store):
    for n, value in enumerate(["v", "v\x00w", "v", "v\x00", "v"]):
        put(store, f"i{n}", created_at=at(n), metadata={"k": value})
    assert listed(store, metadata={"k": "v"}) == ["i0", "i2", "i4"]
    assert listed(store, metadata={"k": "v"}, limit=2) == ["i0", "i2"]
    assert listed(store, metadata={"k": "v"}, limit=2, offset=1) == ["i2", "i4"]
    assert listed(store, metadata={"k": "v"}, offset=2) == ["i4"]
    assert store.count(metadata={"k": "v"}) == 3
    assert listed(store, metadata={"k": "v\x00"}, limit=1) == ["i3"]


@pytest.mark.parametrize(
    "key",
    ["a\x00b", "\x00", "", " ", "a.b", "a'b", 'a"b', "a\\b", "[0]", "$", "é😀", "a\tb", "\x7f"],
)
def test_any_metadata_key_is_looked_up_exactly(store, key):
    put(store, "hit", metadata={key: 1})
    put(store, "near", metadata={key + "x": 1, key[:-1] or "z": 1, "x" + key: 1})
    assert listed(store, metadata={key: 1}) == ["hit"]
    assert store.count(metadata={key: 1}) == 1
    assert listed(store, metadata={key: 1}, limit=1) == ["hit"]


def test_a_key_with_nul_does_not_match_its_prefix(store):
    put(store, "a", metadata={"a\x00b": 1})
    put(store, "b", metadata={"a": 1})
    assert listed(store, metadata={"a": 1}) == ["b"]
    assert listed(store, metadata={"a\x00b": 1}) == ["a"]
    assert listed(store, metadata={"a\x00": 1}) == []


# --- numbers --------------------------------------------------------------------------------

NUMBERS = {
    "one": 1,
    "one_real": 1.0,
    "true": True,
    "zero": 0,
    "minus_zero": -0.0,
    "false": False,
    "int64_max": 2**63 - 1,
    "two_63": 2**63,
    "two_63_plus_1": 2**63 + 1,
    "int64_min": -(2**63),
    "below_int64": -(2**63) - 1,
    "huge": 10**30,
    "two_53_plus_1": 2**53 + 1,
    "string_one": "1",
}


@pytest.fixture
def numbers(store):
    for n, (name, value) in enumerate(NUMBERS.items()):
        put(store, name, created_at=at(n), metadata={"n": value})
    return store


@pytest.mark.parametrize(
    ("want", "expected"),
    [
        (1, ["one", "one_real", "true"]),
        (1.0, ["one", "one_real", "true"]),
        (True, ["one", "one_real", "true"]),
        (0, ["zero", "minus_zero", "false"]),
        (-0.0, ["zero", "minus_zero", "false"]),
        (False, ["zero", "minus_zero", "false"]),
        ("1", ["string_one"]),
        (2**63 - 1, ["int64_max"]),
        (2**63, ["two_63"]),
        (float(2**63), ["two_63"]),
        (2**63 + 1, ["two_63_plus_1"]),
        (-(2**63), ["int64_min"]),
        (float(-(2**63)), ["int64_min"]),
        (-(2**63) - 1, ["below_int64"]),
        (10**30, ["huge"]),
        (1e30, []),  # 1e30 is not exactly 10**30
        (float(10**30), []),
        (2**53 + 1, ["two_53_plus_1"]),
        (float(2**53), []),
        (float("inf"), []),
        (float("nan"), []),
    ],
)
def test_metadata_numbers_compare_as_python_does(numbers, want, expected):
    assert listed(numbers, metadata={"n": want}) == expected
    assert numbers.count(metadata={"n": want}) == len(expected)
    assert listed(numbers, metadata={"n": want}, limit=1, offset=1) == expected[1:2]


# --- text, session, ids, names --------------------------------------------------------------


@pytest.fixture
def named(store):
    put(store, "nul", name="v\x00w", goal="g\x00h", session_id="s\x00t", created_at=at(0))
    put(store, "plain", name="v", goal="g", session_id="s", created_at=at(1))
    put(store, "ctrl", name="v\x01", goal="\\u0000", session_id="s\x00", created_at=at(2))
    put(store, "lower", name="u", goal="", session_id="\\u0000", created_at=at(3))
    return store


def test_text_matches_nul_and_backslashes_as_substrings(named):
    assert listed(named, text="\x00") == ["nul"]
    assert listed(named, text="v\x00") == ["nul"]
    assert listed(named, text="w\ng\x00h") == ["nul"]
    assert listed(named, text="\x00x") == []
    assert listed(named, text="\\u0000") == ["ctrl"]
    assert listed(named, text="V") == ["nul", "plain", "ctrl"]


def test_session_id_with_nul_matches_only_itself(named):
    assert listed(named, session_id="s") == ["plain"]
    assert listed(named, session_id="s\x00t") == ["nul"]
    assert listed(named, session_id="s\x00") == ["ctrl"]
    assert listed(named, session_id="\\u0000") == ["lower"]
    assert listed(named, session_id="\x00") == []


def test_ids_with_nul_match_no_stored_id(named):
    assert listed(named, ids=("plain\x00zzz",)) == []
    assert listed(named, ids=("plain\x00", "nul")) == ["nul"]
    assert named.count(ids=("lower\x00",)) == 0


def test_names_with_nul_sort_by_code_point(named):
    assert listed(named, order_by="name") == ["lower", "plain", "nul", "ctrl"]
    assert listed(named, order_by="name", descending=True) == ["ctrl", "nul", "plain", "lower"]
    assert listed(named, order_by="name", limit=2, offset=1) == ["plain", "nul"]


# --- memory and SQLite agree on random metadata ---------------------------------------------

_NASTY = st.sampled_from(["\x00", '"', "\\", "\\u0000", "\\\x00", "é", "😀", "\x01", ".", "'"])
_TEXT = (
    st.lists(_NASTY | st.text(max_size=2), max_size=3)
    .map("".join)
    .filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))
)
_KEYS = st.sampled_from(["k", "a\x00b", "a", "", 'q"', "\\u0000"]) | _TEXT
_NUMBER = (
    st.sampled_from(
        [0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**63 + 1, -(2**63), -(2**63) - 1, 10**20]
    )
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
)
_SCALAR = st.none() | st.booleans() | _NUMBER | _TEXT
_METADATA = st.dictionaries(_KEYS, _SCALAR | st.lists(_SCALAR, max_size=1), max_size=3)


@contextmanager
def _fresh_sqlite() -> Iterator[StoreBase]:
    directory = Path(tempfile.mkdtemp(prefix="ig-hostile-"))
    try:
        with ig.open_store(url_for("sqlite", directory)) as store:
            yield store
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _scalars(metadata: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(k, v) for m in metadata for k, v in m.items() if not isinstance(v, list)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stored=st.lists(_METADATA, min_size=1, max_size=8),
    extra=st.lists(st.tuples(_KEYS, _SCALAR), min_size=1, max_size=2),
    data=st.data(),
)
def test_sqlite_and_memory_agree_on_random_metadata_filters(stored, extra, data):
    intents = [
        ig.Intent(id=f"i{n}", name=f"i{n}", created_at=at(n), updated_at=at(n), metadata=m)
        for n, m in enumerate(stored)
    ]
    # Criteria are mostly drawn from stored pairs (so that some match), some made up.
    pairs = _scalars(stored) + extra
    with ig.open_store("memory://") as memory, _fresh_sqlite() as sqlite:
        memory.put_many(intents)
        sqlite.put_many(intents)
        for _ in range(4):
            chosen = data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=2))
            wanted = dict(chosen)
            limit = data.draw(st.none() | st.integers(0, 4))
            offset = data.draw(st.integers(0, 3))
            for criteria in ({}, {"limit": limit, "offset": offset}):
                expected = ids(memory.list(metadata=wanted, **criteria))
                assert ids(sqlite.list(metadata=wanted, **criteria)) == expected, (wanted, criteria)
            assert sqlite.count(metadata=wanted) == memory.count(metadata=wanted), wanted
