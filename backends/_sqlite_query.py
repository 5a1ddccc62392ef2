"""Row conversion and ``IntentFilter`` → SQL translation for the SQLite backend."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core

from intentgraph._codec import edge_from_json, edge_of, edge_to_json
from intentgraph.errors import StoreCorrupted
from intentgraph.filters import IntentFilter
from intentgraph.models import Edge, EdgeType

__all__ = [
    "EDGE_COLUMNS",
    "EDGE_TEXT",
    "FilterSQL",
    "edge_from_row",
    "edge_row",
    "from_us",
    "json_list",
    "to_us",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_list(items: list[str]) -> str:
    """Bind a list of ids as one JSON array parameter (read back with ``json_each``)."""
    return pydantic_core.to_json(items).decode()


def to_us(value: datetime) -> int:
    """Return an aware datetime as integer microseconds since the epoch (exact)."""
    return (value - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    """Return the UTC datetime ``to_us`` made ``value`` of."""
    return _EPOCH + timedelta(microseconds=value)


# An edge row (schema 4): the key, then either created_us (an edge with no weight and no
# metadata, most edges: its record is rebuilt from the row) or data (the whole record).
EDGE_COLUMNS = "source, target, type, created_us, data"
"""The columns ``edge_from_row`` and ``edge_text`` read, in their order."""

_EDGE_TYPES = {t.value: t for t in EdgeType}


def edge_row(edge: Edge) -> tuple[str, str, str, int | None, str | None]:
    """Return (source, type, target, created_us, data): the row that stores ``edge``."""
    if edge.weight is None and not edge.metadata:
        return (edge.source, edge.type.value, edge.target, to_us(edge.created_at), None)
    return (edge.source, edge.type.value, edge.target, None, edge_to_json(edge))


def edge_from_row(
    source: str, target: str, etype: str, created_us: int | None, data: str | None
) -> Edge:
    """Rebuild the edge a row (``EDGE_COLUMNS``) stores.

    Raises:
        StoreCorrupted: the row is not one a store writes.
    """
    if data is not None:
        return edge_from_json(data)
    kind = _EDGE_TYPES.get(etype)
    if kind is None or type(created_us) is not int or not _US_MIN <= created_us <= _US_MAX:
        raise StoreCorrupted(
            f"the edge {source!r} -{etype}-> {target!r} cannot be read back: "
            f"type {etype!r}, created_us {created_us!r}"
        )
    return edge_of(source, target, kind, from_us(created_us))


_US_MIN = to_us(datetime(1, 1, 1, tzinfo=UTC))
_US_MAX = to_us(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))

# The record of an edge row as SQL text: ``data``, or the text edge_to_json writes of the
# edge its key and created_us make (ids spelled by json_quote as pydantic spells them: only
# '"', '\\' and control characters are escaped, and ids hold no control characters;
# created_us split into whole seconds and microseconds rounding down, as datetime does
# before 1970). NULL for a row with neither. What a backup streams: built by SQLite,
# without a Python object per edge.
_FRACTION = "((created_us % 1000000) + 1000000) % 1000000"
EDGE_TEXT = f"""coalesce(data,
    '{{"source":' || json_quote(source) || ',"target":' || json_quote(target)
    || ',"type":' || json_quote(type) || ',"weight":null,"metadata":{{}},"created_at":"'
    || strftime('%Y-%m-%dT%H:%M:%S', (created_us - {_FRACTION}) / 1000000, 'unixepoch')
    || iif({_FRACTION} = 0, '', printf('.%06d', {_FRACTION})) || 'Z"}}')"""
"""A SQL expression over an edge row: its record as ``edge_to_json`` writes it."""


class FilterSQL:
    """An ``IntentFilter`` as a WHERE clause, ORDER BY and paging.

    When a criterion cannot be expressed exactly in SQL (a metadata value SQLite cannot
    compare the way Python does), ``python_filter`` is True: the caller selects without
    paging and applies ``IntentFilter.matches`` and the slice itself.
    """

    def __init__(self, flt: IntentFilter) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []
        self.python_filter = False
        self._build(flt)
        columns = {
            "created_at": ["created_us", "id"],
            "updated_at": ["updated_us", "id"],
            "priority": ["priority", "created_us", "id"],
            "name": ["name", "id"],
            "id": ["id"],
        }[flt.order_by]
        direction = " DESC" if flt.descending else ""
        self.order_by = ", ".join(c + direction for c in columns)

    @property
    def where_sql(self) -> str:
        """The WHERE clause (with the keyword), or an empty string."""
        return " WHERE " + " AND ".join(self.where) if self.where else ""

    def _build(self, flt: IntentFilter) -> None:
        if flt.status is not None:
            self.where.append(f"status IN ({', '.join('?' * len(flt.status))})")
            self.params.extend(s.value for s in flt.status)
            if not flt.status:
                self.where[-1] = "0"
        if flt.ids is not None:
            # json_each reads "a\u0000b" as "a"; no stored id holds a control character.
            self.where.append("id IN (SELECT value FROM json_each(?))")
            self.params.append(json_list([i for i in flt.ids if "\x00" not in i]))
        if flt.session_id is not None:
            self.where.append("session_id = ?")
            self.params.append(flt.session_id)
        if flt.priority_min is not None:
            self._bound(
                "priority >= ?",
                flt.priority_min,
                flt.priority_min > _INT64_MAX,
                flt.priority_min < _INT64_MIN,
            )
        if flt.priority_max is not None:
            self._bound(
                "priority <= ?",
                flt.priority_max,
                flt.priority_max < _INT64_MIN,
                flt.priority_max > _INT64_MAX,
            )
        for column, after, before in (
            ("created_us", flt.created_after, flt.created_before),
            ("updated_us", flt.updated_after, flt.updated_before),
        ):
            if after is not None:
                self.where.append(f"{column} >= ?")
                self.params.append(to_us(after))
            if before is not None:
                self.where.append(f"{column} < ?")
                self.params.append(to_us(before))
        if flt.text is not None:
            # search holds (name + "\n" + goal).casefold(): SQLite's lower() is ASCII-only.
            self.where.append("instr(search, ?) > 0")
            self.params.append(flt.text.casefold())
        for key, want in (flt.metadata or {}).items():
            self._metadata(key, want)

    def _bound(self, clause: str, value: int, never: bool, always: bool) -> None:
        if never:
            self.where.append("0")
        elif not always:
            self.where.append(clause)
            self.params.append(value)

    def _metadata(self, key: str, want: Any) -> None:
        # A key is looked up by its raw spelling in the stored JSON (SQLite does not
        # unescape path labels the same way on every version): one that pydantic escapes
        # (quote, backslash, control characters, NUL) is filtered in Python.
        if not key or _json_string(key) != f'"{key}"':
            self.python_filter = True
            return
        path = f'$.metadata."{key}"'
        kind = "json_type(data, ?)"
        if want is None:
            self.where.append(f"{kind} = 'null'")
            self.params.append(path)
        elif isinstance(want, str):
            self._metadata_text(path, want)
        elif isinstance(want, float) and not math.isfinite(want):
            self.where.append("0")  # stored numbers are finite: nothing equals inf or NaN
        elif isinstance(want, bool | int | float):
            if not _exact_in_sql(want):
                self.python_filter = True
                return
            # Python: True == 1 == 1.0, so booleans and numbers compare across kinds.
            self.where.append(
                f"{kind} IN ('true', 'false', 'integer', 'real') AND json_extract(data, ?) = ?"
            )
            self.params.extend((path, path, int(want) if isinstance(want, bool) else want))
        else:
            self.python_filter = True

    def _metadata_text(self, path: str, want: str) -> None:
        if "\x00" in want:
            self.python_filter = True
            return
        # json_extract stops a string at its first NUL ("v\u0000w" reads as "v"), so a
        # stored value whose JSON text holds a \u0000 escape must also be spelled exactly
        # as ``want`` (which has no NUL) is: only the six characters "\u0000" pass.
        self.where.append(
            "json_type(data, ?) = 'text' AND json_extract(data, ?) = ?"
            " AND (instr(data -> ?, '\\u0000') = 0 OR data -> ? = ?)"
        )
        self.params.extend((path, path, want, path, path, _json_string(want)))


def _json_string(value: str) -> str:
    """Return ``value`` as the data column spells it (pydantic's JSON encoding)."""
    return pydantic_core.to_json(value).decode()


def _exact_in_sql(want: int | float) -> bool:
    """Return True when SQLite's ``json_extract(...) = want`` agrees with Python's ``==``.

    SQLite reads a stored integer beyond int64 as the nearest double, which is at least
    2**63 in magnitude; it compares integers with doubles exactly. So a wanted number below
    2**63 in magnitude never equals such a rounded value, while one at or beyond it might
    equal it by rounding alone (-2**63 itself included).
    """
    return -(2**63) < want < 2**63
