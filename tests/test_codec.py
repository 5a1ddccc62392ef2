"""``_codec.intents_from_json``: many records read in one parse, and the same answers and
errors as ``intent_from_json`` record by record, a broken record included."""

from __future__ import annotations

import pytest

import intentgraph as ig
from intentgraph._codec import intent_from_json, intent_to_json, intents_from_json
from intentgraph.errors import StoreCorrupted


def _blobs() -> list[str]:
    intents = [ig.Intent(id=f"i{k}", name=f"n{k}", metadata={"k": k}) for k in range(5)]
    return [intent_to_json(i) for i in intents]


def test_intents_from_json_reads_each_record_as_intent_from_json_does() -> None:
    blobs = _blobs()
    assert intents_from_json(blobs) == [intent_from_json(b) for b in blobs]
    assert intents_from_json([]) == []


@pytest.mark.parametrize("broken", ['{"id": 1}', "{", '{"a": 1}, {"b": 2}', "1"])
def test_intents_from_json_raises_store_corrupted_for_a_broken_record(broken: str) -> None:
    blobs = _blobs()
    with pytest.raises(StoreCorrupted):
        intents_from_json([*blobs[:2], broken, *blobs[2:]])


def test_intents_from_json_reads_a_record_of_another_shape_as_intent_from_json_does() -> None:
    blob = intent_to_json(ig.Intent(id="x", name="x")).replace('"priority":0', '"priority":"0"')
    assert intents_from_json([blob]) == [intent_from_json(blob)]
