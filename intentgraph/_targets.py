"""Where a backup or an export writes: the file a path names, replaced whole or not at all,
never one of the store's own files.

A file is written beside its target and renamed over it, so a target naming the store's own
file (``backup goals.db --store sqlite:///goals.db``), its WAL, journal or lock file would
replace it: the store's data gone, or its lock split so that two writers run. That is
refused before anything is written. A target that is not a regular file (a pipe, a
terminal, ``/dev/null``) is written as a stream instead: a rename would replace the pipe or
the device itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from typing import IO, Any

from intentgraph.errors import TargetIsStore

__all__ = ["refuse_store_files", "replacing", "store_files"]


def store_files(store: object) -> list[str]:
    """The files ``store`` keeps on this machine (none for memory and graph servers)."""
    local_files = getattr(store, "local_files", None)  # an IntentStorage of another maker
    return list(local_files()) if callable(local_files) else []


def refuse_store_files(
    target: str | os.PathLike[str], files: Iterable[str], *, whose: str = "the store"
) -> None:
    """Raise ``TargetIsStore`` when writing ``target`` would replace one of ``files``: the
    same directory entry however the path is spelled (``./``, ``..``, a symlinked
    directory), the file a symlink there names, or the same file under another name (a
    hard link).

    Raises:
        TargetIsStore: it would.
    """
    name = os.fspath(target)
    written = {_entry(name), os.path.realpath(name)}
    try:
        found: os.stat_result | None = os.stat(name)
    except OSError:
        found = None
    for own in files:
        if _entry(own) in written or (found is not None and _same(found, own)):
            raise TargetIsStore(name, own, whose=whose)


@contextlib.contextmanager
def replacing(
    target: str | os.PathLike[str], *, text: bool = False, private: bool = False
) -> Iterator[IO[Any]]:
    """A file to write what ``target`` will hold: all of it once the block ends, or, if
    the block fails, what it held before (a new file beside it, fsync'd, renamed over it).
    Through a symlink the file it names is replaced and the link stays. A target that
    exists and is not a regular file is written in place, as a stream. ``private``: the
    new file is readable by its owner only (else as the umask says).

    Raises:
        OSError: the file cannot be written (it names ``target``, not a temporary file).
    """
    name = os.fspath(target)
    mode = "w" if text else "wb"
    encoding, newline = ("utf-8", "\n") if text else (None, None)
    try:
        kind: int | None = os.stat(name).st_mode  # follows links, /dev/stdout's too
    except FileNotFoundError:
        kind = None
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, name) from exc
    if kind is not None and not stat.S_ISREG(kind):
        try:
            stream = open(name, mode, encoding=encoding, newline=newline)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, name) from exc
        with stream:
            yield stream
        return
    directory, base = os.path.split(os.path.realpath(name))
    tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
    try:  # O_EXCL: a new file of our own, never through a link left under that name
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600 if private else 0o666
        )
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, name) from exc
    try:
        with open(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, os.path.join(directory, base))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the new name durable too (not every file system can)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _entry(path: str) -> str:
    """The directory entry ``path`` names: its directory resolved, its last part kept."""
    full = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))


def _same(found: os.stat_result, path: str) -> bool:
    try:
        mine = os.stat(path)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino)
