"""Private scratch directories that a killed process does not leave behind for good.

A restore stages what it checks beside the target store, up to the size of the backup. A
process killed half way (SIGKILL, a power cut) cannot remove its files; the next one
that makes a scratch directory in the same place removes every directory whose owner is
gone. A directory's owner holds an exclusive ``flock`` on its ``lock`` file while it
lives (the kernel drops it when the process dies), and the file only gets that name once
locked, so a directory being set up is never mistaken for an abandoned one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["ScratchDir", "sweep"]


class ScratchDir:
    """A new directory under ``directory`` (``None``: the system's temporary one), locked
    for this process until ``close()``, which removes it with all it holds."""

    def __init__(self, directory: str | None, prefix: str) -> None:
        parent = Path(directory or tempfile.gettempdir())
        sweep(parent, prefix)
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            pending = self.path / "lock.new"
            self._fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(pending, self.path / "lock")  # named once held (see the module)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def close(self) -> None:
        """Remove the directory; idempotent."""
        shutil.rmtree(self.path, ignore_errors=True)
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def sweep(parent: Path, prefix: str) -> None:
    """Remove the directories named ``prefix...`` in ``parent`` whose owner has died."""
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if entry.name.startswith(prefix) and _abandoned(entry / "lock"):
                shutil.rmtree(entry, ignore_errors=True)


def _abandoned(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False  # no lock yet (being set up), or not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its owner lives
    finally:
        os.close(fd)
    return True
