"""The backup format: constants, the header, and one record checked at a time.

A backup is JSON Lines (optionally gzip-compressed): each line is one JSON object with
exactly one key naming what it holds::

    {"header": {"format": "intentgraph-backup", "version": 1, "created_at": ..., ...}}
    {"intent": {...every field of an Intent...}}      sorted by id, each id once
    {"edge": {...every field of an Edge...}}          sorted by (source, target, type)
    {"trailer": {"counts": {"intents": N, "edges": M}, "sha256": "..."}}

The SHA-256 is of every byte before the trailer line (header included), uncompressed.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from datetime import UTC, datetime
from typing import IO, Any

from intentgraph._base import as_intent, storable_id
from intentgraph._codec import assemble, edge_of, plain_edge_from_line
from intentgraph.errors import BackupError, InvalidIntent
from intentgraph.models import (
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    Lease,
    check_json,
)

__all__ = [
    "FORMAT",
    "READS",
    "VERSION",
    "open_backup",
    "parse_edge",
    "parse_intent",
    "read_plain_edge_line",
]

FORMAT = "intentgraph-backup"
"""The ``format`` of a backup's header."""

VERSION = 1
"""The format version this intentgraph writes."""

READS = (1,)
"""The format versions this intentgraph reads (a later release keeps reading these)."""

_INTENT_FIELDS = frozenset(Intent.model_fields)
_EDGE_FIELDS = frozenset(Edge.model_fields)
_STATUSES = {s.value: s for s in IntentStatus}
_TYPES = {t.value: t for t in EdgeType}
_fromiso = datetime.fromisoformat
GZIP_MAGIC = b"\x1f\x8b"


def _utc(value: Any) -> datetime:
    stamp = _fromiso(value)  # TypeError unless a string
    if stamp.tzinfo is not UTC:
        raise ValueError("not UTC")  # full validation converts or refuses it
    return stamp


def parse_intent(obj: Any) -> Intent:
    """Return the intent an ``intent`` record holds, fully checked (see ``read_intent``).

    Raises:
        InvalidIntent: the record is not a valid stored intent.
    """
    return read_intent(obj)[0]


def read_intent(obj: Any, *, text_checked: bool = False) -> tuple[Intent, bool]:
    """Return the intent an ``intent`` record holds, fully checked, and whether the record
    was already in the form intentgraph writes (its text then rebuilds the same intent).
    ``text_checked``: ``obj`` comes from pydantic_core's JSON parser, which refuses lone
    surrogates, so its strings need no second look for them.

    A record in the form intentgraph writes is assembled directly and re-checked field by
    field (``as_intent``); anything else goes through pydantic's validation, which names
    the problem. Either way the intent is as valid as one ``put`` would accept, with a
    version of at least 1.

    Raises:
        InvalidIntent: the record is not a valid stored intent.
    """
    intent: Intent | None = None
    assembled: Intent | None = None
    if type(obj) is dict and obj.keys() == _INTENT_FIELDS:
        try:
            fields = dict(obj)
            fields["created_at"] = _utc(fields["created_at"])
            fields["updated_at"] = _utc(fields["updated_at"])
            fields["status"] = _STATUSES[fields["status"]]
            if fields["lease"] is not None:
                fields["lease"] = Lease.model_validate(fields["lease"])
            intent = assembled = assemble(Intent, fields)
        except (ValueError, KeyError, TypeError, InvalidIntent):
            intent = None
    if intent is None:
        if not isinstance(obj, dict):
            raise InvalidIntent("intent", [{"loc": (), "msg": "expected a JSON object"}])
        intent = Intent.model_validate(obj)
    intent = as_intent(intent, text_checked=text_checked)
    if intent.version < 1:
        raise InvalidIntent("intent", [{"loc": ("version",), "msg": "a stored version is >= 1"}])
    if intent.lease is not None and intent.status is not IntentStatus.EXECUTING:
        msg = "only an executing intent has a lease"
        raise InvalidIntent("intent", [{"loc": ("lease",), "msg": msg}])
    return intent, intent is assembled


def parse_edge(obj: Any) -> Edge:
    """Return the edge an ``edge`` record holds, fully checked.

    Raises:
        InvalidIntent: the record is not a valid edge.
    """
    return read_edge(obj)[0]


def read_edge(obj: Any) -> tuple[Edge, bool]:
    """Return the edge an ``edge`` record holds, fully checked, and whether the record was
    already in the form intentgraph writes."""
    if type(obj) is dict and obj.keys() == _EDGE_FIELDS:
        try:
            source, target, weight, metadata = (
                obj["source"],
                obj["target"],
                obj["weight"],
                obj["metadata"],
            )
            if (
                storable_id(source)
                and storable_id(target)
                and (weight is None or (type(weight) is float and math.isfinite(weight)))
                and type(metadata) is dict
            ):
                if metadata:
                    check_json(metadata, "metadata")
                fields = dict(obj)
                fields["type"] = _TYPES[obj["type"]]
                fields["created_at"] = _utc(obj["created_at"])
                return assemble(Edge, fields), True
        except (ValueError, KeyError, TypeError):
            pass
    if not isinstance(obj, dict):
        raise InvalidIntent("edge", [{"loc": (), "msg": "expected a JSON object"}])
    return Edge.model_validate(obj), False


_EDGE_LINE_START, _EDGE_LINE_END = b'{"edge":', b"}}\n"


def read_plain_edge_line(raw: bytes) -> Edge | None:
    """The edge of a whole ``edge`` line as intentgraph writes one with no weight and no
    metadata (most edges), read from its text without parsing it (``plain_edge_from_line``:
    the same edge ``read_edge`` would return, in a third of the time); None for any other
    line, which the caller parses."""
    if not (raw.startswith(_EDGE_LINE_START) and raw.endswith(_EDGE_LINE_END)):
        return None
    found = plain_edge_from_line(raw[len(_EDGE_LINE_START) : -2])  # the edge's own {...}
    return None if found is None else edge_of(*found)


def open_backup(raw: IO[bytes]) -> IO[bytes]:
    """Return a reader of the backup's lines: gzip is recognised by its magic bytes."""
    buffered: Any = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
    reader: Any = buffered
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        reader = gzip.GzipFile(fileobj=buffered, mode="rb")
    return reader  # type: ignore[no-any-return]


READ_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, OSError)
"""What reading a damaged compressed backup raises."""


def read_failure(name: str, line: int, exc: BaseException) -> BackupError:
    """Return the ``BackupError`` for a failure to read a backup's bytes."""
    if isinstance(exc, EOFError):
        return BackupError(name, line, "the compressed backup ends early: it is truncated")
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return BackupError(name, line, f"the compressed data is damaged ({exc})")
    return BackupError(name, line, f"cannot read the backup: {exc}")
