"""The JSON store's document as this code lays it out, read a block of lines at a time.

``JsonFileStore`` writes its document with a fixed layout: the frame's keys one per line,
then one record per line in ``"intents"`` and ``"edges"``. Reading it about a megabyte of
lines at a time keeps only that much of its text in memory, instead of the whole file
beside every parsed record (at 100k intents: some 70 MB less at the peak).

The reader accepts only that exact layout, so whatever it accepts is valid JSON meaning
what it reads: each line is parsed on its own by pydantic-core (which refuses lone
surrogates), or, for a block of plain edges, matched whole line by whole line by one
regular expression that takes only text holding no escapes; a line that does not fit
raises ``LayoutError``. A file written or edited any other way is read whole instead
(``JsonFileStore._load_from``).
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


_BLOCK = 1 << 20  # bytes of whole lines read at a time


class _Lines:
    """The file's lines in blocks of about ``_BLOCK`` bytes; what a reader puts back
    comes first."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._back: list[bytes] = []

    def blocks(self) -> Iterator[list[bytes]]:
        while True:
            block, self._back = self._back, []
            if not block:
                block = self._fh.readlines(_BLOCK)
                if not block:
                    return
            yield block

    def put_back(self, lines: list[bytes]) -> None:
        self._back = lines

    def line(self) -> bytes:
        """The next line, or b"" at the end of the file."""
        for block in self.blocks():
            self._back = block[1:]
            return block[0]
        return b""


def iter_document(
    fh: BinaryIO,
    plain_edge: Callable[[bytes], Any] | None = None,
    intent: Callable[[bytes], Any] | None = None,
    plain_edges: Callable[[list[bytes]], list[Any] | None] | None = None,
) -> Iterator[tuple[str, Any]]:
    """Yield ``("frame", {key: value})`` for the keys before the records, then
    ``("intents", record)`` and ``("edges", record)`` for each record, in file order.

    ``plain_edge``: reads an edge record's text without parsing it, or returns None; what
    it reads is yielded as ``("plain_edge", [value, ...])`` instead of the parsed records,
    in order, a block of lines at a time.
    ``intent``: reads an intent record's text, or returns None; what it reads is yielded
    as ``("intent", [value, ...])`` in the same way.
    ``plain_edges``: reads a block of whole edge lines at once (each a record and its
    comma), or returns None; what it reads is yielded as ``("plain_edge", values)``.

    Raises:
        LayoutError: a line does not fit the layout (nothing about the file's validity).
    """
    lines = _Lines(fh)
    if lines.line() != b"{\n":
        raise LayoutError("the first line is not '{'")
    frame_lines = []
    while line := lines.line():
        if line.startswith(b'  "intents": ['):
            break
        frame_lines.append(line)
    else:
        raise LayoutError('no "intents" line')
    yield "frame", _frame(frame_lines)
    yield from _section(lines, b"intents", line, b'  "intents": [', b"  ],\n", intent, "intent")
    line = lines.line()
    yield from _section(
        lines, b"edges", line, b'  "edges": [', b"  ]\n", plain_edge, "plain_edge", plain_edges
    )
    if lines.line() != b"}\n" or lines.line():
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
    lines: _Lines,
    name: bytes,
    opening: bytes,
    start: bytes,
    end: bytes,
    read: Callable[[bytes], Any] | None = None,
    read_kind: str = "",
    read_block: Callable[[list[bytes]], list[Any] | None] | None = None,
) -> Iterator[tuple[str, Any]]:
    """The records of one array, from its opening line to its closing one (``read``: a
    reader of a record's text, whose values are yielded in lists as ``read_kind``;
    ``read_block``: a reader of a block of whole lines, each a record followed by a comma,
    whose values are yielded in the same way; see ``iter_document``)."""
    kind = name.decode()
    empty = start + b"]" + end[3:]  # '  "intents": [],\n' or '  "edges": []\n'
    if opening == empty:
        return
    if opening != start + b"\n":
        raise LayoutError(f"the {kind} line is not laid out as written")
    last = False
    for block in lines.blocks():
        if read_block is not None and not last:
            values = read_block(block)  # None for a block holding any other line
            if values is not None:
                yield read_kind, values
                continue
        values = []  # what ``read`` reads, handed on a block at a time
        for at, line in enumerate(block):
            if line == end:
                if not last:
                    raise LayoutError(f"the {kind} end after a comma")
                if values:
                    yield read_kind, values
                lines.put_back(block[at + 1 :])
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
                    values.append(value)
                    continue
            try:
                # Values are mostly unique (names, ids, times): caching them costs more than
                # it saves.
                record = pydantic_core.from_json(text, cache_strings="keys")
            except ValueError as exc:
                raise LayoutError(f"a record in {kind} is not JSON: {exc}") from None
            if values:
                yield read_kind, values
                values = []
            yield kind, record
        if values:
            yield read_kind, values
    raise LayoutError(f"the file ends inside {kind}")
