"""A store's file, journal or lock file that is a pipe or a device is refused at once.

Opening a pipe for reading waits for a writer: a JSON store whose document or journal was a
FIFO hung its opener for good, and SQLite answered with "disk I/O error". Each is now a
typed error naming the file, with nothing written.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.errors import InvalidURL, StoreCorrupted, StoreUnavailable


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A regression waits on a pipe: an alarm turns that into a failure."""

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("opening the store waited on a pipe")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("backend", ["sqlite", "json"])
@pytest.mark.parametrize("read_only", [False, True])
def test_a_store_file_that_is_a_pipe_is_an_invalid_url(
    tmp_path: Path, backend: str, read_only: bool
) -> None:
    path = tmp_path / f"s.{backend}"
    os.mkfifo(path)
    query = "?read_only=1" if read_only else ""
    with pytest.raises(InvalidURL, match="is not a regular file"):
        ig.open_store(f"{backend}:///{path}{query}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("read_only", [False, True])
def test_a_json_journal_that_is_a_pipe_is_damage(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "s.json"
    with ig.open_store(f"json:///{path}") as store:
        store.put(ig.Intent(id="a", name="kept"))
    os.unlink(tmp_path / "s.json.journal")  # empty after the close's fold
    os.mkfifo(tmp_path / "s.json.journal")
    query = "?read_only=1" if read_only else ""
    with pytest.raises(StoreCorrupted, match="journal is not a regular file"):
        ig.open_store(f"json:///{path}{query}")
    os.unlink(tmp_path / "s.json.journal")
    with ig.open_store(f"json:///{path}") as store:
        assert store.get("a").name == "kept"


def test_a_json_lock_file_that_is_a_pipe_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    with ig.open_store(f"json:///{path}") as store:
        store.put(ig.Intent(id="a", name="kept"))
    os.unlink(tmp_path / "s.json.lock")
    os.mkfifo(tmp_path / "s.json.lock")
    with pytest.raises(StoreUnavailable, match="lock is not a regular file"):
        ig.open_store(f"json:///{path}")
    assert (tmp_path / "s.json.lock").is_fifo()
