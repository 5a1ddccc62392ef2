"""The JSON store's document as this code lays it out, read one line at a time.

``JsonFileStore`` writes its document with a fixed layout: the frame's keys one per line,
then one record per line in ``"intents"`` and ``"edges"``. Reading it line by line keeps
only one record's text in memory at a time, instead of the whole file beside every parsed
record (at 100k intents: some 70 MB less at the peak).

The reader accepts only that exact layout, so whatever it accepts is valid JSON meaning
what it reads: each line is parsed on its own by pydantic-core (which refuses lone
surrogates), and a line that does not fit raises ``LayoutError``. A file written or edited
any other way is read whole instead (``JsonFileStore._parse_document``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import pydantic_core

__all__ = ["LayoutError", "iter_document"]

_INDENT = b"    "
_RECORD = _INDENT + b"{"
_FRAME_KEYS = {"format", "version", "seq", "changes"}


class LayoutError(Exception):
    """The document is not laid out as ``JsonFileStore`` writes it (it may still be JSON)."""


def iter_document(
    fh: BinaryIO,
    plain_edge: Callable[[bytes], Any] | None = None,
    intent: Callable[[bytes], Any] | None = None,
) -> Iterator[tuple[str, Any]]:
    """Yield ``("frame", {key: value})`` for the keys before the records, then
    ``("intents", record)`` and ``("edges", record)`` for each record, in file order.

    ``plain_edge``: reads an edge record's text without parsing it, or returns None; what
    it reads is yielded as ``("plain_edge", value)`` instead of the parsed record.
    ``intent``: reads an intent record's text, or returns None; what it reads is yielded
    as ``("intent", value)`` instead of the parsed record.

    Raises:
        LayoutError: a line does not fit the layout (nothing about the file's validity).
    """
    lines = iter(fh)
    if next(lines, None) != b"{\n":
        raise LayoutError("the first line is not '{'")
    frame_lines = []
    for line in lines:
        if line.startswith(b'  "intents": ['):
            break
        frame_lines.append(line)
    else:
        raise LayoutError('no "intents" line')
    yield "frame", _frame(frame_lines)
    yield from _section(lines, b"intents", line, b'  "intents": [', b"  ],\n", intent, "intent")
    line = next(lines, b"")
    yield from _section(lines, b"edges", line, b'  "edges": [', b"  ]\n", plain_edge, "plain_edge")
    if next(lines, None) != b"}\n" or next(lines, None) is not None:
        raise LayoutError("the file does not end with '}'")


def _frame(lines: list[bytes]) -> dict[str, Any]:
    text = b"".join(lines).rstrip()
    if not text.endswith(b","):
        raise LayoutError("the frame does not end with a comma")
    try:
        frame = pydantic_core.from_json(b"{" + text[:-1] + b"}")
    except ValueError as exc:
        raise LayoutError(f"the frame is not JSON: {exc}") from None
    if not isinstance(frame, dict) or not frame.keys() <= _FRAME_KEYS:
        raise LayoutError("the frame holds other keys")
    return frame


def _section(
    lines: Iterator[bytes],
    name: bytes,
    opening: bytes,
    start: bytes,
    end: bytes,
    read: Callable[[bytes], Any] | None = None,
    read_kind: str = "",
) -> Iterator[tuple[str, Any]]:
    """The records of one array, from its opening line to its closing one (``read``: a
    reader of a record's text, whose values are yielded as ``read_kind``; see
    ``iter_document``)."""
    kind = name.decode()
    empty = start + b"]" + end[3:]  # '  "intents": [],\n' or '  "edges": []\n'
    if opening == empty:
        return
    if opening != start + b"\n":
        raise LayoutError(f"the {kind} line is not laid out as written")
    last = False
    for line in lines:
        if line == end:
            if not last:
                raise LayoutError(f"the {kind} end after a comma")
            return
        if last or not line.startswith(_RECORD):
            raise LayoutError(f"a line in {kind} is not a record")
        if line.endswith(b"},\n"):
            text = line[4:-2]
        elif line.endswith(b"}\n"):
            text, last = line[4:-1], True
        else:
            raise LayoutError(f"a line in {kind} is not a record")
        if read is not None:
            value = read(text)
            if value is not None:
                yield read_kind, value
                continue
        try:
            # Values are mostly unique (names, ids, times): caching them costs more than it saves.
            record = pydantic_core.from_json(text, cache_strings="keys")
        except ValueError as exc:
            raise LayoutError(f"a record in {kind} is not JSON: {exc}") from None
        yield kind, record
    raise LayoutError(f"the file ends inside {kind}")
