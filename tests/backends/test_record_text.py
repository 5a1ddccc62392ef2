"""An intent record read from its text in one pass (``intent_from_line``) is exactly what
the general reader builds from the parsed record, and never what that reader refuses."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pydantic_core
from hypothesis import given, settings
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph._codec import intent_fields
from intentgraph._record_text import intent_from_line
from intentgraph.backends.jsonfile import _stored_intent
from intentgraph.errors import InvalidIntent
from intentgraph.models import ID_PATTERN, Intent, IntentStatus
from tests.test_properties import json_values, valid_intents

ID = re.compile(ID_PATTERN)


def general(text: bytes) -> Intent | None:
    """The record as the general reader reads it: parsed, then built and checked (None:
    refused)."""
    try:
        return _stored_intent(pydantic_core.from_json(text))
    except (ValueError, InvalidIntent):
        return None


def same_intent(fast: Intent, slow: Intent) -> bool:
    """Equal values of equal types, in the same order (the order records are written in)."""
    a, b = fast.__dict__, slow.__dict__
    return (
        list(a.items()) == list(b.items())
        and [type(v) for v in a.values()] == [type(v) for v in b.values()]
        and fast.created_at.tzinfo is UTC
        and fast.updated_at.tzinfo is UTC
        and fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__
    )


def as_written(intent: Intent) -> dict[str, Any]:
    fields = intent_fields(intent)
    fields["version"] = max(fields["version"], 1)
    return fields


HOSTILE: dict[str, list[Any]] = {
    "id": ["", "has space", "ctl\x01", "x" * 201, "x" * 200, "é" * 201, 5, None],
    "name": ["", " ", "\t\n", "\u2003", "x" * 501, "x" * 500, 1, None],
    "goal": ["x" * 100_001, None, 0],
    "original_request": [1, ["x"]],
    "status": ["done", "ACTIVE", 1, None],
    "priority": [True, 2**63, -(2**63) - 1, 1.0, "1", None, 2**63 - 1],
    "constraints": [[], None, "x", {"k": [1e308]}],
    "preferences": [[], 1],
    "metadata": [[], None, {"k": {"k": {"k": "deep"}}}],
    "session_id": ["s" * 201, "s" * 200, 1],
    "lease": [{"worker": "w"}, "x", 1],
    "attempts": [-1, True, 1.0, None],
    "reason": ["r" * 10_001, "r" * 10_000, 1],
    "created_at": ["2024-01-01T00:00:00", "2024-01-01T00:00:00+01:00", "yesterday", 1, None],
    "updated_at": ["2024-01-01T00:00:00-00:00", "2024-13-01T00:00:00Z", "2024-01-01"],
    "version": [-1, True, 2**64, 1.5],
}


@settings(max_examples=300, deadline=None)
@given(
    intent=valid_intents,
    criteria=json_values,
    at=st.integers(0, 3000),
    insert=st.sampled_from(
        [
            b"",
            b" ",
            b"\\",
            b'"',
            b"}",
            b",",
            b"\\ud800",
            b"\\u0041",
            b'"x":1,',
            b"\xc3\xa9",
            b"1e400",
        ]
    ),
)
def test_an_intent_read_from_its_text_is_what_the_general_reader_builds(
    intent: Intent, criteria: Any, at: int, insert: bytes
) -> None:
    fields = as_written(intent) | {"success_criteria": criteria}
    text = pydantic_core.to_json(fields)
    text = text[:at] + insert + text[at:]
    fast, slow = intent_from_line(text), general(text)
    if fast is not None:
        assert slow is not None and same_intent(fast, slow)
    if insert == b"":
        assert fast is not None  # the usual record takes the fast path


@settings(max_examples=300, deadline=None)
@given(
    intent=valid_intents,
    hostile=st.sampled_from([(k, v) for k, values in HOSTILE.items() for v in values]),
)
def test_a_hostile_value_is_never_read_other_than_the_general_reader_reads_it(
    intent: Intent, hostile: tuple[str, Any]
) -> None:
    field, value = hostile
    fields = as_written(intent)
    fields[field] = value
    text = pydantic_core.to_json(fields)
    fast, slow = intent_from_line(text), general(text)
    if fast is not None:
        assert slow is not None and same_intent(fast, slow)


def test_a_missing_or_extra_key_or_a_lease_is_left_to_the_general_reader() -> None:
    intent = ig.Intent(id="a", name="a", status=IntentStatus.ACTIVE, version=1)
    fields = as_written(intent)
    assert intent_from_line(pydantic_core.to_json(fields)) is not None
    missing = {k: v for k, v in fields.items() if k != "reason"}
    assert intent_from_line(pydantic_core.to_json(missing)) is None
    assert intent_from_line(pydantic_core.to_json(fields | {"extra": 1})) is None
    with ig.open_store("memory://") as store:
        store.put(intent)
        text = pydantic_core.to_json(intent_fields(store.claim("a", worker="w")))
    assert intent_from_line(text) is None
    assert general(text) is not None, "a valid leased record is read the general way"


def test_the_id_pattern_reads_every_character_as_pythons_re_does() -> None:
    # The fast path checks ids with Rust's regex engine; the general way with Python's re.
    # Every blank Unicode knows lies below U+3100.
    fields = as_written(ig.Intent(id="a", name="a"))
    for point in [*range(0x3100), 0xFEFF, 0x1F600, 0x10FFFF]:
        if 0xD800 <= point < 0xE000:
            continue  # lone surrogates: refused by the parser, before any pattern
        intent_id = f"a{chr(point)}b"
        text = pydantic_core.to_json(fields | {"id": intent_id})
        fast = intent_from_line(text)
        assert (fast is not None) == (ID.fullmatch(intent_id) is not None), hex(point)
