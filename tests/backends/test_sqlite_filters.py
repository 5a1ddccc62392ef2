"""SQLite-only: which metadata filters run in SQL (with paging) and which fall back to Python."""

from __future__ import annotations

from typing import Any

import pytest

from intentgraph.backends._sqlite_query import FilterSQL
from intentgraph.protocol import IntentFilter


@pytest.mark.parametrize(
    "metadata",
    [
        {"k": "v"},
        {"k": ""},
        {"k": 'q"x\\y'},
        {"k": "\\u0000"},
        {"k": "é😀\x01"},
        {"a.b": 1},
        {"é": None},
        {"n": True},
        {"n": 1.5},
        {"n": -0.0},
        {"n": 2**63 - 1},
        {"n": -(2**63) + 1},
        {"n": float("inf")},
    ],
)
def test_common_metadata_filters_run_in_sql(metadata: dict[str, Any]) -> None:
    assert FilterSQL(IntentFilter(metadata=metadata)).python_filter is False


@pytest.mark.parametrize(
    "metadata",
    [
        {"k": "v\x00w"},
        {"a\x00b": 1},
        {"": 1},
        {'q"': 1},
        {"a\\b": 1},
        {"a\tb": 1},
        {"n": 2**63},
        {"n": -(2**63)},
        {"n": 1e30},
    ],
)
def test_metadata_filters_sql_cannot_answer_exactly_run_in_python(
    metadata: dict[str, Any],
) -> None:
    assert FilterSQL(IntentFilter(metadata=metadata)).python_filter is True
