"""The JSON backend under attack: journal sequence numbers, writes that fail after the data
reached the disk, fork(), symlinks, hand-edited graphs, readers racing a fold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import zlib
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.backends import jsonfile
from intentgraph.backends.jsonfile import JsonFileStore


def url(path: Path) -> str:
    return f"json:///{path}"


def line(seq: int, intent_id: str) -> bytes:
    """A valid journal line putting one intent."""
    intent = ig.Intent(id=intent_id, name=intent_id).model_dump_json()
    payload = f'{{"seq":{seq},"ops":[{{"op":"put","intent":{intent}}}]}}'.encode()
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def ids(store: ig.IntentStorage) -> list[str]:
    return [i.id for i in store.list(order_by="id")]


# --- sequence numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seqs", "problem"),
    [
        ((1, 2, 2), "expected 3"),
        ((1, 3), "expected 2"),
        ((2, 3), "missing"),
        ((1, 2, 1), "expected 3"),
    ],
)
def test_a_repeated_or_skipped_sequence_number_is_corruption(
    tmp_path: Path, seqs: tuple[int, ...], problem: str
) -> None:
    path = tmp_path / "s.json"
    JsonFileStore(path).close()
    journal = path.with_name("s.json.journal")
    journal.write_bytes(b"".join(line(seq, f"i{n}") for n, seq in enumerate(seqs)))
    with pytest.raises(ig.errors.StoreCorrupted, match=problem):
        JsonFileStore(path)


def test_lines_a_fold_already_holds_are_skipped_and_the_rest_applied(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put(ig.Intent(id="a", name="a"))
        store.put(ig.Intent(id="b", name="b"))  # folded at close: the document is at seq 2
    journal = path.with_name("s.json.journal")
    journal.write_bytes(line(1, "a") + line(2, "b") + line(3, "c"))  # a fold cut short
    with JsonFileStore(path) as store:
        assert ids(store) == ["a", "b", "c"]


def test_a_write_whose_fdatasync_fails_after_the_data_reached_the_disk_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    store.put(ig.Intent(id="a", name="a"))
    real = os.fdatasync

    def synced_then_failed(fd: int) -> None:
        real(fd)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(jsonfile.os, "fdatasync", synced_then_failed)
    with pytest.raises(ig.errors.StorageError):
        store.put(ig.Intent(id="lost", name="not acknowledged"))
    monkeypatch.undo()
    assert ids(store) == ["a"]
    store.put(ig.Intent(id="b", name="acknowledged"))  # must not reuse the failed write's seq
    store._release()  # die without folding
    with JsonFileStore(path) as reopened:
        assert ids(reopened) == ["a", "b"]


# --- transactions and the lifecycle ---------------------------------------------------


@pytest.mark.parametrize("operation", ["compact", "close"])
def test_compact_or_close_inside_a_transaction_is_refused_and_writes_nothing(
    tmp_path: Path, operation: str
) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    with pytest.raises(RuntimeError), store.transaction():
        store.put(ig.Intent(id="ghost", name="never committed"))
        with pytest.raises(ig.errors.TransactionError, match=operation):
            getattr(store, operation)()
        raise RuntimeError("the transaction fails")
    assert not store.exists("ghost")
    store.close()
    with JsonFileStore(path) as reopened:
        assert not reopened.exists("ghost")


def test_a_transaction_object_enters_once(tmp_path: Path) -> None:
    with JsonFileStore(tmp_path / "s.json") as store:
        txn = store.transaction()
        with txn:
            store.put(ig.Intent(id="a", name="a"))
        with pytest.raises(ig.errors.TransactionError, match=r"once|already"), txn:
            pass
        assert store.exists("a")


# --- processes --------------------------------------------------------------------------


def test_a_forked_child_cannot_write_beside_its_parent(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    store = JsonFileStore(path)
    store.put(ig.Intent(id="parent", name="before the fork"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            try:
                store.put(ig.Intent(id="child", name="from the child"))
                outcome = "wrote"
            except ig.errors.StoreForked as exc:
                outcome = f"refused:{isinstance(exc, ig.errors.StoreLocked)}:{exc.owner_pid}"
            store.close()  # must not fold or unlock the parent's store
            os.write(write, outcome.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 200).decode() == f"refused:True:{os.getpid()}"
    store.put(ig.Intent(id="after", name="the parent goes on"))
    with pytest.raises(ig.errors.StoreLocked):
        JsonFileStore(path)  # the parent still holds the lock
    store.close()
    with JsonFileStore(path) as reopened:
        assert ids(reopened) == ["after", "parent"]


def test_a_forked_child_of_a_memory_store_has_its_own_copy(tmp_path: Path) -> None:
    store = ig.open_store("memory://")
    store.put(ig.Intent(id="a", name="a"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            store.put(ig.Intent(id="child", name="child"))
            os.write(write, ",".join(ids(store)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 200).decode() == "a,child"
    assert ids(store) == ["a"]


def test_a_fork_during_another_threads_transaction_rolls_it_back_in_the_child() -> None:
    store = ig.open_store("memory://")
    store.put(ig.Intent(id="a", name="a"))
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction():
            store.put(ig.Intent(id="half", name="not committed at fork time"))
            inside.set()
            release.wait()

    thread = threading.Thread(target=writer)
    thread.start()
    inside.wait()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            store.put(ig.Intent(id="child", name="the lock is free in the child"))
            os.write(write, ",".join(ids(store)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    release.set()
    thread.join()
    assert os.read(read, 200).decode() == "a,child"
    assert ids(store) == ["a", "half"]


def test_a_second_writer_through_a_symlink_is_locked_out(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with JsonFileStore(real) as store:
        store.put(ig.Intent(id="a", name="a"))
        with pytest.raises(ig.errors.StoreLocked):
            JsonFileStore(link)
    with JsonFileStore(link) as through_link:
        through_link.put(ig.Intent(id="b", name="b"))
    assert link.is_symlink()  # the fold replaced the real file, not the link
    with JsonFileStore(real) as store:
        assert ids(store) == ["a", "b"]


def test_a_document_with_several_hard_links_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    JsonFileStore(path).close()
    os.link(path, tmp_path / "other.json")
    with pytest.raises(ig.errors.StorageError, match="hard links"):
        JsonFileStore(path)


def test_a_failed_open_of_a_new_store_leaves_no_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(b"{broken")
    with pytest.raises(ig.errors.StoreCorrupted):
        JsonFileStore(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


def test_temporary_documents_of_writers_that_died_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    JsonFileStore(path).close()
    (tmp_path / ".s.json.12345.tmp").write_text("left by a writer killed mid-fold")
    (tmp_path / ".other.json.1.tmp").write_text("not ours")
    JsonFileStore(path).close()
    assert not (tmp_path / ".s.json.12345.tmp").exists()
    assert (tmp_path / ".other.json.1.tmp").exists()


# --- hand-edited documents ----------------------------------------------------------------


def edit(path: Path, **changes: object) -> None:
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def edge(source: str, target: str, kind: str) -> dict[str, str]:
    return {"source": source, "target": target, "type": kind}


@pytest.mark.parametrize(
    ("edges", "problem"),
    [
        (
            [edge("a", "b", "IS_SUBGOAL_OF"), edge("b", "a", "IS_SUBGOAL_OF")],
            "subgoal edges form a cycle",
        ),
        ([edge("a", "b", "IS_SUBGOAL_OF"), edge("a", "c", "IS_SUBGOAL_OF")], "2 parents"),
        ([edge("a", "a", "DEPENDS_ON")], "itself"),
        ([edge("a", "zz", "DEPENDS_ON")], "missing intent 'zz'"),
        ([edge("c", "a", "CONFLICTS_WITH")], "reverse order"),
    ],
)
def test_a_hand_edited_graph_that_breaks_an_invariant_is_refused_at_open(
    tmp_path: Path, edges: list[dict[str, str]], problem: str
) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put_many(ig.Intent(id=i, name=i) for i in "abc")
    edit(path, edges=edges)
    with pytest.raises(ig.errors.StoreCorrupted, match=problem):
        JsonFileStore(path)
    with pytest.raises(ig.errors.StoreCorrupted):
        ig.open_store(url(path), fallback=True)


def test_a_hand_edited_dependency_cycle_opens_and_is_reported_by_cycles(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with JsonFileStore(path) as store:
        store.put_many(ig.Intent(id=i, name=i) for i in "ab")
    edit(path, edges=[edge("a", "b", "DEPENDS_ON"), edge("b", "a", "DEPENDS_ON")])
    with JsonFileStore(path) as store:
        assert store.cycles() == [["a", "b"]]
        assert store.ready() == []
        with pytest.raises(ig.errors.CycleError):
            store.plan("a")


# --- readers beside a writer ----------------------------------------------------------------


def test_a_read_only_opener_racing_folds_never_reports_false_corruption(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    writer_code = textwrap.dedent(f"""
        import intentgraph as ig, sys
        from intentgraph.backends import jsonfile
        jsonfile.MIN_FOLD_BYTES = 0  # fold whenever the journal outgrows the document
        s = ig.open_store({url(path)!r})
        print("ready", flush=True)
        n = 0
        while True:
            n += 1
            s.put(ig.Intent(id=f"i{{n}}", name="x" * 50))
            if n % 7 == 0:
                s.compact()
    """)
    JsonFileStore(path).close()
    writer = subprocess.Popen([sys.executable, "-c", writer_code], stdout=subprocess.PIPE)
    try:
        assert writer.stdout is not None and writer.stdout.readline().startswith(b"ready")
        counts = []
        for _ in range(120):
            with JsonFileStore(path, read_only=True) as reader:
                counts.append(reader.count())
    finally:
        writer.kill()
        writer.wait()
    assert counts == sorted(counts)  # each snapshot is at least as new as the one before
    assert counts[-1] > counts[0]
