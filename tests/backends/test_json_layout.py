"""The JSON document is read one line at a time when it is laid out as the store writes it,
and whole otherwise: both readings give the same store, or the same refusal, whatever the
file holds."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pydantic_core
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph._codec import plain_edge_from_fields, plain_edge_from_line, plain_edge_lines
from intentgraph.backends import _json_layout, jsonfile
from intentgraph.backends._json_layout import LayoutError, iter_document
from intentgraph.backends.jsonfile import JsonFileStore

E = ig.EdgeType


def written(tmp_path: Path, n_intents: int = 3, edges: bool = True) -> bytes:
    """A document as the store writes it."""
    path = tmp_path / "w.json"
    for old in tmp_path.glob("w.json*"):
        old.unlink()
    with JsonFileStore(path) as store:
        store.put_many([ig.Intent(id=f"i{k}", name=f"n{k}") for k in range(n_intents)])
        if edges and n_intents > 1:
            store.add_edge("i1", "i0", E.DEPENDS_ON)
            store.add_edge("i0", "i1", E.RELATED_TO, weight=0.5, metadata={"why": "x"})
            if n_intents > 2:  # plain edges on lines of their own: a block read at once
                store.add_edge("i2", "i0", E.IS_SUBGOAL_OF)
                store.add_edge("i2", "i1", E.DEPENDS_ON)
    return path.read_bytes()


def opened(tmp_path: Path, content: bytes) -> object:
    """What opening ``content`` gives: the store's whole state, or the error's type."""
    path = tmp_path / "r.json"
    path.write_bytes(content)
    try:
        with JsonFileStore(path, read_only=True) as store:
            return (
                store.list(order_by="id"),
                store.edges(),
                store.ready(),
                store.changes(0).latest,
            )
    except ig.errors.StoreCorrupted as exc:
        return type(exc)


def whole(content: bytes) -> object:
    """``content`` with the same JSON laid out differently: the whole-file reader's input."""
    return json.dumps(json.loads(content), indent=3).encode()


@pytest.mark.parametrize(("n", "edges"), [(0, False), (1, False), (3, False), (3, True)])
def test_a_written_document_reads_line_by_line(tmp_path: Path, n: int, edges: bool) -> None:
    content = written(tmp_path, n, edges)
    events = list(iter_document(io.BytesIO(content)))
    assert events[0][0] == "frame"
    n_edges = (4 if n > 2 else 2) if edges and n > 1 else 0
    assert [kind for kind, _ in events[1:]] == ["intents"] * n + ["edges"] * n_edges
    assert opened(tmp_path, content) == opened(tmp_path, whole(content))


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_a_document_written_in_chunks_is_one_valid_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    content = written(tmp_path, 5)
    with JsonFileStore(tmp_path / "w.json", read_only=True) as store:
        monkeypatch.setattr(jsonfile, "_CHUNK", chunk)
        assert b"".join(store._render()) == content


def test_a_document_laid_out_otherwise_is_read_whole_to_the_same_store(tmp_path: Path) -> None:
    content = written(tmp_path)
    other = whole(content)
    with pytest.raises(LayoutError):
        list(iter_document(io.BytesIO(other)))
    state = opened(tmp_path, other)
    assert state == opened(tmp_path, content)
    assert isinstance(state, tuple) and len(state[0]) == 3


@pytest.fixture(params=[None, 1, 400], ids=["1MB-blocks", "line-blocks", "400B-blocks"])
def block(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's blocks: the default (a small document in one), one line each, or a
    few lines each, so that a section ends inside a block and the next begins in it, and
    whole blocks of plain edges are read at once."""
    if request.param is not None:
        monkeypatch.setattr(_json_layout, "_BLOCK", request.param)


def edit(content: bytes, old: bytes, new: bytes) -> bytes:
    assert old in content
    return content.replace(old, new, 1)


def plain_edge_time(content: bytes, new: bytes, source: bytes = b"i2") -> bytes:
    """``content`` with the created_at text of the last plain edge from ``source`` replaced
    (i2's: the last line of the edges; i1's: a line with a comma)."""
    line = content.rindex(b'    {"source":"' + source + b'"')
    start = content.index(b'"created_at":"', line) + len(b'"created_at":"')
    return content[:start] + new + content[content.index(b'"', start) :]


MIDDLE_EDGE = b'},\n    {"source":"i2","target":"i0"'


# Each edit keeps or breaks the JSON; either way both readers must agree on the outcome.
EDITS = {
    "two records on one line": lambda c: edit(c, b"},\n    {", b"}, {"),
    "a trailing comma before ]": lambda c: edit(c, b"}\n  ],", b"},\n  ],"),
    "garbage after a record": lambda c: edit(c, b"},\n", b"} x,\n"),
    "a lone surrogate in a name": lambda c: edit(c, b'"name":"n0"', b'"name":"\\ud800"'),
    "a frame key twice": lambda c: edit(c, b'  "seq"', b'  "seq": 5,\n  "seq"'),
    "an extra frame key": lambda c: edit(c, b'  "seq"', b'  "extra": 1,\n  "seq"'),
    "the records swapped": lambda c: edit(c, b'"intents"', b'"edgesX"'),
    "cut in the middle": lambda c: c[: len(c) // 2],
    "nothing after the records": lambda c: c[: c.rindex(b"]") + 1],
    "something after the end": lambda c: c + b"{}\n",
    "a blank line": lambda c: edit(c, b"},\n", b"},\n\n"),
    "an intent twice": lambda c: edit(c, b'"id":"i1"', b'"id":"i0"'),
    "an edge to nowhere": lambda c: edit(c, b'"target":"i0"', b'"target":"i9"'),
    "a record that is a list": lambda c: edit(c, b'    {"id":"i2"', b'    [{"id":"i2"'),
    "crlf line ends": lambda c: c.replace(b"\n", b"\r\n"),
    # Values the line reader's fast checks (flat metadata, known edge ends) must not pass.
    "NaN in flat metadata": lambda c: edit(c, b'"metadata":{}', b'"metadata":{"x":NaN}'),
    "a float in flat metadata": lambda c: edit(c, b'"metadata":{}', b'"metadata":{"x":1.5}'),
    "an edge from a bad id": lambda c: edit(c, b'"source":"i1"', b'"source":"i 1"'),
    "an edge from an unknown id": lambda c: edit(c, b'"source":"i1"', b'"source":"i7"'),
    "a tab indent": lambda c: c.replace(b"\n    {", b"\n\t{"),
    # What the plain-edge reader (an edge's text matched, not parsed) must leave to the parser.
    "a plain edge's id escaped": lambda c: edit(c, b'"source":"i1"', b'"source":"\\u0069\\u0031"'),
    "a plain edge's id with a blank": lambda c: edit(c, b'"source":"i1"', b'"source":"i\\t1"'),
    "a plain edge with a space": lambda c: edit(c, b'"type":"DEPENDS_ON"', b'"type": "DEPENDS_ON"'),
    "a plain edge of no known type": lambda c: edit(c, b'"DEPENDS_ON"', b'"DEPENDS_ONE"'),
    "a plain edge with a weight": lambda c: edit(
        c, b'"weight":null,"metadata":{},', b'"weight":0,"metadata":{},'
    ),
    "a plain edge with a key twice": lambda c: edit(
        c, b'"weight":null,', b'"weight":null,"weight":null,'
    ),
    "a plain edge at a non-UTC time": lambda c: plain_edge_time(c, b"2026-01-02T03:04:05+01:00"),
    "a plain edge at a naive time": lambda c: plain_edge_time(c, b"2026-01-02T03:04:05"),
    "a plain edge on a date": lambda c: plain_edge_time(c, b"2026-01-02"),
    "a plain edge at no time": lambda c: plain_edge_time(c, b"2026-02-30T00:00:00Z"),
    "a plain edge at -00:00": lambda c: plain_edge_time(c, b"2026-01-02T03:04:05-00:00"),
    # What a reader of a block of plain edge lines at once must leave to the line reader.
    "a plain edge line without its comma": lambda c: edit(
        c, MIDDLE_EDGE, MIDDLE_EDGE[:1] + MIDDLE_EDGE[2:]
    ),
    "two plain edges on one line": lambda c: edit(c, MIDDLE_EDGE, b"}, " + MIDDLE_EDGE[7:]),
    "a plain edge line with a blank": lambda c: edit(c, MIDDLE_EDGE, b"}, " + MIDDLE_EDGE[2:]),
    "a plain edge line ending in CR": lambda c: edit(c, MIDDLE_EDGE, b"},\r" + MIDDLE_EDGE[2:]),
    "a plain edge indented more": lambda c: edit(c, MIDDLE_EDGE, b"},\n " + MIDDLE_EDGE[3:]),
    "a plain edge indented less": lambda c: edit(c, MIDDLE_EDGE, b"},\n" + MIDDLE_EDGE[4:]),
    "an inner plain edge at a non-UTC time": lambda c: plain_edge_time(
        c, b"2026-01-02T03:04:05+01:00", b"i1"
    ),
    "an inner plain edge at no time": lambda c: plain_edge_time(c, b"2026-13-02T00:00:00Z", b"i1"),
    "an inner plain edge not ASCII": lambda c: edit(c, b'"source":"i1"', b'"source":"\xc3\xa91"'),
    "an inner plain edge twice": lambda c: edit(
        c, b'"target":"i0","type":"IS_SUBGOAL_OF"', b'"target":"i1","type":"DEPENDS_ON"'
    ),
    # What a reader that parsed several lines at once could get wrong: a record split over
    # two lines (another line holds two, keeping the count), a string running on into the
    # next line (a raw newline: not JSON).
    "a record over two lines": lambda c: edit(
        edit(c, b'"metadata":{}', b'"metadata":{"x":[{},\n    {}]}'),
        b'},\n    {"id":"i2"',
        b'}, {"id":"i2"',
    ),
    "a string over two lines": lambda c: edit(
        edit(c, b'"name":"n0"', b'"name":"n0},\n    {"'),
        b'},\n    {"id":"i2"',
        b'}, {"id":"i2"',
    ),
}


@pytest.mark.parametrize("name", sorted(EDITS))
@pytest.mark.usefixtures("block")
def test_an_edited_document_gives_what_reading_it_whole_gives(tmp_path: Path, name: str) -> None:
    content = EDITS[name](written(tmp_path))
    try:
        reference = json.loads(content)
    except ValueError:
        reference = None
    got = opened(tmp_path, content)
    if reference is None:
        assert got is ig.errors.StoreCorrupted
    else:
        assert got == opened(tmp_path, json.dumps(reference, indent=1).encode())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, 10_000), insert=st.sampled_from([b"", b" ", b",", b"\n", b"]", b"}"]))
@pytest.mark.usefixtures("block")
def test_any_cut_or_insertion_is_read_alike_both_ways(
    tmp_path: Path, cut: int, insert: bytes
) -> None:
    content = written(tmp_path)
    at = cut % (len(content) + 1)
    edited = content[:at] + insert + content[at:]
    try:
        reference = json.loads(edited)
    except ValueError:
        assert opened(tmp_path, edited) is ig.errors.StoreCorrupted
        return
    assert opened(tmp_path, edited) == opened(tmp_path, json.dumps(reference).encode())


edge_ids = st.from_regex(r"[!-~]{1,6}", fullmatch=True) | st.text(min_size=1, max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    source=edge_ids,
    target=edge_ids,
    etype=st.sampled_from(E),
    weight=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    metadata=st.sampled_from([{}, {"k": 1}]),
    created=st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=1))])),
    at=st.integers(0, 400),
    insert=st.sampled_from([b"", b" ", b"\\", b'"', b"}", b"Z", b"+01:00", b"\x00", b"\xc3\xa9"]),
)
def test_a_plain_edge_read_from_its_text_is_what_parsing_it_reads(
    source: str,
    target: str,
    etype: ig.EdgeType,
    weight: float | None,
    metadata: dict[str, int],
    created: datetime,
    at: int,
    insert: bytes,
) -> None:
    fields = {"source": source, "target": target, "type": etype.value, "weight": weight}
    fields |= {"metadata": metadata, "created_at": created}
    text = pydantic_core.to_json(fields)
    text = text[:at] + insert + text[at:]
    fast = plain_edge_from_line(text)
    if fast is not None:  # never other values than the parser's, never what it refuses
        assert fast == plain_edge_from_fields(pydantic_core.from_json(text))
    ascii_ids = all(" " < ch < "\x7f" and ch not in '"\\' for ch in source + target)
    if insert == b"" and weight is None and not metadata and created.utcoffset() == timedelta(0):
        assert (fast is not None) == ascii_ids  # as the store writes it: read from the text


plain_lines = plain_edge_lines("    ", ",\n")
some_times = st.datetimes(timezones=st.sampled_from([UTC, UTC, timezone(timedelta(hours=1))]))
# Mostly ids the store writes as they are (a block of them is read at once), now and then any.
block_ids = st.one_of(
    st.from_regex(r"[!#-\[\]-~]{1,6}", fullmatch=True),
    st.from_regex(r"[!#-\[\]-~]{1,6}", fullmatch=True),
    st.from_regex(r"[!#-\[\]-~]{1,6}", fullmatch=True),
    edge_ids,
)


@settings(max_examples=1000, deadline=None)
@given(
    edges=st.lists(
        st.tuples(block_ids, block_ids, st.sampled_from(E), some_times), min_size=1, max_size=4
    ),
    line=st.integers(0, 5),
    at=st.sampled_from([0, 1, 3, 4, 5, -1, -2, -3, -4]) | st.integers(0, 400),
    cut=st.sampled_from([0, 0, 1, 1, 2]),
    insert=st.sampled_from(
        [
            b"",
            b"",
            b"",
            b"",
            b" ",
            b",",
            b"\n",
            b"\r",
            b"}",
            b"Z",
            b"+01:00",
            b"\\",
            b'"',
            b"\xc3\xa9",
        ]
    ),
)
def test_a_block_of_plain_edge_lines_reads_as_each_line_does(
    edges: list[tuple[str, str, ig.EdgeType, datetime]],
    line: int,
    at: int,
    cut: int,
    insert: bytes,
) -> None:
    texts = [
        pydantic_core.to_json(
            {"source": s, "target": t, "type": e.value, "weight": None, "metadata": {}}
            | {"created_at": c}
        )
        for s, t, e, c in edges
    ]
    lines = [b"    " + text + b",\n" for text in texts]
    k = line % len(lines)
    at %= len(lines[k]) + 1  # from the end when negative
    lines[k] = lines[k][:at] + insert + lines[k][at + cut :]
    got = plain_lines(lines)
    one_by_one = [
        plain_edge_from_line(ln[4:-2]) if ln.startswith(b"    ") and ln.endswith(b"},\n") else None
        for ln in b"".join(lines).splitlines(keepends=True)
    ]
    if got is not None:  # only lines each read alike, each an indented record and a comma
        assert got == one_by_one
    plain = all(
        " " < ch < "\x7f" and ch not in '"\\' for s, t, _, _ in edges for ch in s + t
    ) and all(c.utcoffset() == timedelta(0) for _, _, _, c in edges)
    if insert == b"" and cut == 0 and plain:  # as the store writes them: read at once
        assert got is not None
