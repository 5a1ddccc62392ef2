"""How intents and edges are written as JSON by every store (journal, document, SQLite rows),
and read back.

Writing: the bytes are exactly what pydantic's ``model_dump_json`` writes, so files written
before and after read alike, but the work is done on plain data: pydantic's model serializer
reads an enum's ``value`` through Python code, where a pending signal handler runs, and it
then turns the handler's exception (``KeyboardInterrupt``, a timeout) into a serialization
error, or in ``model_dump()`` into a mere warning. A store must let such an exception
through untouched.

Reading: validating every record with pydantic costs about 10 µs. Records were validated
before they were written, so ``*_from_fields`` only checks their shape and builds the model
directly; callers that read files a person may have edited check the values as well
(``as_intent``, ``as_edge``), and anything unexpected goes through full validation, which
names the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic
import pydantic_core

from intentgraph.errors import InvalidIntent, StoreCorrupted
from intentgraph.models import ID_PATTERN, Edge, EdgeType, Intent, IntentStatus, Lease
from intentgraph.results import TreeNode

__all__ = [
    "SHARED_EDGE_FIELDS",
    "SHARED_INTENT_FIELDS",
    "assemble",
    "edge_fields",
    "edge_from_fields",
    "edge_from_json",
    "edge_from_written",
    "edge_to_json",
    "intent_fields",
    "intent_from_fields",
    "intent_from_json",
    "intent_from_written",
    "intent_to_json",
    "intents_from_json",
    "intents_from_json_array",
    "plain_edge_from_fields",
    "plain_edge_from_line",
    "plain_edge_lines",
    "tree_node",
]

_to_json = pydantic_core.to_json


def _from_json(data: str | bytes) -> Any:
    # Caching only the keys (repeated in every record) parses records 10-25% faster than
    # caching every short string as well (values are mostly unique).
    return pydantic_core.from_json(data, cache_strings="keys")


_fromiso = datetime.fromisoformat
_new = object.__new__
_INTENT_FIELDS = frozenset(Intent.model_fields)
_EDGE_FIELDS = frozenset(Edge.model_fields)
_STATUSES = {s.value: s for s in IntentStatus}
_EDGE_TYPES = {t.value: t for t in EdgeType}
_ID = re.compile(ID_PATTERN)

SHARED_INTENT_FIELDS = set(Intent.model_fields)
SHARED_EDGE_FIELDS = set(Edge.model_fields)
"""One set of field names for every intent (edge) a store keeps, instead of 1.2 KB each.

Safe to share: every field of a stored record is set, and pydantic only ever adds field
names to the set (a no-op here); copies handed out get a set of their own (``clone``)."""


def intent_fields(intent: Intent) -> dict[str, Any]:
    """Return the intent's fields as plain data (the status as a plain string)."""
    fields = dict(intent.__dict__)
    fields["status"] = fields["status"].value
    lease = fields["lease"]
    if lease is not None:
        fields["lease"] = dict(lease.__dict__)
    return fields


def edge_fields(edge: Edge) -> dict[str, Any]:
    """Return the edge's fields as plain data (the type as a plain string)."""
    fields = dict(edge.__dict__)
    fields["type"] = fields["type"].value
    return fields


def intent_to_json(intent: Intent) -> str:
    """Return the intent as compact JSON, as ``intent.model_dump_json()`` would."""
    return _to_json(intent_fields(intent)).decode()


def edge_to_json(edge: Edge) -> str:
    """Return the edge as compact JSON, as ``edge.model_dump_json()`` would."""
    return _to_json(edge_fields(edge)).decode()


_TYPE_TEXT = {t: t.value for t in EdgeType}  # Enum.value is a slow property in a hot loop


def plain_edge_texts(edge: Edge) -> tuple[str, str] | None:
    """Return ``(edge_to_json(edge), edge.created_at.isoformat())`` written without the
    serializer, or None: for an edge with no weight and no metadata, in UTC, whose ids need
    no escape in JSON (printable, no quote, no backslash), as most edges are. The serializer
    was half of the time it takes to build a stored edge's properties."""
    fields = edge.__dict__
    created = fields["created_at"]
    if fields["weight"] is not None or fields["metadata"] or created.tzinfo is not UTC:
        return None
    source, target = fields["source"], fields["target"]
    for value in (source, target):
        if '"' in value or "\\" in value or not value.isprintable():
            return None
    iso = created.isoformat()  # ends in +00:00, which JSON (pydantic) writes as Z
    etype = _TYPE_TEXT[fields["type"]]
    return (
        f'{{"source":"{source}","target":"{target}","type":"{etype}","weight":null,'
        f'"metadata":{{}},"created_at":"{iso[:-6]}Z"}}',
        iso,
    )


# pydantic's BaseModel keeps its state in these four slots; their descriptors' own setters
# are a third cheaper than object.__setattr__, which looks each one up by name.
_SLOTS = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_SET_DICT, _SET_FIELDS_SET, _SET_EXTRA, _SET_PRIVATE = (
    pydantic.BaseModel.__dict__[slot].__set__ for slot in _SLOTS
)


def assemble(cls: type[Any], fields: dict[str, Any], fields_set: set[str] | None = None) -> Any:
    """What ``model_construct`` builds, minus its per-field defaults (every field is in
    ``fields``, already checked); ``fields_set`` defaults to a set of its own."""
    obj = _new(cls)
    _SET_DICT(obj, fields)
    _SET_FIELDS_SET(obj, set(fields) if fields_set is None else fields_set)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def intent_from_fields(fields: dict[str, Any], *, fields_set: set[str] | None = None) -> Intent:
    """Build an ``Intent`` from the parsed JSON of a stored record, its shape checked only.

    Raises:
        ValueError, KeyError, TypeError, AttributeError: not the shape a store writes.
    """
    if fields.keys() != _INTENT_FIELDS:
        raise KeyError("not a stored intent's fields")
    fields["created_at"] = _fromiso(fields["created_at"])
    fields["updated_at"] = _fromiso(fields["updated_at"])
    fields["status"] = _STATUSES[fields["status"]]
    if fields["lease"] is not None:  # only while executing: rare, validate it
        fields["lease"] = Lease.model_validate(fields["lease"])
    return assemble(Intent, fields, fields_set)  # type: ignore[no-any-return]


def edge_from_fields(fields: dict[str, Any], *, fields_set: set[str] | None = None) -> Edge:
    """Build an ``Edge`` from the parsed JSON of a stored record (see ``intent_from_fields``)."""
    if fields.keys() != _EDGE_FIELDS:
        raise KeyError("not a stored edge's fields")
    fields["created_at"] = _fromiso(fields["created_at"])
    fields["type"] = _EDGE_TYPES[fields["type"]]
    return assemble(Edge, fields, fields_set)  # type: ignore[no-any-return]


def plain_edge_from_fields(
    fields: Any, known: Container[str] = ()
) -> tuple[str, str, EdgeType, datetime] | None:
    """Read a stored edge record with no weight and no metadata (most edges) without
    building an ``Edge``: (source, target, type, created_at), every value checked, as
    ``as_edge`` checks them; None for any other record (read it with ``edge_from_fields``).

    The record must come from a JSON parser that refuses lone surrogates (pydantic_core's).
    ``known``: ids already checked (the intents read so far), whose pattern is not checked
    again.
    """
    if type(fields) is not dict or fields.keys() != _EDGE_FIELDS:
        return None
    source, target, created, metadata = (
        fields["source"],
        fields["target"],
        fields["created_at"],
        fields["metadata"],
    )
    etype = _EDGE_TYPES.get(fields["type"]) if type(fields["type"]) is str else None
    if (
        etype is None
        or fields["weight"] is not None
        or type(metadata) is not dict
        or metadata
        or type(source) is not str
        or type(target) is not str
        or (source not in known and _ID.fullmatch(source) is None)
        or (target not in known and _ID.fullmatch(target) is None)
        or type(created) is not str
    ):
        return None
    try:
        when = _fromiso(created)
    except ValueError:
        return None
    return (source, target, etype, when) if when.tzinfo is UTC else None


# A record exactly as ``edge_to_json`` writes an edge with no weight and no metadata whose
# ids are printable ASCII without quotes or backslashes: such text holds no escapes, so its
# bytes are the values, and every id it matches is valid (no blanks, no control characters).
_PLAIN_EDGE_SOURCE = (
    r'\{"source":"([!#-\[\]-~]{1,200})","target":"([!#-\[\]-~]{1,200})","type":"('
    + "|".join(re.escape(t.value) for t in EdgeType)
    + r')","weight":null,"metadata":\{\},"created_at":"([-0-9:.+TZ]{1,64})"\}'
)
_PLAIN_EDGE_TEXT = re.compile(_PLAIN_EDGE_SOURCE.encode())

PlainEdge = tuple[str, str, EdgeType, datetime]


def plain_edge_from_line(text: bytes) -> PlainEdge | None:
    """``plain_edge_from_fields`` for the compact JSON text of one edge record, read
    without parsing it (a third of the time): the same values, or None for any text not
    in that exact form (parse it and read the fields)."""
    match = _PLAIN_EDGE_TEXT.fullmatch(text)
    if match is None:
        return None
    source, target, etype, created = match.groups()
    try:
        when = _fromiso(created.decode())
    except ValueError:
        return None
    if when.tzinfo is not UTC:
        return None
    return source.decode(), target.decode(), _EDGE_TYPES[etype.decode()], when


def plain_edge_lines(indent: str, end: str) -> Callable[[list[bytes]], list[PlainEdge] | None]:
    """A reader of many lines at once, each ``indent``, a record ``plain_edge_from_line``
    reads, then ``end`` (ending in a newline): their values in order (what it reads line by
    line, with one regular expression over all of them), or None when any line is not of
    that form."""
    pattern = re.compile(f"^{re.escape(indent)}{_PLAIN_EDGE_SOURCE}{re.escape(end)}", re.M)

    def read(lines: list[bytes]) -> list[PlainEdge] | None:
        text = b"".join(lines)
        if not text.isascii() or not text.endswith(b"\n"):
            return None
        # A match starts at a line's start and takes its newline, the only one it holds:
        # as many matches as newlines, and every line is one.
        chars = text.decode("ascii")
        found = pattern.findall(chars)
        if len(found) != chars.count("\n"):
            return None
        try:
            edges = [(s, t, _EDGE_TYPES[e], _fromiso(c)) for s, t, e, c in found]
        except ValueError:
            return None
        for edge in edges:
            if edge[3].tzinfo is not UTC:
                return None
        return edges

    return read


def edge_of(source: str, target: str, etype: EdgeType, created_at: datetime) -> Edge:
    """Build an edge with no weight and no metadata from values already checked."""
    fields: dict[str, Any] = {
        "source": source,
        "target": target,
        "type": etype,
        "weight": None,
        "metadata": {},
        "created_at": created_at,
    }
    return assemble(Edge, fields, SHARED_EDGE_FIELDS)  # type: ignore[no-any-return]


_TREE_NODE_FIELDS = frozenset(TreeNode.model_fields)


def tree_node(intent: Intent, depth: int, parent_id: str | None) -> TreeNode:
    """Build a ``TreeNode`` from values already checked: what ``model_construct`` builds, in
    a third of its time (a 20,000-intent subtree spends 0.1 s in ``model_construct``)."""
    fields = {"intent": intent, "depth": depth, "parent_id": parent_id}
    return assemble(TreeNode, fields, set(_TREE_NODE_FIELDS))  # type: ignore[no-any-return]


_SHAPE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


def intent_from_json(data: str | bytes) -> Intent:
    """Rebuild an ``Intent`` a store wrote as JSON.

    Raises:
        StoreCorrupted: the JSON is not a valid intent.
    """
    try:
        return intent_from_fields(_from_json(data))
    except _SHAPE_ERRORS:
        pass
    try:
        return Intent.model_validate_json(data)
    except InvalidIntent as exc:
        raise StoreCorrupted(f"a stored intent cannot be read back: {exc}") from exc


def intents_from_json(blobs: Sequence[str]) -> list[Intent]:
    """``intent_from_json`` of each, their JSON parsed in one call: for a closure's hundred
    records, a call each cost as much again as the parsing."""
    try:
        parsed = _from_json("[" + ",".join(blobs) + "]")
    except ValueError:
        parsed = None
    if type(parsed) is not list or len(parsed) != len(blobs):  # one of them is broken
        return [intent_from_json(b) for b in blobs]
    intents = []
    for fields, blob in zip(parsed, blobs, strict=True):
        try:
            intents.append(intent_from_fields(fields))
        except _SHAPE_ERRORS:
            intents.append(intent_from_json(blob))
    return intents


def edge_from_json(data: str | bytes) -> Edge:
    """Rebuild an ``Edge`` a store wrote as JSON (see ``intent_from_json``)."""
    try:
        return edge_from_fields(_from_json(data))
    except _SHAPE_ERRORS:
        pass
    try:
        return Edge.model_validate_json(data)
    except InvalidIntent as exc:
        raise StoreCorrupted(f"a stored edge cannot be read back: {exc}") from exc


def intents_from_json_array(data: str) -> list[Intent]:
    """Rebuild the intents of a JSON array of stored records."""
    found = []
    for fields in _from_json(data):
        try:
            found.append(intent_from_fields(fields))
        except _SHAPE_ERRORS:
            try:
                found.append(Intent.model_validate(fields))
            except InvalidIntent as exc:
                raise StoreCorrupted(f"a stored intent cannot be read back: {exc}") from exc
    return found


def intent_from_written(text: str | bytes) -> Intent:
    """Rebuild, without validating it again, an intent from the JSON ``intent_to_json``
    wrote of a valid intent (or any text of that record in that form, checked before)."""
    return intent_from_fields(_from_json(text))


def edge_from_written(text: str | bytes) -> Edge:
    """Rebuild, without validating it again, an edge from the JSON ``edge_to_json`` wrote."""
    return edge_from_fields(_from_json(text))
