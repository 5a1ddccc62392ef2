"""Where a backup or an export writes (``intentgraph._targets``).

Each writes its file beside the target and renames it into place, so a target naming the
store's own file, its WAL, journal or lock file, would replace it: the data gone, or the
lock split so that two writers run. Refused with ``TargetIsStore`` (exit 2), nothing
written, however the path is spelled; a copy onto the store it reads likewise. A pipe or a
device is written as a stream (a rename would replace the pipe itself), and through a
symlink the file it names is replaced, the link kept.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph import backup
from intentgraph.errors import TargetIsStore
from intentgraph.export import export
from tests.cli._run import run

FILES = {
    "sqlite": ["s.db", "s.db-wal", "s.db-shm", "s.db-journal", "s.db-lock"],
    "json": ["s.json", "s.json.journal", "s.json.lock"],
}
CASES = [(backend, name) for backend, names in FILES.items() for name in names]


def filled(tmp_path: Path, backend: str) -> str:
    url = f"{backend}:///{tmp_path / FILES[backend][0]}"
    with ig.open_store(url) as store:
        store.put(ig.Intent(id="a", name="keep me"))
        store.put(ig.Intent(id="b", name="and me"))
        store.add_edge("b", "a", ig.EdgeType.DEPENDS_ON)
    return url


def contents(url: str) -> object:
    with ig.open_store(url) as store:
        return store.list(order_by="id"), store.edges()


def listing(directory: Path) -> dict[str, bytes | None]:
    """Every entry of the directory with its bytes (a WAL or lock file may be absent)."""
    return {p.name: None if p.is_dir() else p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize(("backend", "name"), CASES)
def test_a_backup_or_export_onto_a_file_of_the_store_is_refused(
    tmp_path: Path, backend: str, name: str
) -> None:
    url = filled(tmp_path, backend)
    before = contents(url)
    with ig.open_store(url) as store:
        assert str(tmp_path / name) in store.local_files()
        files = listing(tmp_path)
        for spelled in (tmp_path / name, tmp_path / "." / ".." / tmp_path.name / name):
            with pytest.raises(TargetIsStore) as caught:
                backup.write_backup(store, spelled)
            assert caught.value.store_file == str(tmp_path / name)
            with pytest.raises(TargetIsStore):
                export(store, "dot", spelled)
        assert listing(tmp_path) == files  # nothing written, no temporary file left
        assert (store.list(order_by="id"), store.edges()) == before
    assert contents(url) == before


@pytest.mark.parametrize("backend", sorted(FILES))
@pytest.mark.parametrize("command", [["backup"], ["export", "--format", "dot"]])
def test_the_command_exits_2_and_the_store_is_as_it_was(
    tmp_path: Path, backend: str, command: list[str]
) -> None:
    url = filled(tmp_path, backend)
    before = contents(url)
    (tmp_path / "via").symlink_to(tmp_path)  # the store's directory under another name
    target = tmp_path / "via" / FILES[backend][0]
    done = run(*command, str(target), "--store", url)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"intentgraph: refusing to write {target}: the store keeps")
    assert contents(url) == before


def test_a_hard_link_or_a_symlink_to_the_store_is_refused_too(tmp_path: Path) -> None:
    url = filled(tmp_path, "sqlite")
    os.link(tmp_path / "s.db", tmp_path / "hard.db")
    (tmp_path / "soft.db").symlink_to(tmp_path / "s.db")
    with ig.open_store(url) as store:
        for other in ("hard.db", "soft.db"):
            with pytest.raises(TargetIsStore):
                backup.write_backup(store, tmp_path / other)


def test_a_store_is_not_copied_onto_itself_under_another_url(tmp_path: Path) -> None:
    url = filled(tmp_path, "sqlite")
    before = contents(url)
    same = f"sqlite:///{tmp_path}/../{tmp_path.name}/./s.db"
    done = run("copy", url, same)
    assert done.returncode == 2, done.stderr
    assert "refusing to write" in done.stderr and "the source store" in done.stderr
    assert contents(url) == before


def test_files_beside_the_store_and_stores_without_files_are_written(tmp_path: Path) -> None:
    url = filled(tmp_path, "sqlite")
    with ig.open_store(url) as store:
        backup.write_backup(store, tmp_path / "s.db.bak")
        export(store, "dot", tmp_path / "s.dot")
    assert (tmp_path / "s.db.bak").stat().st_size > 0 and (tmp_path / "s.dot").stat().st_size
    with ig.open_store("memory://") as memory:
        assert memory.local_files() == []
        backup.write_backup(memory, tmp_path / "m.jsonl")


def read_fifo(path: Path, got: list[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(path, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("what", ["backup", "export"])
def test_a_pipe_is_written_as_a_stream_and_stays_a_pipe(tmp_path: Path, what: str) -> None:
    url = filled(tmp_path, "sqlite")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = read_fifo(fifo, got)
    with ig.open_store(url) as store:
        if what == "backup":
            summary = backup.write_backup(store, fifo)
        else:
            export(store, "dot", fifo)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    if what == "backup":
        assert got[0].startswith(b'{"header":{"format":"intentgraph-backup"')
        assert got[0].count(b"\n") == summary.intents + summary.edges + 2
        with ig.open_store("memory://") as copy:
            (tmp_path / "b.jsonl").write_bytes(got[0])
            backup.restore(tmp_path / "b.jsonl", copy)
            assert contents_of(copy) == contents(url)
    else:
        assert got[0].startswith(b"digraph")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def contents_of(store: ig.IntentStorage) -> object:
    return store.list(order_by="id"), store.edges()


def test_through_a_symlink_the_file_it_names_is_replaced_and_the_link_stays(
    tmp_path: Path,
) -> None:
    url = filled(tmp_path, "sqlite")
    (tmp_path / "backups").mkdir()
    real = tmp_path / "backups" / "2026-11-22.jsonl"
    real.write_bytes(b"an older backup")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(real)
    with ig.open_store(url) as store:
        backup.write_backup(store, link)
    assert link.is_symlink() and link.resolve() == real
    assert real.read_bytes().startswith(b'{"header":{"format":"intentgraph-backup"')
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["2026-11-22.jsonl"]


def test_a_backup_is_its_owners_only_and_an_export_follows_the_umask(tmp_path: Path) -> None:
    url = filled(tmp_path, "sqlite")
    old = os.umask(0o022)
    try:
        with ig.open_store(url) as store:
            backup.write_backup(store, tmp_path / "b.jsonl")
            export(store, "dot", tmp_path / "g.dot")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "g.dot").stat().st_mode) == 0o644


def test_a_failed_export_leaves_the_file_it_would_replace_as_it_was(tmp_path: Path) -> None:
    url = filled(tmp_path, "sqlite")
    target = tmp_path / "g.dot"
    target.write_text("the previous export")
    with ig.open_store(url) as store, pytest.raises(ig.errors.IntentNotFound):
        export(store, "dot", target, root="nowhere")
    assert target.read_text() == "the previous export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
