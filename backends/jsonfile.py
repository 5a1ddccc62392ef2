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
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic

from intentgraph._base import gc_paused
from intentgraph.backends.memory import MemoryStore, RedoOp
from intentgraph.errors import (
    InvalidIntent,
    StorageError,
    StoreCorrupted,
    StoreLocked,
    StoreUnavailable,
)
from intentgraph.models import Edge, EdgeType, Intent

log = logging.getLogger("intentgraph")

FORMAT = "intentgraph-json"
FORMAT_VERSION = 1
MIN_FOLD_BYTES = 4 * 1024 * 1024  # below this the journal is never folded before close
READ_ATTEMPTS = 5


class JsonFileStore(MemoryStore):
    """A store kept in one pretty JSON document (plus its journal) on a local disk."""

    backend_name = "json"

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, url: str | None = None
    ) -> None:
        self.path = Path(path).absolute()
        super().__init__(url=url or f"json:///{self.path}", read_only=read_only)
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._journal_size = 0
        self._doc_size = 0
        self._seq = 0
        if not self.path.parent.is_dir():
            raise StoreUnavailable(f"{self.path}: directory {self.path.parent} does not exist")
        try:
            if not read_only:
                self._acquire_lock()
            self._load()
            if not read_only:
                self._open_journal()
        except BaseException:
            self._release()
            raise

    @classmethod
    def from_url(cls, url: Any) -> JsonFileStore:
        """Open from ``json:///relative/path.json`` or ``json:////absolute/path.json``."""
        from intentgraph.factory import check_query, query_flag

        check_query(url, {"read_only"})
        return cls(url.file_path(), read_only=query_flag(url, "read_only"), url=url.redacted)

    # --- locking ----------------------------------------------------------------------

    def _acquire_lock(self) -> None:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreUnavailable(f"cannot open lock file {self.lock_path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StoreLocked(str(self.path), holder) from exc
            raise StoreUnavailable(f"cannot lock {self.lock_path}: {exc}") from exc
        self._lock_fd = fd
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        info = f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)

    def _release(self) -> None:
        for attr in ("_journal_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)  # closing the descriptor releases the flock
                setattr(self, attr, None)

    # --- loading ----------------------------------------------------------------------

    def _load(self) -> None:
        # A read-only opener holds no lock, so the writer may fold (replace the document,
        # then empty the journal) while it reads: if the document changed under it, the
        # journal it read may be missing lines, so read both again.
        for _ in range(READ_ATTEMPTS):
            before = self._doc_identity()
            self._load_once()
            if not self._read_only or self._doc_identity() == before:
                return
            self._intents.clear()
            self._out.clear()
            self._in.clear()
        raise StoreUnavailable(f"{self.path} kept changing while it was read; try again")

    def _doc_identity(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load_once(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            if self._read_only:
                raise StoreUnavailable(f"{self.path} does not exist") from None
            self._write_document()  # a new store exists as soon as it is opened
            raw = self.path.read_bytes()
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from exc
        self._doc_size = len(raw)
        with gc_paused(len(raw) // 100):
            self._load_document(raw)
            self._replay_journal()

    def _load_document(self, raw: bytes) -> None:
        try:
            doc = _Document.model_validate_json(raw)
        except pydantic.ValidationError as exc:
            raise StoreCorrupted(self._why_unreadable(raw, exc)) from exc
        if doc.format != FORMAT or doc.version != FORMAT_VERSION:
            raise StoreCorrupted(self._why_unreadable(raw, None))
        self._seq = doc.seq
        for intent in doc.intents:
            self._intents[intent.id] = intent
        for edge in doc.edges:
            for end in (edge.source, edge.target):
                if end not in self._intents:
                    raise StoreCorrupted(f"{self.path}: an edge names missing intent {end!r}")
            self._restore_edge(edge.key, edge)

    def _why_unreadable(self, raw: bytes, exc: Exception | None) -> str:
        try:
            head = json.loads(raw)
        except ValueError:
            return f"{self.path} is not valid JSON"
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            return f"{self.path} is not an intentgraph JSON store"
        if head.get("version") != FORMAT_VERSION:
            return (
                f"{self.path} has format version {head.get('version')!r}; "
                f"this intentgraph reads version {FORMAT_VERSION}"
            )
        return f"{self.path} cannot be read as a store: {str(exc)[:500]}"

    def _replay_journal(self) -> None:
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {self.journal_path}: {exc}") from exc
        # Only a final line without its newline can be torn by a crash (each record is
        # one write() ending in a newline); a whole line that fails its checksum was
        # acknowledged once, so it is damage, never guessed away.
        good = 0  # bytes of whole, valid lines
        lines = data.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):
            record = _decode_line(line)
            if record is None:
                raise StoreCorrupted(f"{self.journal_path}: line {number} is damaged")
            seq = record["seq"]
            if seq > self._seq:
                if seq != self._seq + 1:
                    raise StoreCorrupted(
                        f"{self.journal_path}: line {number} has seq {seq}, "
                        f"expected {self._seq + 1}"
                    )
                self._apply(record["ops"])
                self._seq = seq
            good += len(line) + 1
        if good != len(data) and not self._read_only:
            log.warning("intentgraph: dropping a torn last line from %s", self.journal_path)
            with open(self.journal_path, "r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())
        self._journal_size = good

    def _apply(self, ops: builtins.list[dict[str, Any]]) -> None:
        try:
            for op in ops:
                kind = op["op"]
                if kind == "put":
                    intent = Intent.model_validate(op["intent"])
                    self._intents[intent.id] = intent
                elif kind == "del":
                    self._intents.pop(op["id"], None)
                elif kind == "edge":
                    edge = Edge.model_validate(op["edge"])
                    if edge.source not in self._intents or edge.target not in self._intents:
                        raise ValueError(f"edge {edge.key} names a missing intent")
                    self._restore_edge(edge.key, edge)
                elif kind == "unedge":
                    key = (op["source"], op["target"], EdgeType(op["type"]))
                    self._restore_edge(key, None)
                else:
                    raise ValueError(f"unknown operation {kind!r}")
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
            raise StoreUnavailable(f"cannot open {self.journal_path}: {exc}") from exc
        if not existed:
            _fsync_dir(self.path.parent)

    def _commit(self, ops: builtins.list[RedoOp]) -> None:
        assert self._journal_fd is not None
        ops_json = ",".join(_encode_op(op) for op in ops)
        payload = f'{{"seq":{self._seq + 1},"ops":[{ops_json}]}}'.encode()
        line = b"%08x %s\n" % (zlib.crc32(payload), payload)
        try:
            written = os.write(self._journal_fd, line)
            if written != len(line):
                raise OSError(errno.EIO, f"short write ({written} of {len(line)} bytes)")
            os.fdatasync(self._journal_fd)
        except OSError as exc:
            # Cut off whatever part of the line reached the file, so it stays as it was.
            # A torn final line would also be dropped on the next open.
            with contextlib.suppress(OSError):
                os.ftruncate(self._journal_fd, self._journal_size)
            raise StorageError(f"cannot write {self.journal_path}: {exc}") from exc
        self._seq += 1
        self._journal_size += len(line)
        if self._journal_size > max(MIN_FOLD_BYTES, self._doc_size):
            try:
                self._fold()
            except StorageError as exc:  # the write itself is already durable
                log.warning("intentgraph: could not fold the journal: %s", exc)

    def compact(self) -> None:
        """Fold the journal into the document now."""
        self._check_open()
        with self._write():
            self._fold()

    def _fold(self) -> None:
        self._write_document()
        assert self._journal_fd is not None
        os.ftruncate(self._journal_fd, 0)
        os.fsync(self._journal_fd)
        self._journal_size = 0

    def _write_document(self) -> None:
        body = self._render()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StorageError(f"cannot write {self.path}: {exc}") from exc
        self._doc_size = len(body)

    def _render(self) -> bytes:
        # One record per line: readable, diffable, and written by pydantic's fast encoder
        # (json.dumps with indent falls back to a pure-Python encoder: 10x slower).
        intents = [self._intents[i].model_dump_json() for i in sorted(self._intents)]
        edges = sorted((e for m in self._out.values() for e in m.values()), key=lambda e: e.key)
        parts = [
            "{\n",
            f'  "format": "{FORMAT}",\n  "version": {FORMAT_VERSION},\n  "seq": {self._seq},\n',
            '  "intents": [',
            ",".join(f"\n    {line}" for line in intents),
            "\n  ]" if intents else "]",
            ',\n  "edges": [',
            ",".join(f"\n    {e.model_dump_json()}" for e in edges),
            "\n  ]" if edges else "]",
            "\n}\n",
        ]
        return "".join(parts).encode()

    def close(self) -> None:
        if self._closed:
            return
        with self._lock:
            try:
                if not self._read_only and self._journal_size > 0:
                    self._fold()
            except (StorageError, OSError) as exc:
                log.warning("intentgraph: journal kept unfolded at close: %s", exc)
            finally:
                self._release()
                self._closed = True

    def _health_details(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "journal_bytes": self._journal_size,
            "document_bytes": self._doc_size,
            "read_only": self._read_only,
        }


def _encode_op(op: RedoOp) -> str:
    kind, value = op
    if kind == "put":
        return f'{{"op":"put","intent":{value.model_dump_json()}}}'
    if kind == "edge":
        return f'{{"op":"edge","edge":{value.model_dump_json()}}}'
    if kind == "del":
        return json.dumps({"op": "del", "id": value}, ensure_ascii=False)
    source, target, etype = value
    return json.dumps(
        {"op": "unedge", "source": source, "target": target, "type": etype.value},
        ensure_ascii=False,
    )


class _Document(pydantic.BaseModel):
    """The JSON document, validated in one pass by pydantic's parser."""

    model_config = pydantic.ConfigDict(extra="forbid")

    format: str
    version: int
    seq: int = pydantic.Field(ge=0)
    intents: list[Intent]
    edges: list[Edge]


def _decode_line(line: bytes) -> dict[str, Any] | None:
    """Return a journal record, or None when the line is torn or fails its checksum."""
    crc, _, payload = line.partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(payload):
            return None
        record = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
        return None
    return record


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
