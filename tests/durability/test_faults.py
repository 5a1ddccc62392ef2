"""Real faults (a full disk, files that cannot be written) fail the write and lose nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import intentgraph as ig
from tests.conftest import FILE_BACKENDS, url_for

PERSISTENT = FILE_BACKENDS  # the graph servers' disks are theirs, not the client's


@pytest.mark.parametrize("backend", PERSISTENT)
def test_a_full_disk_fails_the_write_and_keeps_every_earlier_one(
    backend: str, tmp_path: Path
) -> None:
    url = url_for(backend, tmp_path)
    # RLIMIT_FSIZE makes the kernel refuse to grow any file past a size: a real "disk full".
    code = textwrap.dedent(f"""
        import os, resource, signal, intentgraph as ig
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        s = ig.open_store({url!r})
        s.put_many(ig.Intent(id=f"k{{n}}", name="kept") for n in range(20))
        s.add_edge("k1", "k0", ig.EdgeType.DEPENDS_ON)
        biggest = max(os.path.getsize(os.path.join({str(tmp_path)!r}, f))
                      for f in os.listdir({str(tmp_path)!r}))
        resource.setrlimit(resource.RLIMIT_FSIZE, (biggest + 2048, biggest + 2048))
        big = [ig.Intent(id=f"big{{n}}", name="x", goal="y" * 5000) for n in range(50)]
        try:
            s.put_many(big)
            print("WROTE")
        except ig.errors.StorageError as exc:
            print("REFUSED", type(exc).__name__)
        print("COUNT", s.count(), s.exists("big0"))
        os._exit(0)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "REFUSED" in run.stdout, run.stdout + run.stderr
    assert "COUNT 20 False" in run.stdout
    with ig.open_store(url) as store:
        assert store.count() == 20
        assert not store.exists("big0")
        assert [d.id for d in store.dependencies("k1")] == ["k0"]
        store.put(ig.Intent(id="after", name="the store still takes writes"))


ROOT_USER = os.geteuid() == 0


@contextmanager
def unwritable(paths: list[Path]) -> Iterator[None]:
    """Make files and folders unwritable: immutable for root (``chattr +i``, which only
    root may set, and which binds root too), read-only modes for anyone else."""
    if ROOT_USER:
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True, capture_output=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True, capture_output=True)
        return
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


@pytest.mark.parametrize("backend", PERSISTENT)
@pytest.mark.skipif(
    ROOT_USER and shutil.which("chattr") is None, reason="root needs chattr (e2fsprogs)"
)
def test_a_store_that_cannot_be_written_raises_a_storage_error_and_keeps_its_data(
    backend: str, tmp_path: Path
) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    url = url_for(backend, folder)
    with ig.open_store(url) as store:
        store.put(ig.Intent(id="a", name="a"))
    with unwritable([*folder.iterdir(), folder]):
        try:
            store = ig.open_store(url)
        except ig.errors.StorageError:
            pass  # refused at open: fine, and typed
        else:
            with pytest.raises(ig.errors.StorageError):
                store.put(ig.Intent(id="b", name="b"))
            store.close()
    with ig.open_store(url) as store:
        assert [i.id for i in store.list()] == ["a"]
