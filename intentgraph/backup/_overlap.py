"""A restore whose check runs in a second process while this one loads (replace mode).

A restore checks every record before it writes one; done in turn, the check is half of
the restore of a million intents. Here a child process reads the backup and runs pass 1
unchanged (``check_backup``), handing each checked batch of record texts to this process
over a pipe as it goes, while this process loads them into the store, uncommitted. The
load's last read waits for the child's verdict (counts, SHA-256, graph invariants): the
load ends, and commits, only when the whole backup passed. On any problem, a child that
dies, or Ctrl-C, the load raises and the store is as it was. What is written is still
exactly what was checked: the texts come from the checker, never from a second reading
of the file.

The child writes frames to a spool file beside the staging file and one byte per frame
to its standard output, so it never waits for this process (which builds the intents'
indexes while the edges are still being checked): at a million intents, a pipe alone made
the child wait some 5 s. A frame is one byte of kind, four of length (big-endian), then
the payload. ``I``/``E``: checked intent/edge texts joined by newlines (a record's JSON
text has none); ``D``: all texts sent, the graph checks run; ``P``: a progress report;
``K``: passed, with the SHA-256 and counts; ``X``: refused, with the line and the reason;
``F``: the check itself failed. The end of the pipe without ``K``: the child died.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import IO

from intentgraph._scratch import ScratchDir
from intentgraph.backup._writer import Progress, report_written
from intentgraph.errors import BackupError, InvalidEdge, InvalidIntent, StorageError
from intentgraph.protocol import IntentStorage
from intentgraph.results import LoadResult

__all__ = [
    "OVERLAP_MIN_BYTES",
    "SCRATCH_PREFIX",
    "Checked",
    "load_while_checking",
    "worth_overlapping",
]

OVERLAP_MIN_BYTES = 16 * 1024 * 1024
"""A backup file at least this big is checked in a second process while it loads: below
it, starting that process (a Python interpreter: about 0.3 s) costs more than it saves."""

SCRATCH_PREFIX = ".intentgraph-restore-"
"""The name of the child's directory (beside the store, or in the temporary directory)."""

_HEAD = struct.Struct(">cI")


def worth_overlapping(fh: IO[bytes]) -> bool:
    """Whether ``fh`` is a regular file of at least ``OVERLAP_MIN_BYTES`` (not yet read)."""
    try:
        info = os.fstat(fh.fileno())
    except (OSError, AttributeError, ValueError):
        return False
    # An embedded interpreter may have no executable to start a second process with.
    return bool(sys.executable) and stat.S_ISREG(info.st_mode) and info.st_size >= OVERLAP_MIN_BYTES


def can_overlap(fh: IO[bytes]) -> bool:
    """Whether a child process can read ``fh`` (it has a file descriptor)."""
    try:
        fh.fileno()
    except (OSError, AttributeError, ValueError):
        return False
    return True


class Checked:
    """What the child found: the backup's SHA-256 and counts (set once it passed); as a
    ``RestorePlan`` says them (replace mode: no stored record kept, none unchanged)."""

    sha256 = ""
    intents = 0
    edges = 0
    kept = 0
    unchanged = 0


def load_while_checking(
    fh: IO[bytes],
    store: IntentStorage,
    *,
    name: str,
    directory: str | None,
    progress: Progress | None,
) -> tuple[Checked, LoadResult]:
    """Check ``fh`` in a child process while loading what it passes into ``store``
    (replacing what it holds); return what was checked and what was written.

    Raises:
        BackupError: the backup is refused (the line and the reason); the store is as it
            was.
        StorageError: the check could not finish (the child died, or failed to run);
            the store is as it was.
    """
    checker = _Checker(fh, name, directory, progress)
    try:
        try:
            result = store.bulk_load_json(
                checker.texts(b"I"),
                checker.texts(b"E"),
                replace=True,
                confirm=checker.verdict,  # the verdict covers the graph: no second check
                graph_checked=True,
            )
            report_written(progress, result)
        except (InvalidEdge, InvalidIntent) as exc:
            # A store that checks the graph itself (memory, JSON) may refuse before the
            # verdict: what the check says of the backup is the better reason.
            refusal = checker.refusal()
            if refusal is None:
                raise
            raise refusal from exc
        checker.finish()
    finally:
        checker.close()
    return checker.checked, result


class _Checker:
    """The parent's end: the child process and the frames it sends."""

    def __init__(
        self, fh: IO[bytes], name: str, directory: str | None, progress: Progress | None
    ) -> None:
        self.name = name
        self.progress = progress
        self.checked = Checked()
        self.pending: tuple[bytes, bytes] | None = None
        self.loaded = 0
        self.total: int | None = None
        self.totals: dict[str, int] = {}
        # A traceback if it crashes (a file: a pipe could fill up and stall it).
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        # The child's files (its staging file and the spool) live in a directory of ours,
        # removed whole at the end: a child killed half way cannot clean up after itself
        # (and if this process is killed, the next restore there removes it).
        try:
            self.folder = ScratchDir(directory, SCRATCH_PREFIX)
        except BaseException:
            self.errors.close()
            raise
        spool_path = str(self.folder.path / "spool")
        try:
            with open(spool_path, "xb"):  # empty, for the child to fill
                pass
            self.spool = open(spool_path, "rb")  # noqa: SIM115 - closed by close()
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _START, name, str(self.folder.path), spool_path],
                stdin=fh.fileno(),
                stdout=subprocess.PIPE,
                stderr=self.errors,
            )
        except BaseException:
            self.errors.close()
            self.folder.close()
            raise
        assert self.proc.stdout is not None
        self.ticks: IO[bytes] = self.proc.stdout

    def texts(self, kind: bytes) -> Iterator[str]:
        """Yield the checked texts of one kind (``I`` or ``E``), as the child sends them."""
        while True:
            frame, payload = self.next()
            if frame == kind:
                texts = payload.decode().split("\n")
                yield from texts
                self.loaded += len(texts)
                if self.progress:
                    self.progress("loading", self.loaded, self.total)
            elif frame == b"D" or (frame == b"E" and kind == b"I"):
                self.pending = frame, payload  # the next reader's
                return
            else:
                raise self.failure(frame, payload)

    def verdict(self) -> None:
        """Wait for the child's graph checks: return if the backup passed, else raise."""
        frame, payload = self.next()
        if frame == b"D":
            frame, payload = self.next()
        if frame != b"K":
            raise self.failure(frame, payload)
        checked = json.loads(payload)
        self.checked.sha256 = checked["sha256"]
        self.checked.intents, self.checked.edges = checked["intents"], checked["edges"]

    def next(self) -> tuple[bytes, bytes]:
        """The next frame that is not a progress report (those are passed on)."""
        if self.pending is not None:
            frame, self.pending = self.pending, None
            return frame
        while True:
            if not self.ticks.read(1):  # a frame is whole in the spool once it is ticked
                return b"", b""
            head = self.spool.read(_HEAD.size)
            kind, size = _HEAD.unpack(head)
            payload = self.spool.read(size)
            if kind != b"P":
                return kind, payload
            phase, done, total = json.loads(payload)
            if done == 0 and phase in ("intents", "edges"):  # the header's counts
                self.totals[phase] = total
                if len(self.totals) == 2:
                    self.total = sum(self.totals.values())
            if self.progress:
                self.progress(phase, done, total)

    def refusal(self) -> BackupError | None:
        """After the load failed: the child's refusal of the backup, if it refuses it."""
        while True:
            frame, payload = self.next()
            if frame == b"X":
                error = self.failure(frame, payload)
                assert isinstance(error, BackupError)
                return error
            if frame in (b"K", b"F", b""):
                return None

    def failure(self, frame: bytes, payload: bytes) -> Exception:
        if frame == b"X":
            line, reason = json.loads(payload)
            return BackupError(self.name, line, reason)
        if frame == b"F":
            return StorageError(f"{self.name}: the restore's check failed: {payload.decode()}")
        code = self.proc.wait()
        self.errors.seek(0)
        lines = self.errors.read().decode(errors="replace").strip().splitlines()
        said = f": {lines[-1]}" if lines else ""
        return StorageError(
            f"{self.name}: the restore's checking process ended early (exit code {code}){said}"
        )

    def finish(self) -> None:
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.ticks.close()
        self.spool.close()
        self.errors.close()
        self.folder.close()


def _child(name: str, directory: str, spool_path: str) -> int:
    """The child's end: check standard input, send the checked texts and the verdict."""
    # Ctrl-C reaches the whole process group: the parent decides, and ends this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from intentgraph.backup._restore import check_backup

    spool = open(spool_path, "wb")  # noqa: SIM115 - the process ends with it
    ticks = os.fdopen(1, "wb", buffering=0)

    def send(kind: bytes, payload: bytes) -> None:
        spool.write(_HEAD.pack(kind, len(payload)))
        spool.write(payload)
        spool.flush()  # whole in the file before the parent hears of it
        ticks.write(b".")

    def sink(kind: str, texts: list[str]) -> None:
        if kind == "end":
            send(b"D", b"")
        elif texts:
            send(b"I" if kind == "intents" else b"E", "\n".join(texts).encode())

    def progress(phase: str, done: int, total: int | None) -> None:
        send(b"P", json.dumps([phase, done, total]).encode())

    try:
        plan = check_backup(
            sys.stdin.buffer, name=name, progress=progress, directory=directory, sink=sink
        )
    except BackupError as exc:
        send(b"X", json.dumps([exc.line, exc.reason]).encode())
        return 0
    except Exception as exc:  # reported to the parent, which raises
        send(b"F", f"{type(exc).__name__}: {exc}".encode())
        return 0
    try:
        checked = {"sha256": plan.sha256, "intents": plan.intents, "edges": plan.edges}
        send(b"K", json.dumps(checked).encode())
    finally:
        plan.close()
    return 0


# The child's program: ``-m`` would run this module a second time beside the copy its
# package imports.
_START = f"import sys; from {__name__} import _child; sys.exit(_child(*sys.argv[1:]))"
