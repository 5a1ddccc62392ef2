"""Scratch directories: removed by their owner, and by the next one made beside them when
their owner died without removing them (a process killed outright)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from intentgraph._integrity import Skeleton
from intentgraph._scratch import ScratchDir

ROOT = Path(__file__).resolve().parents[1]


def abandon(directory: Path, prefix: str) -> Path:
    """Make a scratch directory in another process that then dies without cleaning up."""
    code = (
        "import os, sys; from intentgraph._scratch import ScratchDir; "
        "s = ScratchDir(sys.argv[1], sys.argv[2]); (s.path / 'data').write_bytes(b'x' * 1000); "
        "print(s.path, flush=True); os._exit(0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(directory), prefix],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    return Path(out)


def test_a_scratch_directory_is_removed_by_close(tmp_path: Path) -> None:
    scratch = ScratchDir(str(tmp_path), ".ig-test-")
    (scratch.path / "file").write_text("x")
    scratch.close()
    scratch.close()  # idempotent
    assert list(tmp_path.iterdir()) == []


def test_a_dead_owners_directory_is_swept_and_a_live_or_new_one_is_kept(tmp_path: Path) -> None:
    dead = abandon(tmp_path, ".ig-test-")
    assert dead.is_dir()
    live = ScratchDir(str(tmp_path), ".ig-test-")
    assert not dead.exists()  # made beside it: swept
    being_made = tmp_path / ".ig-test-new"
    being_made.mkdir()
    (being_made / "lock.new").write_text("")  # not yet locked and named
    other = abandon(tmp_path, ".ig-other-")  # another prefix: not this one's to judge
    again = ScratchDir(str(tmp_path), ".ig-test-")
    assert live.path.is_dir() and being_made.is_dir() and other.is_dir()
    for scratch in (live, again):
        scratch.close()


def test_a_skeleton_lives_in_a_scratch_directory_that_close_removes(tmp_path: Path) -> None:
    abandoned = abandon(tmp_path, ".intentgraph-check-")
    skeleton = Skeleton(str(tmp_path))
    assert not abandoned.exists()
    skeleton.add_intents([("a", 1, 1, None)])
    assert skeleton.findings() == []
    skeleton.close()
    assert list(tmp_path.iterdir()) == []
