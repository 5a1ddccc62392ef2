"""The writer lock of a SQLite store: writers wait for each other on a ``flock``, not in
SQLite's busy handler.

A writer that finds the database locked is put to sleep by SQLite in growing steps (1, 2, 5,
10 ... up to 100 ms) before it tries again. While it sleeps the database may be free, and a
writer that never sleeps (one that begins again as soon as it commits) takes it first: with
several processes writing, the database stands idle while waiters sleep, and some of them
starve for seconds. So every write transaction of a ``SqliteStore`` first takes an exclusive
``flock`` on ``<database>-lock``, then runs ``BEGIN IMMEDIATE``; a waiter tries the lock
again within a fraction of a millisecond.

The lock only orders intentgraph's own writers. ``BEGIN IMMEDIATE`` still excludes every
writer (one that does not take this lock, such as the ``sqlite3`` shell, waits in SQLite's
busy handler as before), so nothing depends on the lock for correctness, and a store whose
lock file cannot be made or locked does without it.

It is never left held: the kernel drops a ``flock`` when the last descriptor of its open file
goes, so when its process dies; ``release`` is idempotent, and the store calls it on every
path that ends a transaction (commit, and rollback, which the transaction machinery runs
again after an interrupt, see ``intentgraph/_transactions.py``). A forked child closes its
copy of the descriptor without unlocking (the lock belongs to the parent's open file).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

__all__ = ["WriterLock"]

_FIRST_STEP = 0.00005
_LAST_STEP = 0.0005
"""A waiter tries again after 50 µs, then twice as long each time up to 0.5 ms: it starts
within half a millisecond of the lock being freed, at a cost of at most 2,000 tries a
second."""


class WriterLock:
    """An exclusive ``flock`` on ``<database>-lock``, taken around each write transaction."""

    __slots__ = ("_fd", "_pid", "path")

    def __init__(self, database: str) -> None:
        self.path = f"{database}-lock"
        self._pid = os.getpid()
        self._fd: int | None
        try:
            # Read access is all a flock needs: any user who may read the file may lock it.
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            self._fd = None  # do without: BEGIN IMMEDIATE still excludes other writers

    @property
    def active(self) -> bool:
        """Whether writers of this store take the lock (False: the file could not be made)."""
        return self._fd is not None

    def acquire(self, timeout: float) -> float | None:
        """Take the lock, waiting up to ``timeout`` seconds.

        Returns:
            The seconds spent waiting (0.0 when the lock was free or is not active), or None
            when it was still held by another writer after ``timeout``.
        """
        fd = self._fd
        if fd is None or self._try(fd):
            return 0.0
        start = time.monotonic()
        deadline = start + timeout
        step = _FIRST_STEP
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(step, left))
            if self._try(fd):
                return time.monotonic() - start
            step = min(step * 2, _LAST_STEP)

    def _try(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            _from_os(exc)
            self.close()  # no flock here (some network file systems): do without it
        return True

    def release(self) -> None:
        """Let the lock go if this process holds it; do nothing otherwise."""
        fd = self._fd
        if fd is not None and os.getpid() == self._pid:  # a forked child must not unlock
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            except OSError as exc:
                _from_os(exc)

    def close(self) -> None:
        """Close the lock file (which lets the lock go, unless a forked copy holds it).

        A store that is never closed keeps the descriptor open until its process ends
        (as a JSON store keeps its lock file): no finalizer, in which Python would swallow
        what a signal handler raises.
        """
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                _from_os(exc)


def _from_os(exc: OSError) -> None:
    """Re-raise ``exc`` unless the OS raised it: a signal handler's ``TimeoutError`` (an
    ``OSError`` without errno) must reach the caller unchanged."""
    if exc.errno is None:
        raise exc
