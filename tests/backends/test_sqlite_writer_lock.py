"""SQLite writers queue on a file lock beside the database (``<db>-lock``): busy_timeout
keeps its meaning, and the lock is never left held, whether its process dies, is
interrupted (tests/durability/test_interrupts.py interrupts every line of it) or forks."""

from __future__ import annotations

import fcntl
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.errors import StorageError

ROOT = Path(__file__).resolve().parents[2]


def lock_is_free(db: Path) -> bool:
    """Return whether nobody holds the writer lock of ``db`` (tried from a new descriptor)."""
    fd = os.open(f"{db}-lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also lets go of it if we got it
    return True


def intent(n: int) -> ig.Intent:
    return ig.Intent(id=f"i{n}", name=f"intent {n}")


def test_a_write_transaction_holds_the_lock_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SqliteStore(db) as store:
        store.put(intent(1))
        assert lock_is_free(db)
        with store.transaction():
            store.put(intent(2))
            assert not lock_is_free(db)
            store.list()  # reads inside take nothing more
        assert lock_is_free(db)
        with pytest.raises(ig.errors.IntentExists), store.transaction():
            store.put(intent(3))
            store.put(intent(1))
        assert lock_is_free(db)
        assert store.count() == 2


def test_a_read_only_store_makes_no_lock_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SqliteStore(db) as store:
        store.put(intent(1))
    os.remove(f"{db}-lock")
    with SqliteStore(db, read_only=True) as reader:
        assert reader.count() == 1
    assert not os.path.exists(f"{db}-lock")


def test_a_store_whose_lock_file_cannot_be_made_writes_without_it(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    os.mkdir(f"{db}-lock")  # in the way
    with SqliteStore(db) as store, SqliteStore(db, busy_timeout_ms=100) as other:
        assert store._writer is not None and not store._writer.active
        store.put(intent(1))
        other.put(intent(2))  # SQLite's own lock still takes turns
        with store.transaction():
            store.put(intent(3))
            with pytest.raises(StorageError, match="locked"):
                other.put(intent(4))
        assert store.count() == 3


def test_a_writer_held_up_beyond_busy_timeout_gets_storage_error_in_time(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    with SqliteStore(db) as holder, SqliteStore(db, busy_timeout_ms=300) as other:
        with holder.transaction():
            holder.put(intent(1))
            start = time.monotonic()
            with pytest.raises(StorageError, match="beyond busy_timeout"):
                other.put(intent(2))
            waited = time.monotonic() - start
        assert 0.3 <= waited < 1.3
        other.put(intent(2))  # the lock is free again
        assert other.count() == 2


def test_busy_timeout_counts_both_waits_together(tmp_path: Path) -> None:
    """A writer first waits for the lock, then for SQLite's own lock held by a writer that
    does not take the lock file (the sqlite3 shell, say): both within one busy_timeout."""
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    shell = sqlite3.connect(db, isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")
    held = os.open(f"{db}-lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    lets_go = threading.Timer(0.6, os.close, (held,))  # closing it lets the lock go
    try:
        with SqliteStore(db, busy_timeout_ms=1000) as store:
            start = time.monotonic()
            lets_go.start()
            with pytest.raises(StorageError, match="locked"):
                store.put(intent(1))
            waited = time.monotonic() - start
            # Not 0.6 s + a whole second: what was left of it after the lock came free.
            assert 0.95 <= waited < 1.45
            timeout = store._conn.execute("PRAGMA busy_timeout").fetchone()[0]
            assert timeout == 1000  # put back for the next write
            shell.execute("ROLLBACK")
            store.put(intent(1))
    finally:
        lets_go.join()
        shell.close()


_HOLDER = """
import os, sys, time
from intentgraph.backends.sqlite import SqliteStore
import intentgraph as ig
store = SqliteStore(sys.argv[1])
with store.transaction():
    store.put(ig.Intent(id="doomed", name="never committed"))
    if sys.argv[2] == "fork":
        child = os.fork()
        if child == 0:  # the child inherits the lock file's descriptor, and outlives us
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
    print("holding", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("fork", [False, True], ids=["alone", "with-a-forked-child"])
def test_a_writer_killed_while_holding_the_lock_lets_it_go(tmp_path: Path, fork: bool) -> None:
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db), "fork" if fork else "alone"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    child = int(proc.stdout.readline()) if fork else None
    try:
        assert proc.stdout.readline() == "holding\n"
        assert not lock_is_free(db)
        proc.kill()
        proc.wait(timeout=30)
        with SqliteStore(db, busy_timeout_ms=5000) as store:
            start = time.monotonic()
            store.put(intent(1))  # at once: neither the dead writer nor its child holds it
            assert time.monotonic() - start < 1.0
            assert not store.exists("doomed")
        assert lock_is_free(db)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if child is not None:
            os.kill(child, signal.SIGKILL)


def test_writers_in_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    """Each store has its own lock descriptor, so stores of one process exclude each other."""
    db = tmp_path / "s.db"
    stores = [SqliteStore(db) for _ in range(4)]
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for n in range(25):
                with stores[k].transaction():
                    count = stores[k].count()
                    stores[k].put(ig.Intent(id=f"t{k}-{n}", name="x", metadata={"seen": count}))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    seen = sorted(i.metadata["seen"] for i in stores[0].list())
    assert seen == list(range(100))  # every transaction saw all the ones before it
    for store in stores:
        store.close()
    assert lock_is_free(db)


def test_a_store_opened_through_a_symlink_takes_the_same_lock(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    link = tmp_path / "link.db"
    link.symlink_to(db)
    with SqliteStore(db) as direct, SqliteStore(link) as linked:
        assert linked._writer is not None and linked._writer.path == f"{db}-lock"
        with linked.transaction():
            linked.put(intent(1))
            assert not lock_is_free(db)
        direct.put(intent(2))
        assert not (tmp_path / "link.db-lock").exists()
        assert linked.count() == 2
