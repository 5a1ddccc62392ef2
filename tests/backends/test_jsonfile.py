"""Quirks of the JSON-file backend: document format, journal, recovery, locking, faults."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.backends import jsonfile
from intentgraph.backends.jsonfile import JsonFileStore


def url(path: Path) -> str:
    return f"json:///{path}"


def fill(path: Path, n: int = 3) -> None:
    with ig.open_store(url(path)) as store:
        for i in range(n):
            store.put(ig.Intent(id=f"i{i}", name=f"intent {i}"))
        store.add_edge("i1", "i0", ig.EdgeType.IS_SUBGOAL_OF)


def test_opening_a_new_store_creates_an_empty_readable_document(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with ig.open_store(url(path)):
        doc = json.loads(path.read_text())
    assert doc == {
        "format": "intentgraph-json",
        "version": 2,
        "seq": 0,
        "changes": 0,
        "intents": [],
        "edges": [],
    }


def test_each_write_appends_one_checksummed_journal_line(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put(ig.Intent(id="a", name="a"))
        store.put(ig.Intent(id="b", name="b"))
        lines = store.journal_path.read_bytes().splitlines()
        assert len(lines) == 2
        crc, payload = lines[1].split(b" ", 1)
        assert json.loads(payload)["seq"] == 2
        assert len(crc) == 8


def test_close_folds_the_journal_into_a_pretty_sorted_document(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put(ig.Intent(id="b", name="second"))
        store.put(ig.Intent(id="a", name="first"))
    assert path.with_name("s.json.journal").read_bytes() == b""
    text = path.read_text()
    assert text.startswith('{\n  "format": "intentgraph-json"')
    assert [i["id"] for i in json.loads(text)["intents"]] == ["a", "b"]


def test_same_content_gives_the_same_document_whatever_the_write_order(tmp_path: Path) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    intents = [ig.Intent(id=x, name=x) for x in "abc"]
    with ig.open_store(url(first)) as store:
        store.put_many(intents)
    with ig.open_store(url(second)) as store:
        store.put_many(reversed(intents))
    assert first.read_bytes() == second.read_bytes()


def test_reopen_replays_an_unfolded_journal(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    code = textwrap.dedent(f"""
        import os, intentgraph as ig
        s = ig.open_store({url(path)!r})
        s.put(ig.Intent(id="x", name="x"))
        s.set_status("x", ig.IntentStatus.EXECUTING)
        os._exit(0)  # no close(): the journal is not folded
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    assert path.with_name("s.json.journal").stat().st_size > 0
    with ig.open_store(url(path)) as store:
        assert store.get("x").status is ig.IntentStatus.EXECUTING
        assert store.get("x").version == 2


def test_a_torn_last_journal_line_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    store.put(ig.Intent(id="kept", name="kept"))
    journal = store.journal_path
    store._release()  # simulate a crash: lock and descriptors gone, nothing folded
    with open(journal, "ab") as fh:
        fh.write(b'1234abcd {"seq":2,"ops":[{"op":"put","intent":{"id":"to')
    with caplog.at_level(logging.WARNING, logger="intentgraph"), JsonFileStore(path) as reopened:
        assert [i.id for i in reopened.list()] == ["kept"]
        assert "torn" in caplog.text
        reopened.put(ig.Intent(id="after", name="after"))
    with JsonFileStore(path) as again:
        assert [i.id for i in again.list(order_by="id")] == ["after", "kept"]


def test_a_damaged_journal_line_before_the_end_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    store.put(ig.Intent(id="a", name="a"))
    store.put(ig.Intent(id="b", name="b"))
    store._release()
    lines = store.journal_path.read_bytes().splitlines(keepends=True)
    lines[0] = lines[0].replace(b'"a"', b'"z"')  # checksum no longer matches
    store.journal_path.write_bytes(b"".join(lines))
    before = store.journal_path.read_bytes()
    with pytest.raises(ig.errors.StoreCorrupted, match="line 1"):
        JsonFileStore(path)
    assert store.journal_path.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"format": "other"}',
        b'{"format": "intentgraph-json", "version": 9}',
        b'{"format": "intentgraph-json", "version": 1, "intents": [{"id": "x"}], "edges": []}',
    ],
)
def test_a_corrupt_document_raises_store_corrupted_and_is_left_alone(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    with pytest.raises(ig.errors.StoreCorrupted):
        ig.open_store(url(path))
    assert path.read_bytes() == content
    # a corrupt store is not an outage: fallback must not hide it
    with pytest.raises(ig.errors.StoreCorrupted):
        ig.open_store(url(path), fallback=True)


def test_a_second_writer_in_another_process_gets_an_error_naming_the_holder(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    with ig.open_store(url(path)):
        code = textwrap.dedent(f"""
            import intentgraph as ig
            try:
                ig.open_store({url(path)!r})
            except ig.errors.StoreLocked as exc:
                print("LOCKED", exc)
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    import os

    assert out.startswith("LOCKED")
    assert f"pid {os.getpid()}" in out


def test_the_lock_is_released_on_close(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    ig.open_store(url(path)).close()
    ig.open_store(url(path)).close()


def test_a_read_only_opener_reads_beside_the_writer_and_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with ig.open_store(url(path)) as writer:
        writer.put(ig.Intent(id="a", name="a"))
        with ig.open_store(url(path) + "?read_only=1") as reader:
            assert reader.get("a").name == "a"
            with pytest.raises(ig.errors.ReadOnlyStore):
                reader.put(ig.Intent(id="b", name="b"))


@pytest.mark.parametrize("where", ["missing_dir/s.json", "a_file/s.json"])
def test_an_unusable_path_raises_store_unavailable(tmp_path: Path, where: str) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ig.errors.StoreUnavailable):
        ig.open_store(url(tmp_path / where))


def test_a_directory_is_an_invalid_url_and_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(ig.errors.InvalidURL, match="directory"):
        ig.open_store(url(tmp_path / "a_dir"), fallback=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir"]
    assert list((tmp_path / "a_dir").iterdir()) == []


def test_an_unusable_path_falls_back_to_memory_only_when_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = url(tmp_path / "missing_dir" / "s.json")
    with caplog.at_level(logging.WARNING, logger="intentgraph"):
        store = ig.open_store(target, fallback=True)
    assert store.backend == "memory"
    assert store.degraded and store.health().degraded
    assert "unavailable" in (store.health().reason or "")
    assert "NOT persisted" in caplog.text


def test_the_journal_is_folded_when_it_outgrows_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonfile, "MIN_FOLD_BYTES", 0)
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        for i in range(20):
            store.put(ig.Intent(id=f"i{i:02d}", name="x"))
        assert store.journal_path.stat().st_size < path.stat().st_size
        assert len(json.loads(path.read_text())["intents"]) >= 10


def test_a_full_disk_fails_the_write_and_keeps_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    fill(path)
    # RLIMIT_FSIZE makes the kernel refuse to grow files past a size: a real "disk full".
    code = textwrap.dedent(f"""
        import resource, signal, intentgraph as ig
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        s = ig.open_store({url(path)!r})
        s.put(ig.Intent(id="small", name="fits"))
        size = s.journal_path.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 50, size + 50))
        try:
            s.put(ig.Intent(id="big", name="x" * 400))
        except ig.errors.StorageError as exc:
            print("REFUSED", type(exc).__name__)
        print("COUNT", s.count(), s.exists("big"))
        assert s.journal_path.stat().st_size == size
    """)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "REFUSED StorageError" in out
    assert "COUNT 4 False" in out
    with ig.open_store(url(path)) as store:
        assert sorted(i.id for i in store.list()) == ["i0", "i1", "i2", "small"]


def test_a_read_only_opener_sees_one_state_when_the_writer_folds_during_its_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    crash_after_put = textwrap.dedent(f"""
        import os, intentgraph as ig
        ig.open_store({url(path)!r}).put(ig.Intent(id="a", name="a"))
        os._exit(0)  # leave "a" in the journal only
    """)
    subprocess.run([sys.executable, "-c", crash_after_put], check=True)
    put_and_fold = textwrap.dedent(f"""
        import intentgraph as ig
        with ig.open_store({url(path)!r}) as s:
            s.put(ig.Intent(id="b", name="b"))
    """)

    class RacedReader(JsonFileStore):
        def _read_journal(self) -> bytes:
            journal = super()._read_journal()  # holds "a" only
            # The writer puts "b" and folds between the reader's two reads.
            subprocess.run([sys.executable, "-c", put_and_fold], check=True)
            return journal

    with RacedReader(path, read_only=True) as reader:
        assert sorted(i.id for i in reader.list()) == ["a", "b"]


def test_a_damaged_last_whole_journal_line_is_refused_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    store.put(ig.Intent(id="a", name="a"))
    store._release()
    data = store.journal_path.read_bytes()
    store.journal_path.write_bytes(data.replace(b'"a"', b'"b"', 1))  # newline kept
    with pytest.raises(ig.errors.StoreCorrupted, match="line 1 is damaged"):
        JsonFileStore(path)


def test_a_document_with_an_edge_to_a_missing_intent_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    fill(path)
    doc = json.loads(path.read_text())
    doc["edges"][0]["target"] = "zz"
    path.write_text(json.dumps(doc))
    with pytest.raises(ig.errors.StoreCorrupted, match="'zz'"):
        ig.open_store(url(path))
