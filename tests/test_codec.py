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


def test_plain_edge_texts_are_the_serializers_texts_or_none() -> None:
    import itertools
    from datetime import UTC, datetime, timedelta, timezone

    from intentgraph._codec import edge_to_json, plain_edge_texts

    ids = ["a", "A-1_b.c:d/e", 'q"uote', "back\\slash", "ü€😀", "\u0085x", "\u00a0y", "\u0080z"]
    times = [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    ]
    extras = [(None, {}), (0.5, {}), (None, {"k": 1})]
    taken = 0
    for source, target, when, kind, (weight, metadata) in itertools.product(
        ids, ids[:3], times, ig.EdgeType, extras
    ):
        try:
            edge = ig.Edge(
                source=source,
                target=target,
                type=kind,
                weight=weight,
                metadata=metadata,
                created_at=when,
            )
        except ValueError:
            continue  # an id the model refuses
        texts = plain_edge_texts(edge)
        if texts is not None:  # else edge_props asks the serializer
            taken += 1
            assert texts == (edge_to_json(edge), edge.created_at.isoformat())
    assert taken > 50
