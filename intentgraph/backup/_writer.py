"""Writing a backup: one consistent snapshot streamed out as JSON Lines."""

from __future__ import annotations

import gzip
import hashlib
import os
import time
from collections.abc import Callable
from typing import IO, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from intentgraph._targets import refuse_store_files, replacing, store_files
from intentgraph._transactions import gc_paused
from intentgraph.backup._format import FORMAT, VERSION
from intentgraph.errors import StorageError
from intentgraph.models import utcnow
from intentgraph.protocol import IntentStorage
from intentgraph.results import LoadResult

__all__ = ["BackupSummary", "Progress", "report_written", "write_backup"]

Progress = Callable[[str, int, int | None], None]
"""Called as ``progress(phase, done, total)`` while a long operation runs: ``phase`` is
``"intents"``, ``"edges"``, ``"checking"`` or ``"loading"``; ``total`` may be None. A
restore reports ``"written"`` once its write is committed (an interrupt after it finds the
store holding the backup, not as before)."""


def report_written(progress: Progress | None, result: LoadResult) -> None:
    """Tell ``progress`` that a restore's write is committed (the ``"written"`` phase)."""
    if progress is not None:
        total = result.intents + result.edges
        progress("written", total, total)


class BackupSummary(BaseModel):
    """What ``write_backup`` wrote."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(description="Where it was written (``-`` for a stream).")
    format: str = FORMAT
    version: int = VERSION
    backend: str = Field(description="The backend of the store it was taken from.")
    intents: int
    edges: int
    bytes: int = Field(description="Bytes of JSON Lines written (before compression).")
    file_bytes: int = Field(
        description="Bytes of the backup as written (after compression, its trailer included)."
    )
    compressed: bool
    sha256: str = Field(description="SHA-256 of every line before the trailer.")
    seconds: float


def _version() -> str:
    from intentgraph import __version__

    return __version__


def write_backup(
    store: IntentStorage,
    target: str | os.PathLike[str] | IO[bytes],
    *,
    compress: bool | None = None,
    progress: Progress | None = None,
    batch_size: int = 2000,
) -> BackupSummary:
    """Write a backup of ``store`` to ``target``: a path, or a binary file object.

    The store is read through one ``snapshot()``: the backup is of one moment even while
    other processes write. Memory stays constant (one batch at a time). A path is written
    to a temporary file beside it and renamed into place when complete, so an interrupted
    backup never leaves a partial file under its name (a pipe or a device, such as
    ``/dev/stdout``, is written as a stream); a path ending in ``.gz`` is compressed unless
    ``compress`` says otherwise.

    Raises:
        TargetIsStore: the path is one of the store's own files (its WAL, journal or lock
            file included); nothing is written.
        StorageError: the file cannot be written, or the store read.
        StoreCorrupted: a stored record cannot be read back (it names the record).
    """
    started = time.perf_counter()
    if isinstance(target, str | os.PathLike):
        refuse_store_files(target, store_files(store))
        name = os.fspath(target)
        gz = name.endswith(".gz") if compress is None else compress
        with replacing(name, private=True) as raw:  # a backup holds everything: owner only
            summary = _write(store, raw, name, gz, progress, batch_size)
    else:
        gz = bool(compress)
        summary = _write(store, target, getattr(target, "name", "-"), gz, progress, batch_size)
    return summary.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})


class _Counted:
    """A binary stream's writer that counts what goes through it (what the file holds)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self._raw.write(data)

    def flush(self) -> None:
        self._raw.flush()


def _write(
    store: IntentStorage,
    raw: IO[bytes],
    name: str,
    gz: bool,
    progress: Progress | None,
    batch_size: int,
) -> BackupSummary:
    counted = _Counted(raw)
    out: Any = counted
    if gz:
        out = gzip.GzipFile(fileobj=counted, mode="wb", compresslevel=6, mtime=0)
    sha = hashlib.sha256()
    size = 0

    def emit(data: bytes) -> None:
        nonlocal size
        sha.update(data)
        size += len(data)
        out.write(data)

    try:
        with store.snapshot(batch_size=batch_size) as view, gc_paused():
            counts = {"intents": view.intent_count, "edges": view.edge_count}
            header: dict[str, Any] = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": utcnow().isoformat().replace("+00:00", "Z"),
                "intentgraph": _version(),
                "source": {"backend": store.backend},
                "counts": counts,
                "changes": view.changes,
            }
            emit(b'{"header":' + pydantic_core.to_json(header) + b"}\n")
            done = 0
            for texts in view.intent_json():
                emit("".join(['{"intent":' + t + "}\n" for t in texts]).encode())
                done += len(texts)
                if progress:
                    progress("intents", done, counts["intents"])
            done = 0
            for texts in view.edge_json():
                emit("".join(['{"edge":' + t + "}\n" for t in texts]).encode())
                done += len(texts)
                if progress:
                    progress("edges", done, counts["edges"])
            digest = sha.hexdigest()
            trailer = {"counts": counts, "sha256": digest}
            out.write(b'{"trailer":' + pydantic_core.to_json(trailer) + b"}\n")
        if gz:
            out.close()  # writes gzip's trailer; ``raw`` stays open
        raw.flush()
    except OSError as exc:
        if isinstance(exc, StorageError) or exc.errno is None:
            raise
        raise StorageError(f"cannot write the backup {name}: {exc}") from exc
    return BackupSummary(
        file=name,
        backend=store.backend,
        intents=counts["intents"],
        edges=counts["edges"],
        bytes=size,
        file_bytes=counted.written,
        compressed=gz,
        sha256=digest,
        seconds=0.0,
    )
