"""The backup format from the library: round trips between every pair of backends, what a
restore refuses (and that it then changes nothing), the merge rule, and a backup taken
while another process writes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph import backup
from intentgraph._base import StoreBase
from intentgraph.errors import BackupError, StorageError
from tests.conftest import BACKENDS, url_for

E = ig.EdgeType
ROOT = Path(__file__).resolve().parents[2]


def fill(store: StoreBase) -> None:
    store.put_many(
        [
            # Scalar success criteria: a restore's checks once failed on them.
            ig.Intent(
                id="root", name="ship v1", goal="release\nversion 1", priority=1, success_criteria=3
            ),
            ig.Intent(id="build", name="build", metadata={"tags": ["ci", "é"], "n": 1.5}),
            ig.Intent(id="docs", name="docs 'quoted' \"x\"", status=ig.IntentStatus.SUSPENDED),
            ig.Intent(id="tag", name="tag", constraints={"deadline": "friday"}),
            ig.Intent(id="z-lonely", name="orphan", session_id="s1", success_criteria=2.5),
        ]
    )
    store.claim("build", worker="w1")
    for child in ("build", "docs", "tag"):
        store.add_edge(child, "root", E.IS_SUBGOAL_OF)
    store.add_edge("tag", "build", E.DEPENDS_ON, weight=2.5, metadata={"why": "needs it"})
    store.add_edge("docs", "tag", E.CONFLICTS_WITH)
    store.add_edge("build", "docs", E.RELATED_TO)


def dump(store: StoreBase) -> dict[str, Any]:
    return {
        "intents": [i.model_dump(mode="json") for i in store.list(order_by="id")],
        "edges": [e.model_dump(mode="json") for e in store.edges()],
    }


@pytest.fixture
def source(store: StoreBase) -> StoreBase:
    fill(store)
    return store


@pytest.fixture
def saved(source: StoreBase, tmp_path: Path) -> Path:
    path = tmp_path / "saved.jsonl"
    backup.write_backup(source, path)
    return path


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def other_store(kind: str, tmp_path: Path) -> StoreBase:
    folder = tmp_path / f"target-{kind}"
    folder.mkdir(exist_ok=True)
    return ig.open_store(url_for(kind, folder))


@pytest.mark.parametrize("overlap", [False, True], ids=["in-turn", "overlapped"])
@pytest.mark.parametrize("target_kind", BACKENDS)
def test_a_backup_restores_into_every_backend_identically(
    source: StoreBase, saved: Path, target_kind: str, tmp_path: Path, overlap: bool
) -> None:
    with other_store(target_kind, tmp_path) as target:
        target.put(ig.Intent(id="old", name="replaced"))
        summary = backup.restore(saved, target, overlap=overlap)
        assert summary.sha256 == json.loads(lines(saved)[-1])["trailer"]["sha256"]
        assert (summary.intents, summary.edges, summary.removed_intents) == (5, 6, 1)
        assert dump(target) == dump(source)
        assert target.check_integrity() == []
        assert [i.id for i in target.ready()] == [i.id for i in source.ready()]
        # Backing the copy up gives the same records, byte for byte.
        again = tmp_path / "again.jsonl"
        backup.write_backup(target, again)
        assert lines(again)[1:-1] == lines(saved)[1:-1]


@pytest.mark.parametrize("target_kind", BACKENDS)
def test_copy_store_copies_to_every_backend(
    source: StoreBase, target_kind: str, tmp_path: Path
) -> None:
    with other_store(target_kind, tmp_path) as target:
        summary = backup.copy_store(source, target)
        assert (summary.written_intents, summary.written_edges) == (5, 6)
        assert dump(target) == dump(source)


def test_the_format_is_a_header_records_and_a_trailer_with_the_sha256(saved: Path) -> None:
    records = [json.loads(line) for line in lines(saved)]
    header = records[0]["header"]
    assert header["format"] == "intentgraph-backup" and header["version"] == 1
    assert header["counts"] == {"intents": 5, "edges": 6}
    assert set(header["source"]) == {"backend"}  # never a URL: no credentials
    assert [next(iter(r)) for r in records[1:]] == ["intent"] * 5 + ["edge"] * 6 + ["trailer"]
    import hashlib

    body = b"".join(lines(saved)[:-1])
    assert records[-1]["trailer"]["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_gz_name_compresses_and_restore_reads_compressed_and_plain_streams(
    source: StoreBase, tmp_path: Path
) -> None:
    path = tmp_path / "saved.jsonl.gz"
    summary = backup.write_backup(source, path)
    assert summary.compressed and path.read_bytes()[:2] == b"\x1f\x8b"
    assert summary.file_bytes == path.stat().st_size  # the file, not the JSON inside
    assert len(gzip.decompress(path.read_bytes())) > summary.bytes  # the trailer line too
    target = ig.open_store("memory://")
    backup.restore(io.BytesIO(path.read_bytes()), target, name="-")
    assert dump(target) == dump(source)
    plain = io.BytesIO()
    assert backup.write_backup(source, plain).file_bytes == len(plain.getvalue())
    other = ig.open_store("memory://")
    backup.restore(io.BytesIO(plain.getvalue()), other)
    assert dump(other) == dump(source)


def sealed(first: bytes, body: list[bytes]) -> bytes:
    """A backup of the header line ``first`` (its counts redone) and the record lines
    ``body``, with a trailer that fits them: only the records can be wrong."""
    header = json.loads(first)
    header["header"]["counts"]["intents"] = sum(1 for r in body if r.startswith(b'{"intent"'))
    header["header"]["counts"]["edges"] = sum(1 for r in body if r.startswith(b'{"edge"'))
    head = json.dumps(header, separators=(",", ":")).encode() + b"\n"
    sha = hashlib.sha256(head + b"".join(body)).hexdigest()
    trailer = {"trailer": {"counts": header["header"]["counts"], "sha256": sha}}
    return head + b"".join(body) + json.dumps(trailer).encode() + b"\n"


def damaged(saved: Path, tmp_path: Path, how: str) -> tuple[Path, str]:
    """Return a damaged copy of the backup and a piece of the error it must give."""
    rows = lines(saved)
    data = b"".join(rows)
    body = rows[1:-1]
    if how == "flipped byte":
        at = data.index(b'"tag"') + 2
        data = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]
        expect = "SHA-256 mismatch"
    elif how == "truncated":
        data = data[: len(data) // 2]
        expect = "truncated"
    elif how == "future version":
        data = data.replace(b'"version":1,', b'"version":2,', 1)
        expect = "format version 2 is newer"
    elif how == "wrong checksum":
        data = b"".join(rows[:-1]) + rows[-1].replace(b'"sha256":"', b'"sha256":"0', 1)
        expect = "SHA-256 mismatch"
    elif how == "wrong count":
        data = b"".join(rows[:-1]) + rows[-1].replace(b'"intents":5', b'"intents":6', 1)
        expect = "the trailer counts 6 intents"
    elif how in ("dangling edge", "duplicate id", "subgoal cycle", "bad record") or how.startswith(
        "lone surrogate"
    ):
        if how == "dangling edge":
            body = [r.replace(b'"target":"build"', b'"target":"nobody"') for r in body]
            expect = "names a missing intent 'nobody'"
        elif how == "duplicate id":
            body = body[:1] + body[:1] + body[1:]
            expect = "intent id 'build' repeats"
        elif how == "subgoal cycle":
            extra = json.loads(rows[-2])["edge"] | {"source": "root", "target": "tag"}
            extra["type"] = "IS_SUBGOAL_OF"
            body = [*body, json.dumps({"edge": extra}, separators=(",", ":")).encode() + b"\n"]

            def key(row: bytes) -> tuple[str, ...]:
                edge = json.loads(row).get("edge")
                return ("~",) if edge is None else (edge["source"], edge["target"], edge["type"])

            body = [r for r in body if r.startswith(b'{"intent"')] + sorted(
                (r for r in body if r.startswith(b'{"edge"')), key=key
            )
            expect = "the subgoal edges form a cycle: root -> tag -> root"
        elif how == "lone surrogate in a name":  # valid JSON text, but no string
            body = [r.replace(b'"name":"orphan"', b'"name":"orph\\ud800an"') for r in body]
            expect = "not valid JSON"
        elif how == "lone surrogate in a metadata key":
            body = [r.replace(b'"tags":', b'"t\\udfffags":') for r in body]
            expect = "not valid JSON"
        else:
            body = [r.replace(b'"name":"orphan"', b'"name":""') for r in body]
            expect = "name"
        data = sealed(rows[0], body)
    else:
        raise ValueError(how)
    path = tmp_path / f"{how.replace(' ', '-')}.jsonl"
    path.write_bytes(data)
    return path, expect


DAMAGE = [
    "flipped byte",
    "truncated",
    "future version",
    "wrong checksum",
    "wrong count",
    "dangling edge",
    "duplicate id",
    "subgoal cycle",
    "bad record",
    "lone surrogate in a name",
    "lone surrogate in a metadata key",
]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_backup_is_refused_and_the_store_is_unchanged(
    store: StoreBase, saved: Path, tmp_path: Path, how: str
) -> None:
    path, expect = damaged(saved, tmp_path, how)
    store.put(ig.Intent(id="mine", name="mine"))
    before = dump(store)
    for mode, overlap in (("replace", False), ("merge", False), ("replace", True)):
        with pytest.raises(BackupError, match="line") as caught:
            backup.restore(path, store, mode=mode, overlap=overlap)  # type: ignore[arg-type]
        assert expect in str(caught.value)
    assert dump(store) == before
    assert not leftovers(tmp_path)


def at_time(stamp: bytes) -> Callable[[bytes], bytes]:
    return lambda line: re.sub(rb'"created_at":"[^"]*"', b'"created_at":"' + stamp + b'"', line)


def swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    return lambda line: line.replace(old, new, 1)


# Edits of a plain edge's line (build -RELATED_TO-> docs: no weight, no metadata), which a
# restore reads from its text when it is exactly as written and parses otherwise. Each
# gives the edge's weight and time as restored, or a piece of the refusal.
PLAIN_EDGE_EDITS: dict[str, tuple[Callable[[bytes], bytes], Any]] = {
    "as written": (swap(b"", b""), (None, None)),
    "an id escaped": (swap(b'"source":"build"', b'"source":"\\u0062uild"'), (None, None)),
    "a space": (swap(b'"type":"RELATED_TO"', b'"type": "RELATED_TO"'), (None, None)),
    "a trailing blank": (swap(b"}}\n", b"}} \n"), (None, None)),
    "an integer weight": (swap(b'"weight":null', b'"weight":0'), (0.0, None)),
    "a time not in UTC": (at_time(b"2026-01-02T03:04:05+01:00"), (None, "2026-01-02T02:04:05")),
    "a time at -00:00": (at_time(b"2026-01-02T03:04:05-00:00"), (None, "2026-01-02T03:04:05")),
    "a type unknown": (swap(b'"RELATED_TO"', b'"RELATED_TOO"'), "type"),
    "a time with no zone": (at_time(b"2026-01-02T03:04:05"), "timezone"),
    "a date only": (at_time(b"2026-01-02"), "timezone"),
    "an impossible day": (at_time(b"2026-02-30T00:00:00Z"), "datetime"),
}


@pytest.mark.parametrize("how", sorted(PLAIN_EDGE_EDITS))
def test_a_plain_edge_line_is_read_as_parsing_it_reads(
    saved: Path, tmp_path: Path, how: str
) -> None:
    edit, expect = PLAIN_EDGE_EDITS[how]
    rows = lines(saved)
    (line,) = [r for r in rows if b'"source":"build","target":"docs"' in r]
    path = tmp_path / "edited.jsonl"
    path.write_bytes(sealed(rows[0], [edit(r) if r is line else r for r in rows[1:-1]]))
    target = ig.open_store("memory://")
    if isinstance(expect, str):
        with pytest.raises(BackupError, match=expect):
            backup.restore(path, target)
        assert target.count() == 0
        return
    backup.restore(path, target)
    (edge,) = [e for e in target.edges() if e.type is E.RELATED_TO]
    weight, when = expect
    written = datetime.fromisoformat(json.loads(line)["edge"]["created_at"])
    assert (edge.source, edge.target, edge.weight) == ("build", "docs", weight)
    assert edge.created_at == (written if when is None else datetime.fromisoformat(when + "Z"))
    assert edge.created_at.tzinfo is UTC


def test_a_truncated_compressed_backup_names_the_problem(saved: Path, tmp_path: Path) -> None:
    data = gzip.compress(saved.read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) - 40])
    with pytest.raises(BackupError, match="truncated"):
        backup.restore(path, ig.open_store("memory://"))


def test_a_dry_run_checks_everything_and_writes_nothing(saved: Path, tmp_path: Path) -> None:
    with other_store("sqlite", tmp_path) as target:
        target.put(ig.Intent(id="mine", name="mine"))
        summary = backup.restore(saved, target, dry_run=True)
        assert summary.dry_run and summary.written_intents == 5
        assert summary.removed_intents == 1
        assert [i.id for i in target.list()] == ["mine"]


def test_merge_keeps_the_higher_version_and_adds_what_is_missing(
    source: StoreBase, saved: Path
) -> None:
    source.set_status("tag", ig.IntentStatus.SUSPENDED)  # now newer than in the backup
    source.delete("z-lonely")
    source.put(ig.Intent(id="new", name="only in the store"))
    summary = backup.restore(saved, source, mode="merge")
    assert source.get("tag").status is ig.IntentStatus.SUSPENDED  # the store's was newer
    assert source.exists("z-lonely") and source.exists("new")  # merge never deletes
    assert (summary.kept_intents, summary.written_intents) == (1, 1)
    assert source.check_integrity() == []


def test_merge_refuses_equal_versions_that_differ(source: StoreBase, saved: Path) -> None:
    text = saved.read_text().replace('"name":"orphan"', '"name":"changed"')
    changed = Path(str(saved) + ".changed")
    changed.write_text(text)
    before = dump(source)
    with pytest.raises(BackupError, match="will not guess"):
        # The checksum is checked last: the merge rule speaks first here.
        backup.restore(changed, source, mode="merge")
    assert dump(source) == before


def test_merge_refuses_a_result_that_breaks_an_invariant(source: StoreBase, saved: Path) -> None:
    source.remove_edge("tag", "root", E.IS_SUBGOAL_OF)
    source.add_edge("tag", "docs", E.IS_SUBGOAL_OF)
    before = dump(source)
    with pytest.raises(BackupError, match=r"merged with the store.*2 parents"):
        backup.restore(saved, source, mode="merge")
    assert dump(source) == before


@pytest.mark.parametrize("overlap", [False, True], ids=["in-turn", "overlapped"])
def test_an_interrupted_restore_leaves_the_store_as_it_was(
    store: StoreBase, saved: Path, tmp_path: Path, overlap: bool
) -> None:
    store.put(ig.Intent(id="mine", name="mine"))
    before = dump(store)
    calls = 0

    def progress(phase: str, done: int, total: int | None) -> None:
        nonlocal calls
        if phase == "loading":
            calls += 1
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup.restore(saved, store, progress=progress, overlap=overlap)
    assert calls == 1
    assert dump(store) == before
    assert checkers() == [] and not leftovers(tmp_path)


def checkers() -> list[int]:
    """The pids of this process's children that check a backup (a restore's second
    process), alive or not yet reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"intentgraph.backup._overlap" in command:
            found.append(int(entry.name))
    return found


def leftovers(directory: Path) -> list[Path]:
    """A restore's staging and spool files left in ``directory`` (there must be none)."""
    return sorted(directory.rglob(".intentgraph-*"))


def test_an_overlapped_restore_refuses_what_the_check_refuses_after_loading_it(
    store: StoreBase, saved: Path, tmp_path: Path
) -> None:
    """The records all pass and are loaded; the graph check at the end fails: nothing
    is written, and the error is the check's."""
    path, _ = damaged(saved, tmp_path, "subgoal cycle")
    store.put(ig.Intent(id="mine", name="mine"))
    before = dump(store)
    phases: list[str] = []
    with pytest.raises(BackupError, match="cycle"):
        backup.restore(path, store, overlap=True, progress=lambda p, d, t: phases.append(p))
    assert "loading" in phases and "checking" in phases
    assert dump(store) == before


def test_an_overlapped_restore_whose_checker_dies_writes_nothing(
    store: StoreBase, saved: Path, tmp_path: Path
) -> None:
    """The backup comes through a pipe, half of it, so the checker is still reading when
    the first progress report (the header's counts) makes this test kill it."""
    store.put(ig.Intent(id="mine", name="mine"))
    before = dump(store)
    data = saved.read_bytes()
    read_end, write_end = os.pipe()
    os.write(write_end, data[: len(data) // 2])

    def progress(phase: str, done: int, total: int | None) -> None:
        for pid in checkers():
            os.kill(pid, signal.SIGKILL)

    try:
        with open(read_end, "rb") as source, pytest.raises(StorageError, match="ended early"):
            backup.restore(source, store, progress=progress, overlap=True)
    finally:
        os.close(write_end)
    assert dump(store) == before
    assert checkers() == [] and not leftovers(tmp_path)


def test_overlap_is_refused_where_it_cannot_work(store: StoreBase, saved: Path) -> None:
    store.put(ig.Intent(id="mine", name="mine"))
    before = dump(store)
    with pytest.raises(ValueError, match="overlap"):
        backup.restore(saved, store, mode="merge", overlap=True)
    with pytest.raises(ValueError, match="overlap"):
        backup.restore(saved, store, dry_run=True, overlap=True)
    with pytest.raises(ValueError, match="overlap"):
        backup.restore(io.BytesIO(saved.read_bytes()), store, overlap=True)
    assert dump(store) == before


def test_a_backup_taken_while_another_process_writes_restores_consistently(
    tmp_path: Path,
) -> None:
    url = url_for("sqlite", tmp_path)
    ig.open_store(url).close()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.durability.writer", url, "transactions", "100000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        writer.stdout.readline()  # it is writing
        sizes = []
        with ig.open_store(url) as store:
            for round_ in range(3):
                time.sleep(0.2)
                path = tmp_path / f"live{round_}.jsonl"
                backup.write_backup(store, path)
                with ig.open_store("memory://") as copy:
                    backup.restore(path, copy)
                    ids = [i.id for i in copy.list(order_by="id")]
                    pairs = {i[1:] for i in ids}
                    # Every transaction is whole: both intents and their edge, or nothing.
                    assert len(ids) == 2 * len(pairs)
                    assert len(copy.edges()) == len(pairs)
                    sizes.append(len(pairs))
        assert sizes == sorted(sizes) and sizes[-1] > 0
    finally:
        writer.kill()
        writer.wait()


def test_progress_is_reported_by_phase(source: StoreBase, tmp_path: Path) -> None:
    seen: list[tuple[str, int, int | None]] = []
    backup.write_backup(source, tmp_path / "p.jsonl", progress=lambda *a: seen.append(a))
    assert ("intents", 5, 5) in seen and ("edges", 6, 6) in seen
