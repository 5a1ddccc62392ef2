"""Restoring a backup: check all of it first, then apply it in one atomic ``bulk_load``.

Pass 1 (``check_backup``) reads the backup once: the header, every record (fully
validated, ids and edge keys strictly increasing, so a repeat is found without keeping
them), the counts and the SHA-256 in the trailer; in ``merge`` mode it walks the store's
snapshot beside it (both sorted by id) and applies the merge rule. Each record's checked
form goes into a ``Skeleton`` on disk, where the graph invariants of the *result* are then
checked in bounded memory. Pass 2 (``apply``) streams the staged records into
``store.bulk_load``: what is written is exactly what was checked, even from a pipe. A big
backup runs both passes at once, the check in a second process (``_overlap.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from intentgraph._codec import edge_to_json, intent_to_json
from intentgraph._integrity import Skeleton
from intentgraph._scratch import ScratchDir, sweep
from intentgraph._targets import refuse_store_files, store_files
from intentgraph._transactions import gc_paused
from intentgraph.backup._format import (
    FORMAT,
    READ_ERRORS,
    READS,
    open_backup,
    read_edge,
    read_failure,
    read_intent,
    read_plain_edge_line,
)
from intentgraph.backup._overlap import (
    SCRATCH_PREFIX,
    Checked,
    can_overlap,
    load_while_checking,
    worth_overlapping,
)
from intentgraph.backup._writer import Progress, report_written, write_backup
from intentgraph.errors import BackupError, InvalidIntent, InvalidURL
from intentgraph.models import Edge, Intent
from intentgraph.protocol import IntentStorage

__all__ = ["Mode", "RestorePlan", "RestoreSummary", "check_backup", "copy_store", "restore"]

Mode = Literal["replace", "merge"]
_STAGE = 2000


class RestoreSummary(BaseModel):
    """What ``restore`` (or ``copy_store``) checked and wrote."""

    model_config = ConfigDict(frozen=True)

    file: str
    mode: Mode
    dry_run: bool
    intents: int = Field(description="Intents in the backup.")
    edges: int = Field(description="Edges in the backup.")
    written_intents: int = Field(description="Intents written (would be, with dry_run).")
    written_edges: int = Field(description="Edges written (would be, with dry_run).")
    kept_intents: int = Field(
        default=0, description="merge: stored intents kept because they are newer."
    )
    unchanged: int = Field(default=0, description="merge: records equal on both sides.")
    removed_intents: int = Field(default=0, description="replace: stored intents removed.")
    removed_edges: int = Field(default=0, description="replace: stored edges removed.")
    sha256: str
    seconds: float = 0.0


@dataclass
class RestorePlan:
    """The outcome of pass 1: the checked records, staged, and what applying them does."""

    name: str
    mode: Mode
    header: dict[str, Any]
    skeleton: Skeleton
    sha256: str = ""
    intents: int = 0
    edges: int = 0
    kept: int = 0
    unchanged: int = 0
    expected_changes: int | None = None
    store_intents: int = 0
    store_edges: int = 0
    findings: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.skeleton.close()


class _Store:
    """The store's records, walked in key order beside the backup's (merge mode)."""

    def __init__(self, batches: Iterator[list[Any]]) -> None:
        self._batches = batches
        self._batch: list[Any] = []
        self._at = 0
        self.count = 0

    def peek(self) -> Any:
        if self._at >= len(self._batch):
            self._batch = next(self._batches, [])
            self._at = 0
            if not self._batch:
                return None
        return self._batch[self._at]

    def take(self) -> Any:
        item = self.peek()
        self._at += 1
        self.count += 1
        return item


def check_backup(
    source: IO[bytes],
    *,
    name: str = "backup",
    store: IntentStorage | None = None,
    mode: Mode = "replace",
    progress: Progress | None = None,
    directory: str | None = None,
    sink: Callable[[str, list[str]], None] | None = None,
) -> RestorePlan:
    """Check a whole backup (pass 1) and stage its records; return the plan to apply.

    ``store`` is needed for ``merge`` (the result is the store and the backup together).
    The caller closes the plan (it holds a temporary file). ``sink``, if given, receives
    each batch of checked texts to write as it is checked (``"intents"`` or ``"edges"``,
    the texts), then ``("end", [])`` before the graph checks, and the plan keeps only what
    those checks need: the verdict is still the return (or the ``BackupError``) at the end.

    Raises:
        BackupError: anything wrong, with the line and the reason.
    """
    if mode not in ("replace", "merge"):
        raise InvalidURL(f"mode must be 'replace' or 'merge', not {mode!r}")
    skeleton = Skeleton(directory)
    plan = RestorePlan(name=name, mode=mode, header={}, skeleton=skeleton)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(gc_paused())
            view = None
            if mode == "merge":
                if store is None:
                    raise ValueError("merge needs the store to merge into")
                view = stack.enter_context(store.snapshot(batch_size=_STAGE))
                plan.expected_changes = view.changes
            _Pass(plan, source, view, progress, sink).run()
        _check_graph(plan, progress)
    except BaseException:
        plan.close()
        raise
    return plan


class _Pass:
    """Pass 1 over the lines of a backup."""

    def __init__(
        self,
        plan: RestorePlan,
        source: IO[bytes],
        view: Any,
        progress: Progress | None,
        sink: Callable[[str, list[str]], None] | None,
    ) -> None:
        self.plan = plan
        self.sink = sink
        self.name = plan.name
        self.view = view
        self.progress = progress
        self.stored_intents = _Store(view.intents()) if view is not None else None
        self.stored_edges: _Store | None = None
        self.reader = open_backup(source)
        self.line = 0
        self.sha = hashlib.sha256()
        self.nodes: list[tuple[str, int | None, int, str | None]] = []
        self.links: list[tuple[str, str, str, int | None, int, str | None]] = []
        self.texts: dict[str, list[str]] = {"intents": [], "edges": []}  # for the sink
        self.total = (0, 0)

    def fail(self, reason: str, line: int | None = -1) -> BackupError:
        return BackupError(self.name, self.line if line == -1 else line, reason)

    def lines(self) -> Iterator[bytes]:
        reader = self.reader
        while True:
            try:
                raw = reader.readline()
            except READ_ERRORS as exc:
                raise read_failure(self.name, self.line + 1, exc) from exc
            if not raw:
                return
            self.line += 1
            yield raw

    def record(self, raw: bytes) -> tuple[str, Any]:
        try:
            # Values are mostly unique (names, ids, times): caching them costs more than it saves.
            obj = pydantic_core.from_json(raw, cache_strings="keys")
        except ValueError as exc:
            raise self.fail(f"not valid JSON ({str(exc)[:200]})") from None
        if type(obj) is not dict or len(obj) != 1:
            raise self.fail("a record is a JSON object with exactly one key")
        ((kind, payload),) = obj.items()
        return kind, payload

    def run(self) -> None:
        lines = self.lines()
        first = next(lines, None)
        if first is None:
            raise self.fail("the file is empty: not an intentgraph backup", None)
        self.header(first)
        section = "intent"
        last_id: str | None = None
        last_key: tuple[str, str, str] | None = None
        counts = {"intent": 0, "edge": 0}
        for raw in lines:
            plain = read_plain_edge_line(raw)
            kind, payload = ("edge", None) if plain is not None else self.record(raw)
            if kind == "trailer":
                self.trailer(payload, counts)
                for extra in lines:
                    if extra.strip():
                        raise self.fail("there is data after the trailer")
                self.flush()
                if self.sink is not None:
                    self.sink("end", [])  # every text handed over; the graph checks follow
                return
            self.sha.update(raw)
            if kind == "intent":
                if section != "intent":
                    raise self.fail("an intent record after the edges (intents come first)")
                intent, same = self.parse(_read_parsed_intent, payload, "intent")
                if last_id is not None and intent.id <= last_id:
                    raise self.fail(
                        f"intent id {intent.id!r} repeats"
                        if intent.id == last_id
                        else f"intent id {intent.id!r} is out of order (ids are sorted)"
                    )
                last_id = intent.id
                self.intent(intent, _inner(raw, 10) if same else None)
            elif kind == "edge":
                if section == "intent":
                    self.rest_of_store_intents()
                    section = "edge"
                if plain is not None:
                    edge, same = plain, True
                else:
                    edge, same = self.parse(read_edge, payload, "edge")
                key = (edge.source, edge.target, edge.type.value)
                if last_key is not None and key <= last_key:
                    raise self.fail(
                        f"edge {_show(edge)} repeats"
                        if key == last_key
                        else f"edge {_show(edge)} is out of order (edges are sorted by "
                        "source, target, type)"
                    )
                last_key = key
                if edge.source == edge.target:
                    raise self.fail(f"edge {_show(edge)} joins an intent to itself")
                if edge.type.symmetric and edge.source > edge.target:
                    raise self.fail(
                        f"symmetric edge {_show(edge)} must have its ends in sorted order"
                    )
                self.edge(edge, _inner(raw, 8) if same else None)
            else:
                raise self.fail(f"unknown record {kind!r}")
            counts[kind] += 1
            if self.progress and (counts[kind] % _STAGE == 0):
                total = self.total[0] if kind == "intent" else self.total[1]
                self.progress(kind + "s", counts[kind], total)
        raise self.fail("the backup ends without its trailer: it is truncated", self.line)

    def parse(self, parse: Any, payload: Any, what: str) -> Any:
        try:
            return parse(payload)
        except InvalidIntent as exc:
            raise self.fail(str(exc)) from None

    def header(self, raw: bytes) -> None:
        self.sha.update(raw)
        kind, head = self.record(raw)
        if kind != "header" or type(head) is not dict or head.get("format") != FORMAT:
            raise self.fail("not an intentgraph backup (no intentgraph-backup header)")
        version = head.get("version")
        if type(version) is not int or version < 1:
            raise self.fail(f"format version {version!r} is not a version")
        if version not in READS:
            raise self.fail(
                f"format version {version} is newer than this intentgraph reads "
                f"({', '.join(map(str, READS))}); upgrade intentgraph to restore it"
            )
        counts: Any = head.get("counts")
        if not _counts_ok(counts):
            raise self.fail("the header's counts are missing or not counts")
        self.plan.header = head
        self.total = (counts["intents"], counts["edges"])
        if self.progress:  # every bar knows its end from the start
            self.progress("intents", 0, self.total[0])
            self.progress("edges", 0, self.total[1])

    def trailer(self, payload: Any, counts: dict[str, int]) -> None:
        if type(payload) is not dict or not _counts_ok(payload.get("counts")):
            raise self.fail("the trailer's counts are missing or not counts")
        found = {"intents": counts["intent"], "edges": counts["edge"]}
        for what, said in (("header", self.plan.header["counts"]), ("trailer", payload["counts"])):
            if said != found:
                raise self.fail(
                    f"the {what} counts {said['intents']} intents and {said['edges']} edges, "
                    f"the backup holds {found['intents']} and {found['edges']}"
                )
        digest = self.sha.hexdigest()
        if payload.get("sha256") != digest:
            raise self.fail(
                f"SHA-256 mismatch: the trailer says {payload.get('sha256')!r}, the "
                f"records hash to {digest!r}: the backup was altered or damaged"
            )
        self.rest_of_store_intents()
        self.rest_of_store_edges()
        plan = self.plan
        plan.sha256 = digest
        plan.intents, plan.edges = found["intents"], found["edges"]

    # --- staging, and the merge rule ------------------------------------------------

    def intent(self, intent: Intent, text: str | None) -> None:
        apply = 1
        stored = self.stored_intents
        if stored is not None:
            while (mine := stored.peek()) is not None and mine.id < intent.id:
                self.node(stored.take().id, None, 0, None)
            if mine is not None and mine.id == intent.id:
                stored.take()
                apply = self.merge_intent(mine, intent)
        if apply and text is None:
            text = intent_to_json(intent)
        self.node(intent.id, self.line, apply, text if apply else None)

    def merge_intent(self, mine: Intent, theirs: Intent) -> int:
        if theirs.version > mine.version:
            return 1
        if theirs.version < mine.version:
            self.plan.kept += 1
            return 0
        if intent_to_json(mine) == intent_to_json(theirs):
            self.plan.unchanged += 1
            return 0
        raise self.fail(
            f"intent {theirs.id!r} is at version {theirs.version} in both the store and the "
            "backup, but they differ: merge will not guess which is right (restore with "
            "--mode replace, or into another store, and compare)"
        )

    def edge(self, edge: Edge, text: str | None) -> None:
        apply = 1
        if self.stored_edges is not None:
            stored = self.stored_edges
            key = edge.key
            while (mine := stored.peek()) is not None and mine.key < key:
                self.link(stored.take(), None, 0)
            if mine is not None and mine.key == key:
                stored.take()
                if (mine.weight, mine.metadata) != (edge.weight, edge.metadata):
                    raise self.fail(
                        f"edge {_show(edge)} is in both the store and the backup with another "
                        "weight or metadata: merge will not guess which is right"
                    )
                self.plan.unchanged += 1
                apply = 0
        self.link(edge, self.line, apply, text)

    def rest_of_store_intents(self) -> None:
        stored = self.stored_intents
        if stored is not None:
            while stored.peek() is not None:
                self.node(stored.take().id, None, 0, None)
            self.plan.store_intents = stored.count
            self.stored_intents = None
            self.stored_edges = _Store(self.view.edges())

    def rest_of_store_edges(self) -> None:
        stored = self.stored_edges
        if stored is not None:
            while stored.peek() is not None:
                self.link(stored.take(), None, 0)
            self.plan.store_edges = stored.count
            self.stored_edges = None

    def node(self, intent_id: str, line: int | None, apply: int, data: str | None) -> None:
        if self.sink is not None and data is not None:
            self.texts["intents"].append(data)
            data = None
        self.nodes.append((intent_id, line, apply, data))
        if len(self.nodes) >= _STAGE:
            self.flush()

    def link(self, edge: Edge, line: int | None, apply: int, text: str | None = None) -> None:
        data = (text or edge_to_json(edge)) if apply else None
        if self.sink is not None and data is not None:
            self.texts["edges"].append(data)
            data = None
        self.links.append((edge.source, edge.target, edge.type.value, line, apply, data))
        if len(self.links) >= _STAGE:
            self.flush()

    def flush(self) -> None:
        if self.sink is not None:
            for kind, texts in self.texts.items():
                if texts:
                    self.sink(kind, texts)
                    self.texts[kind] = []
        if self.nodes:
            self.plan.skeleton.add_intents(self.nodes)
            self.nodes = []
        if self.links:
            self.plan.skeleton.add_edges(self.links)
            self.links = []


def _read_parsed_intent(payload: Any) -> tuple[Intent, bool]:
    return read_intent(payload, text_checked=True)  # parsed by pydantic_core.from_json


def _inner(raw: bytes, start: int) -> str | None:
    """Return the record inside a line written as ``{"kind":{...}}``, or None."""
    end = len(raw) - 1 if raw.endswith(b"}\n") else len(raw)
    if (
        raw[end - 1 : end] != b"}"
        or raw[start - 1 : start] != b":"
        or raw[start : start + 1] != b"{"
    ):
        return None
    return raw[start : end - 1].decode()


def _counts_ok(counts: Any) -> bool:
    return (
        type(counts) is dict
        and counts.keys() == {"intents", "edges"}
        and all(type(v) is int and v >= 0 for v in counts.values())
    )


def _show(edge: Edge) -> str:
    return f"{edge.source!r} -{edge.type.value}-> {edge.target!r}"


def _check_graph(plan: RestorePlan, progress: Progress | None) -> None:
    if progress:
        progress("checking", 0, None)
    findings = plan.skeleton.findings(limit=5)
    if findings:
        first = findings[0]
        where = "merged with the store, " if plan.mode == "merge" else ""
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        raise BackupError(plan.name, first.line, f"{where}{first.message}{more}")


def apply(plan: RestorePlan, store: IntentStorage, *, progress: Progress | None = None) -> Any:
    """Write a checked plan into ``store`` in one ``bulk_load_json`` (pass 2)."""
    skeleton = plan.skeleton
    total = skeleton.count("node", applied=True) + skeleton.count("edge", applied=True)
    done = 0

    def staged(table: str) -> Iterator[str]:
        nonlocal done
        for batch in skeleton.staged(table):
            yield from batch
            done += len(batch)
            if progress:
                progress("loading", done, total)

    result = store.bulk_load_json(
        staged("node"),
        staged("edge"),
        replace=plan.mode == "replace",
        expected_changes=plan.expected_changes,
        graph_checked=True,  # over the result, by the first pass (a merge: in a snapshot)
    )
    report_written(progress, result)
    return result


def restore(
    source: str | os.PathLike[str] | IO[bytes],
    store: IntentStorage,
    *,
    mode: Mode = "replace",
    dry_run: bool = False,
    progress: Progress | None = None,
    name: str | None = None,
    overlap: bool | None = None,
) -> RestoreSummary:
    """Restore a backup into ``store``: check all of it, then apply it atomically.

    ``replace`` makes the store hold exactly the backup. ``merge`` adds the backup to what
    is stored; for an id on both sides the higher ``version`` wins, equal versions must be
    equal records (else the merge is refused); an edge on both sides must have the same
    weight and metadata; nothing is ever deleted; and the result must keep every graph
    invariant. With ``dry_run`` nothing is written.

    On any problem, and if interrupted, the store is exactly as before.

    ``overlap``: check in a second process while this one loads, uncommitted, what the
    check has passed, committing only once all of it passed (``replace`` without
    ``dry_run``, from a file or pipe; the store is locked for writing meanwhile). None
    (the default) does so for a backup file of ``OVERLAP_MIN_BYTES`` or more.

    Raises:
        BackupError: the backup is damaged, truncated, of a newer format, breaks an
            invariant, or conflicts with the store (names the line and the reason).
        TransactionError: merge: the store changed between the check and the write.
        StorageError: the store could not be written.
    """
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            label = name or os.fspath(source)
            try:
                fh: IO[bytes] = stack.enter_context(open(source, "rb"))
            except OSError as exc:
                raise BackupError(label, None, f"cannot open: {exc.strerror or exc}") from exc
        else:
            fh, label = source, name or str(getattr(source, "name", "-"))
        directory = _staging_dir(store)
        if overlap and (mode != "replace" or dry_run or not can_overlap(fh)):
            raise ValueError("overlap needs mode 'replace', no dry run, and a file or pipe")
        checked: RestorePlan | Checked
        if overlap or (
            overlap is None and mode == "replace" and not dry_run and worth_overlapping(fh)
        ):
            checked, result = load_while_checking(
                fh, store, name=label, directory=directory, progress=progress
            )
            written = (result.intents, result.edges)
            removed = (result.removed_intents, result.removed_edges)
        else:
            # What an overlapped restore killed here left (its spool: up to the backup's
            # size); an overlapped one sweeps as it makes its own directory.
            sweep(Path(directory or tempfile.gettempdir()), SCRATCH_PREFIX)
            checked = plan = check_backup(
                fh, name=label, store=store, mode=mode, progress=progress, directory=directory
            )
            stack.callback(plan.close)
            written = (
                plan.skeleton.count("node", applied=True),
                plan.skeleton.count("edge", applied=True),
            )
            removed = (plan.store_intents, plan.store_edges) if mode == "replace" else (0, 0)
            if not dry_run:
                result = apply(plan, store, progress=progress)
                removed = (result.removed_intents, result.removed_edges)
            elif mode == "replace":
                with store.snapshot() as view:
                    removed = (view.intent_count, view.edge_count)
    return RestoreSummary(
        file=label,
        mode=mode,
        dry_run=dry_run,
        intents=checked.intents,
        edges=checked.edges,
        written_intents=written[0],
        written_edges=written[1],
        kept_intents=checked.kept,
        unchanged=checked.unchanged,
        removed_intents=removed[0],
        removed_edges=removed[1],
        sha256=checked.sha256,
        seconds=round(time.perf_counter() - started, 3),
    )


def _prefixed(progress: Progress, prefix: str) -> Progress:
    """Report another operation's phases under names of their own (``read intents``)."""

    def report(phase: str, done: int, total: int | None) -> None:
        progress(prefix + phase, done, total)

    return report


def _staging_dir(store: IntentStorage) -> str | None:
    """Stage beside a file store (same disk, known to have room), else in TMPDIR."""
    path = getattr(store, "path", None) or getattr(store, "_path", None)
    if path:
        parent = Path(path).resolve().parent
        if parent.is_dir() and os.access(parent, os.W_OK):
            return str(parent)
    return None


def copy_store(
    source: IntentStorage,
    target: IntentStorage,
    *,
    mode: Mode = "replace",
    progress: Progress | None = None,
) -> RestoreSummary:
    """Copy one store into another, any backend to any backend, in constant memory.

    A backup of ``source`` streams into a temporary file, which is then restored into
    ``target`` (checked, then applied atomically): the same guarantees as ``restore``.

    Raises:
        TargetIsStore: the two stores share a file (one store under two names).
    """
    for own in store_files(target):  # a store copied onto itself under another name
        refuse_store_files(own, store_files(source), whose=f"the source store {source.url}")
    started = time.perf_counter()
    scratch = ScratchDir(_staging_dir(target), ".intentgraph-copy-")  # the backup's size
    try:
        tmp = scratch.path / "copy.jsonl"
        reading = None if progress is None else _prefixed(progress, "read ")
        write_backup(source, tmp, compress=False, progress=reading)
        summary = restore(tmp, target, mode=mode, progress=progress, name=source.url)
    finally:
        scratch.close()
    return summary.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})
