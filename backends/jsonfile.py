"""The JSON-file backend: a readable JSON document plus an append-only journal.

Rewriting the whole document on every write costs O(n), so each committed transaction is
appended to a journal beside the document instead (one checksummed JSON line, fdatasync'd):
a write costs O(1). The journal is folded into the document, atomically (temp file, fsync,
rename, fsync of the directory), on ``close()``, on ``compact()`` and when it grows larger
than the document. On open the document is loaded and the journal replayed; a torn last line
(a crash mid-append) is dropped, any other damage raises ``StoreCorrupted``: never guess.

One writing process at a time: an OS lock (``flock``) on ``<path>.lock``, which names its
holder. Everything lives in memory too (the ``MemoryStore`` index), so reads cost no I/O.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import stat
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pydantic
import pydantic_core

from intentgraph._base import as_edge, as_intent, kept, kept_edge
from intentgraph._codec import (
    SHARED_EDGE_FIELDS,
    SHARED_INTENT_FIELDS,
    edge_from_fields,
    edge_to_json,
    intent_from_fields,
    intent_to_json,
    plain_edge_from_fields,
    plain_edge_from_line,
    plain_edge_lines,
)
from intentgraph._record_text import intent_from_line
from intentgraph._transactions import Level, gc_paused
from intentgraph._url import ParsedURL, check_query, query_flag
from intentgraph.backends._json_layout import LayoutError, iter_document
from intentgraph.backends._memory_index import compact
from intentgraph.backends.memory import BulkState, MemoryStore, RedoOp, change_record
from intentgraph.errors import (
    InvalidIntent,
    InvalidURL,
    ReadOnlyStore,
    StorageError,
    StoreCorrupted,
    StoreLocked,
    StoreUnavailable,
)
from intentgraph.models import Edge, EdgeType, Intent
from intentgraph.results import IntegrityProblem

log = logging.getLogger("intentgraph")

FORMAT = "intentgraph-json"
FORMAT_VERSION = 2
READS = (1, 2)  # version 1 had no claims and no change feed: its intents read as unclaimed
MIN_FOLD_BYTES = 4 * 1024 * 1024  # below this the journal is never folded before close
_CHUNK = 2000  # records rendered at a time when the document is written
_PLAIN_EDGE_LINES = plain_edge_lines("    ", ",\n")  # the document's edge lines, as written


class JsonFileStore(MemoryStore):
    """A store kept in one pretty JSON document (plus its journal) on a local disk."""

    backend_name = "json"

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, url: str | None = None
    ) -> None:
        # Everything follows the real file: through a symlink, a second writer would
        # otherwise lock another lock file, and a fold would replace the link itself.
        self.path = Path(os.path.realpath(Path(path).expanduser()))
        super().__init__(url=url or f"json:///{self.path}", read_only=read_only)
        self.fork_safe = read_only  # a read-only store is a snapshot held in memory
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._doc_size = 0
        self._seq = 0
        self._check_path()
        created_lock = False
        try:
            if not read_only:
                created_lock = self._acquire_lock()
            self._load()
            if not read_only:
                self._remove_stale_temp_files()
                self._open_journal()
        except BaseException:
            self._release(unlink_lock=created_lock)
            raise

    @classmethod
    def from_url(cls, url: ParsedURL) -> JsonFileStore:
        """Open from ``json:///relative/path.json`` or ``json:////absolute/path.json``."""
        check_query(url, {"read_only"})
        return cls(url.file_path(), read_only=query_flag(url, "read_only"), url=url.redacted)

    def _check_path(self) -> None:
        if self.path.is_dir():
            raise InvalidURL(f"{self.path} is a directory; name a file such as store.json in it")
        if not self.path.parent.is_dir():
            raise StoreUnavailable(f"{self.path}: directory {self.path.parent} does not exist")
        with contextlib.suppress(FileNotFoundError):
            found = self.path.stat()
            if not stat.S_ISREG(found.st_mode):  # reading a pipe would wait for a writer
                raise InvalidURL(f"{self.path} is not a regular file (a pipe or a device)")
            links = found.st_nlink
            if links > 1:  # a fold replaces the file, which would split the links apart
                raise StorageError(f"{self.path} has {links} hard links; give it only one")

    # --- locking ----------------------------------------------------------------------

    def _acquire_lock(self) -> bool:
        """Take the write lock; return True when this call created the lock file."""
        new_file = os.O_RDWR | os.O_CREAT | os.O_EXCL
        while True:
            try:
                try:
                    fd = self._lock_fd = os.open(self.lock_path, new_file, 0o644)
                    created = True
                except FileExistsError:
                    fd = self._lock_fd = os.open(self.lock_path, os.O_RDWR)
                    created = False
            except FileNotFoundError:
                continue  # removed meanwhile by an opener that failed: make it anew
            except OSError as exc:
                why = f"cannot open lock file {self.lock_path}"
                raise _failure(exc, why, StoreUnavailable) from exc
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self._release()
                raise StoreUnavailable(f"{self.lock_path} is not a regular file")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_holder(fd)
                self._release()
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StoreLocked(str(self.path), holder) from exc
                raise _failure(exc, f"cannot lock {self.lock_path}", StoreUnavailable) from exc
            # An opener that failed may have removed the file we locked: only a lock on the
            # file the path names now excludes other writers.
            if _same_file(fd, self.lock_path):
                break
            self._release()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        info = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
        return created

    def _release(self, *, unlink_lock: bool = False) -> None:
        fd = self._journal_fd
        if fd is not None:
            self._journal_fd = None
            with quietly:
                os.close(fd)
        fd = self._lock_fd
        if fd is not None:
            if unlink_lock:  # still locked: nobody else can be using this file
                with quietly:
                    self.lock_path.unlink()
            self._lock_fd = None
            with quietly:
                os.close(fd)  # closing the descriptor releases the flock

    def _remove_stale_temp_files(self) -> None:
        """Remove temporary documents left by writers that died mid-fold (we hold the lock)."""
        prefix, suffix = f".{self.path.name}.", ".tmp"
        with quietly:
            for name in os.listdir(self.path.parent):
                middle = name[len(prefix) : -len(suffix)].removeprefix("journal.")
                if name.startswith(prefix) and name.endswith(suffix) and middle.isdigit():
                    with quietly:
                        os.unlink(self.path.parent / name)

    # --- loading ----------------------------------------------------------------------

    def _load(self) -> None:
        # A read-only opener holds no lock, so the writer may fold meanwhile. A fold writes
        # the new document, then puts a new, empty journal in place of the old one (never
        # truncating it), so reading the journal first and the document second always gives
        # a document at least as new as the journal's start: never a gap, never a mix.
        journal = self._read_journal()
        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed below, after the fallback
        except FileNotFoundError:
            if self._read_only:
                raise StoreUnavailable(f"{self.path} does not exist") from None
            self._write_document()  # a new store exists as soon as it is opened
            fh = open(self.path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise _failure(exc, f"cannot read {self.path}", StoreUnavailable) from exc
        with fh:
            self._doc_size = os.fstat(fh.fileno()).st_size
            self._maintaining = False  # filled in bulk, then every maintained value at once
            with gc_paused(self._doc_size // 100):  # until the index is built: no full scans
                self._load_from(fh)
                self._replay_journal(journal)
                problems = self.graph_problems(dependency_cycles=False)  # cycles() has those
                if problems:
                    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                    raise StoreCorrupted(f"{self.path}: {problems[0]}{more}")
                self._rebuild_index()

    def _load_from(self, fh: BinaryIO) -> None:
        """Read the document: a block of lines at a time when laid out as written (about a
        megabyte of its text in memory at a time), else whole."""
        try:
            try:
                self._read_records(
                    iter_document(fh, plain_edge_from_line, intent_from_line, _PLAIN_EDGE_LINES)
                )
                return
            except LayoutError:
                self._intents.clear()
                for adjacency in (self._out, self._in):
                    for by_node in adjacency.values():
                        by_node.clear()
            fh.seek(0)
            raw = fh.read()
        except StorageError:
            raise  # what the records say (StoreCorrupted) is no failure to read the file
        except OSError as exc:
            raise _failure(exc, f"cannot read {self.path}", StoreUnavailable) from exc
        try:
            parsed = pydantic_core.from_json(raw)
        except ValueError as exc:
            raise StoreCorrupted(self._why_unreadable(_head(raw), exc)) from exc
        del raw  # gone before the records are read: a lower peak
        if not isinstance(parsed, dict) or not all(
            isinstance(parsed.get(kind), list) for kind in ("intents", "edges")
        ):
            why = ValueError('"intents" and "edges" must each be a list of records')
            raise StoreCorrupted(self._why_unreadable(parsed, why))
        self._read_records(_records_of(parsed))

    def _read_journal(self) -> bytes:
        try:
            # Non-blocking: a pipe in the journal's place is refused, not waited on.
            fd = os.open(self.journal_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise _failure(exc, f"cannot read {self.journal_path}", StoreUnavailable) from exc
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoreCorrupted(f"{self.journal_path} is not a regular file")
            try:
                return fh.read()
            except OSError as exc:
                raise _failure(exc, f"cannot read {self.journal_path}", StoreUnavailable) from exc

    def _read_records(self, records: Iterator[tuple[str, Any]]) -> None:
        # The records are checked one by one on the fast path a store's own reads take
        # (``as_intent``: every value, once), not by a model of the whole document, which
        # would validate every field of every record twice over.
        intents = self._intents
        load_edge = self._load_edge
        ids: dict[str, str] = {}  # each intent's id string, so edges share it (not a copy)
        edges_read = 0
        for kind, fields in records:
            if kind == "plain_edge":  # most edges: read from their text, kept compact
                edges_read += len(fields)
                for source, target, etype, created in fields:
                    source, target = ids.get(source, source), ids.get(target, target)
                    if not load_edge(source, target, etype, created):
                        key = (source, target, etype)
                        raise StoreCorrupted(f"{self.path}: edge {key} appears twice")
                continue
            if kind == "intents":  # a record the fast path leaves: read the general way
                try:
                    fields = [_stored_intent(fields)]
                except InvalidIntent as exc:
                    raise self._unreadable("intent", len(intents) + 1, exc) from exc
                kind = "intent"
            if kind == "intent":  # most intents: read and checked from their text
                for intent in fields:
                    if intent.id in intents:
                        raise StoreCorrupted(f"{self.path}: intent {intent.id!r} appears twice")
                    intents[intent.id] = intent
                    ids[intent.id] = intent.id
                continue
            if kind == "frame":
                self._read_frame(fields)
                continue
            edges_read += 1
            # Most edges: no Edge built, kept compact.
            plain = plain_edge_from_fields(fields, intents)
            if plain is None:
                try:
                    edge = _stored_edge(fields)
                except InvalidIntent as exc:
                    raise self._unreadable("edge", edges_read, exc) from exc
                source, target, etype = edge.key
                added = self._load_edge(source, target, etype, compact(edge))
            else:
                source, target, etype, created = plain
                added = self._load_edge(source, target, etype, created)
            if not added:
                raise StoreCorrupted(f"{self.path}: edge {(source, target, etype)} appears twice")

    def _read_frame(self, frame: Any) -> None:
        try:
            checked = _Frame.model_validate(frame)
        except pydantic.ValidationError as exc:
            raise StoreCorrupted(self._why_unreadable(frame, exc)) from exc
        if checked.format != FORMAT or checked.version not in READS:
            raise StoreCorrupted(self._why_unreadable(frame, None))
        self._seq = checked.seq
        self._change_seq = checked.changes

    def _unreadable(self, what: str, number: int, exc: InvalidIntent) -> StoreCorrupted:
        return StoreCorrupted(f"{self.path}: {what} {number} cannot be read: {exc}")

    def _why_unreadable(self, head: Any, exc: Exception | None) -> str:
        """Say why a document cannot be read, from its frame (``_NOT_JSON``: not JSON)."""
        if head is _NOT_JSON:
            return f"{self.path} is not valid JSON"
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            return f"{self.path} is not an intentgraph JSON store"
        if head.get("version") not in READS:
            return (
                f"{self.path} has format version {head.get('version')!r}; "
                f"this intentgraph reads versions {', '.join(map(str, READS))}"
            )
        return f"{self.path} cannot be read as a store: {str(exc)[:500]}"

    def _replay_journal(self, data: bytes) -> None:
        # Only a final line without its newline can be torn by a crash (each record is
        # one write ending in a newline); a whole line that fails its checksum was
        # acknowledged once, so it is damage, never guessed away. Sequence numbers go up by
        # one from line to line; lines the document already holds (a fold cut short before
        # it emptied the journal) are skipped, and nothing else ever is.
        good = 0  # bytes of whole, valid lines
        expected: int | None = None
        lines = data.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):
            record = _decode_line(line)
            if record is None:
                raise StoreCorrupted(f"{self.journal_path}: line {number} is damaged")
            seq = record["seq"]
            if expected is None and seq > self._seq + 1:
                raise StoreCorrupted(
                    f"{self.journal_path}: line {number} has seq {seq} but the document ends "
                    f"at seq {self._seq}: the lines between are missing"
                )
            if expected is not None and seq != expected:
                raise StoreCorrupted(
                    f"{self.journal_path}: line {number} has seq {seq}, expected {expected}"
                )
            expected = seq + 1
            if seq > self._seq:
                self._apply(record["ops"])
                self._seq = seq
            good += len(line) + 1
        if good != len(data) and not self._read_only:
            log.warning("intentgraph: dropping a torn last line from %s", self.journal_path)
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())

    def _apply(self, ops: builtins.list[dict[str, Any]]) -> None:
        """Apply one journal record; its operations extend the change feed, in order."""
        try:
            for op in ops:
                kind = op["op"]
                redo: RedoOp
                if kind == "put":
                    intent = _stored_intent(op["intent"])
                    existed = intent.id in self._intents
                    self._intents[intent.id] = intent
                    redo = ("put", intent)
                elif kind == "del":
                    existed = self._intents.pop(op["id"], None) is not None
                    redo = ("del", op["id"])
                elif kind == "edge":
                    edge = _stored_edge(op["edge"])
                    existed = False
                    self._restore_edge(edge.key, edge)
                    redo = ("edge", edge)
                elif kind == "unedge":
                    key = (op["source"], op["target"], EdgeType(op["type"]))
                    existed = False
                    self._restore_edge(key, None)
                    redo = ("unedge", key)
                else:
                    raise ValueError(f"unknown operation {kind!r}")
                self._change_seq += 1
                self._recent.append(change_record(self._change_seq, redo, existed=existed))
        except (ValueError, KeyError, TypeError, InvalidIntent) as exc:
            raise StoreCorrupted(f"{self.journal_path}: bad record: {exc}") from exc

    # --- writing ----------------------------------------------------------------------

    def _open_journal(self) -> None:
        existed = self.journal_path.exists()
        try:
            self._journal_fd = os.open(
                self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
        except OSError as exc:
            raise _failure(exc, f"cannot open {self.journal_path}", StoreUnavailable) from exc
        if not existed:
            _fsync_dir(self.path.parent)

    def _persist(self, level: Level) -> None:
        if not self._redo:  # nothing was written
            self._undo, level.committed = [], True
            return
        mark = self._stage_changes()
        seq = self._seq + 1
        ops_json = ",".join(_encode_op(op) for op in self._redo)
        payload = f'{{"seq":{seq},"ops":[{ops_json}]}}'.encode()
        line = b"%08x %s\n" % (zlib.crc32(payload), payload)
        try:
            fd = self._journal()
            # Where the line starts, read from the file itself: a rollback cuts it off here,
            # so an interrupted write never leaves a line (or a sequence number) behind.
            level.disk_mark = os.fstat(fd).st_size
            _write_all(fd, line)
            os.fdatasync(fd)
        except OSError as exc:
            raise _failure(exc, f"cannot write {self.journal_path}") from exc
        # The commit point: one statement.
        self._seq, self._undo, self._redo, self._change_seq, level.committed = (
            seq,
            [],
            [],
            mark,
            True,
        )
        if level.disk_mark + len(line) > max(MIN_FOLD_BYTES, self._doc_size):
            try:
                self._fold()
            except StorageError as exc:  # the write itself is already durable
                log.warning("intentgraph: could not fold the journal: %s", exc)

    def _tx_rollback(self, level: Level) -> None:
        super()._tx_rollback(level)
        start = level.disk_mark
        if start is not None:
            fd = self._journal_fd
            try:
                if fd is not None and os.fstat(fd).st_size > start:
                    os.ftruncate(fd, start)
                    os.fsync(fd)
            except OSError as exc:
                raise _failure(
                    exc,
                    f"cannot undo an interrupted write in {self.journal_path} (the store "
                    "refuses further use until it is reopened)",
                ) from exc
            level.disk_mark = None

    def local_files(self) -> builtins.list[str]:
        return [str(self.path), str(self.journal_path), str(self.lock_path)]

    def compact(self) -> None:
        """Fold the journal into the document now."""
        self._check_open()
        if self._read_only:
            raise ReadOnlyStore(f"{self._url} is open read-only")
        with self._lock:
            self._require_no_transaction("compact")
            self._fold()

    def _fold(self) -> None:
        """Write the document, then put a new, empty journal in place of the old one.

        Cut short anywhere, this leaves a document whose seq covers every line of the journal
        beside it (replay skips those), and the next commit finds its way back to the journal
        file (``_journal``).
        """
        self._write_document()
        tmp = self.path.with_name(f".{self.journal_path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
            try:
                os.fsync(fd)
                os.replace(tmp, self.journal_path)
                _fsync_dir(self.path.parent)
            except BaseException:
                os.close(fd)
                raise
        except OSError as exc:
            with quietly:
                tmp.unlink()
            raise _failure(exc, f"cannot start a new {self.journal_path}") from exc
        old, self._journal_fd = self._journal_fd, fd
        if old is not None:
            with quietly:
                os.close(old)

    def _journal(self) -> int:
        """Return a descriptor of the file the journal path names now: after a fold cut short,
        the one this store holds may be the old journal, which nobody reads any more."""
        fd = self._journal_fd
        if fd is not None and _same_file(fd, self.journal_path):
            return fd
        self._journal_fd = None
        if fd is not None:
            with quietly:
                os.close(fd)
        self._open_journal()
        assert self._journal_fd is not None
        return self._journal_fd

    def _write_document(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        size = 0
        try:
            with open(tmp, "wb") as fh:
                for chunk in self._render():
                    fh.write(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            with quietly:
                tmp.unlink()
            raise _failure(exc, f"cannot write {self.path}") from exc
        self._doc_size = size

    def _render(self) -> Iterator[bytes]:
        """The document in chunks of records (never all of it in memory at once), laid out
        as ``_json_layout`` reads it: one record per line, written by pydantic-core's
        encoder (json.dumps with indent falls back to a pure-Python encoder: 10x slower)."""
        yield (
            f'{{\n  "format": "{FORMAT}",\n  "version": {FORMAT_VERSION},\n'
            f'  "seq": {self._seq},\n  "changes": {self._change_seq},\n  "intents": ['
        ).encode()
        intents = self._intents
        ids = sorted(intents)
        for start in range(0, len(ids), _CHUNK):
            lines = (intent_to_json(intents[i]) for i in ids[start : start + _CHUNK])
            yield (("," if start else "") + ",".join(f"\n    {t}" for t in lines)).encode()
        yield (b"\n  ]" if ids else b"]") + b',\n  "edges": ['
        del ids
        keys = sorted(
            (source, target, etype)
            for etype, by_source in self._out.items()
            for source, ends in by_source.items()
            for target in ends
        )
        for start in range(0, len(keys), _CHUNK):
            lines = (edge_to_json(self._edge_at(*key)) for key in keys[start : start + _CHUNK])
            yield (("," if start else "") + ",".join(f"\n    {t}" for t in lines)).encode()
        yield (b"\n  ]" if keys else b"]") + b"\n}\n"

    def _close(self) -> None:
        try:
            fd = self._journal_fd
            if fd is not None and os.fstat(fd).st_size > 0:
                self._fold()
        except (StorageError, OSError) as exc:
            if _from_signal_handler(exc):
                raise
            log.warning("intentgraph: journal kept unfolded at close: %s", exc)
        finally:
            self._release()

    def _close_forked(self) -> None:
        self._release()  # the parent keeps its own descriptors, and with them the lock

    def _health_details(self) -> dict[str, Any]:
        journal = 0
        with quietly:
            journal = self.journal_path.stat().st_size
        return {
            "path": str(self.path),
            "journal_bytes": journal,
            "document_bytes": self._doc_size,
            "read_only": self._read_only,
        }

    # --- whole-store operations: bulk load, integrity ---------------------------------

    def _install_bulk_state(self, state: BulkState) -> None:
        """Write the new state as the document (not one giant journal line), then swap it in.

        The new state goes into memory first and ``_fold`` writes it: the document (temp
        file, fsync, rename: the commit point on disk) and a new, empty journal (the old
        journal's lines are all at or below the document's ``seq``, so a reader skips them
        anyway). If anything stops it before the rename, the old state comes back; after
        the rename, the new state stays, as on disk.
        """
        old = self._bulk_fields()
        before = _inode(self.path)
        try:
            super()._install_bulk_state(state)
            self._fold()
        except BaseException:
            if _inode(self.path) == before:  # the document was not replaced: undo
                self.__dict__.update(old)
            raise

    def check_integrity(self) -> builtins.list[IntegrityProblem]:
        """The memory checks, and every line of the journal against its checksum."""
        problems = super().check_integrity()
        with self._lock:
            data = self._read_journal()
        lines = data.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):
            if _decode_line(line) is None:
                problems.append(
                    IntegrityProblem(
                        kind="journal",
                        message=f"{self.journal_path}: line {number} fails its checksum",
                    )
                )
        return problems


def _from_signal_handler(exc: BaseException) -> bool:
    """Return True for an ``OSError`` that came from neither the OS nor intentgraph: what a
    signal handler raised (``TimeoutError`` is an ``OSError``), which must go on unchanged."""
    return isinstance(exc, OSError) and exc.errno is None and not isinstance(exc, StorageError)


def _failure(exc: OSError, message: str, kind: type[StorageError] = StorageError) -> StorageError:
    """Return the error to raise for a failed file operation (see ``_from_signal_handler``)."""
    if _from_signal_handler(exc):
        raise exc
    return kind(f"{message}: {exc}")


class _Quietly:
    """``quietly`` for errors from the OS only (see ``_failure``)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, OSError) and exc.errno is not None


quietly = _Quietly()


def _encode_op(op: RedoOp) -> str:
    kind, value = op
    if kind == "put":
        return f'{{"op":"put","intent":{intent_to_json(value)}}}'
    if kind == "edge":
        return f'{{"op":"edge","edge":{edge_to_json(value)}}}'
    if kind == "del":
        return json.dumps({"op": "del", "id": value}, ensure_ascii=False)
    source, target, etype = value
    return json.dumps(
        {"op": "unedge", "source": source, "target": target, "type": etype.value},
        ensure_ascii=False,
    )


class _Frame(pydantic.BaseModel):
    """The JSON document's keys other than its records."""

    model_config = pydantic.ConfigDict(extra="forbid")

    format: str
    version: int
    seq: int = pydantic.Field(ge=0)
    changes: int = pydantic.Field(default=0, ge=0)


_NOT_JSON = object()


def _head(raw: bytes) -> Any:
    """The document's top-level object, parsed leniently to say what is wrong with it."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _records_of(parsed: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The events ``iter_document`` yields, from a document parsed whole (its records in
    lists); each record is dropped from its list as it is handed on."""
    sections = {kind: parsed.pop(kind) for kind in ("intents", "edges")}
    yield "frame", parsed
    for kind, records in sections.items():
        for index, record in enumerate(records):
            records[index] = None
            yield kind, record


def _stored_intent(fields: Any) -> Intent:
    """Read an intent record of the document or the journal: every value checked once."""
    if not isinstance(fields, dict):
        raise InvalidIntent("intent", [{"loc": (), "msg": "a record must be a JSON object"}])
    try:
        intent = intent_from_fields(fields, fields_set=SHARED_INTENT_FIELDS)
    except (ValueError, KeyError, TypeError, AttributeError):
        return kept(Intent.model_validate(fields))  # names what is wrong, or converts it
    return kept(as_intent(intent, text_checked=True))  # parsed by pydantic_core: no surrogates


def _stored_edge(fields: Any) -> Edge:
    """Read an edge record of the document or the journal: every value checked once."""
    if not isinstance(fields, dict):
        raise InvalidIntent("edge", [{"loc": (), "msg": "a record must be a JSON object"}])
    try:
        edge = edge_from_fields(fields, fields_set=SHARED_EDGE_FIELDS)
    except (ValueError, KeyError, TypeError, AttributeError):
        return kept_edge(Edge.model_validate(fields))
    return kept_edge(as_edge(edge))


def _decode_line(line: bytes) -> dict[str, Any] | None:
    """Return a journal record, or None when the line is torn or fails its checksum."""
    crc, _, payload = line.partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(payload):
            return None
        record = pydantic_core.from_json(payload)  # refuses lone surrogates, as the document
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    seq = record.get("seq")
    if type(seq) is not int or seq < 1 or not isinstance(record.get("ops"), list):
        return None
    return record


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _read_holder(fd: int) -> str:
    text = ""
    with quietly:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text or "another process"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None
