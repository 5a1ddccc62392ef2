"""What a backup, an export or a copy must never write over: the files a store keeps.

Each writes its file beside the target and renames it into place, so a target naming the
store's own file (``backup goals.db --store sqlite:///goals.db``), its WAL, journal or lock
file would replace it: the store's data gone, or its lock split so that two writers run.
The check runs before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from intentgraph.errors import TargetIsStore

__all__ = ["refuse_store_files", "store_files"]


def store_files(store: object) -> list[str]:
    """The files ``store`` keeps on this machine (none for memory and graph servers)."""
    local_files = getattr(store, "local_files", None)  # an IntentStorage of another maker
    return list(local_files()) if callable(local_files) else []


def refuse_store_files(
    target: str | os.PathLike[str], files: Iterable[str], *, whose: str = "the store"
) -> None:
    """Raise ``TargetIsStore`` when writing ``target`` would replace one of ``files``: the
    same directory entry (however the path is spelled: ``./``, ``..``, a symlinked
    directory), or the same file under another name (a hard link, a symlink to it).

    Raises:
        TargetIsStore: it would.
    """
    name = os.fspath(target)
    entry = _entry(name)
    try:
        found = os.stat(name)
    except OSError:
        found = None
    for own in files:
        if entry == _entry(own) or (found is not None and _same(found, own)):
            raise TargetIsStore(name, own, whose=whose)


def _entry(path: str) -> str:
    """The directory entry ``path`` names: its directory resolved, its last part kept (a
    rename replaces the entry, never what a symlink there points to)."""
    full = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))


def _same(found: os.stat_result, path: str) -> bool:
    try:
        mine = os.stat(path)
    except OSError:
        return False
    return (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino)
