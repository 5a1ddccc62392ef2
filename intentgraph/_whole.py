"""Whole-store operations every backend shares: the defaults of ``snapshot``,
``check_integrity`` and ``rebuild_derived_state`` (``bulk_load`` has none: see below).

The defaults are written against the public queries, so a new backend works at once; the
built-in backends override them with constant-memory versions.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from intentgraph._codec import (
    edge_from_written,
    edge_to_json,
    intent_from_written,
    intent_to_json,
)
from intentgraph._integrity import Skeleton
from intentgraph.errors import StoreClosed
from intentgraph.filters import IntentFilter
from intentgraph.models import Edge, Intent
from intentgraph.results import IntegrityProblem, LoadResult

if TYPE_CHECKING:
    from intentgraph._transactions import Transaction
    from intentgraph.protocol import Snapshot
    from intentgraph.results import ChangeBatch

_T = TypeVar("_T")


class _Store(Protocol):
    """What the defaults use of a store."""

    backend_name: str

    def _check_open(self) -> None: ...
    def _require_no_transaction(self, operation: str) -> None: ...
    def transaction(self) -> Transaction: ...
    def list(self, filter: IntentFilter | None = None) -> builtins.list[Intent]: ...
    def edges(self) -> builtins.list[Edge]: ...
    def changes(self, since: int = 0, *, limit: int | None = 1000) -> ChangeBatch: ...
    def snapshot(self, *, batch_size: int = 1000) -> AbstractContextManager[Snapshot]: ...
    def bulk_load(
        self,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult: ...


__all__ = ["ListSnapshot", "WholeStore", "batches", "check_with_skeleton", "hand_out"]


class ListSnapshot:
    """A snapshot over lists of records already read (the default, and memory's).

    ``intents`` must be sorted by id and ``edges`` by key; ``copy`` turns a stored object
    into the copy handed out, batch by batch.
    """

    def __init__(
        self,
        intents: builtins.list[Intent],
        edges: builtins.list[Edge],
        *,
        changes: int,
        batch_size: int,
        copy_intent: object = None,
        copy_edge: object = None,
    ) -> None:
        self._intents = intents
        self._edges = edges
        self._changes = changes
        self._batch = max(int(batch_size), 1)
        self._copy_intent = copy_intent
        self._copy_edge = copy_edge
        self._open = True

    @property
    def intent_count(self) -> int:
        return len(self._intents)

    @property
    def edge_count(self) -> int:
        return len(self._edges)

    @property
    def changes(self) -> int:
        return self._changes

    def intents(self) -> Iterator[builtins.list[Intent]]:
        yield from self._batches(self._intents, self._copy_intent)

    def edges(self) -> Iterator[builtins.list[Edge]]:
        yield from self._batches(self._edges, self._copy_edge)

    def intent_json(self) -> Iterator[builtins.list[str]]:
        for batch in self._batches(self._intents, None):
            yield [intent_to_json(i) for i in batch]

    def edge_json(self) -> Iterator[builtins.list[str]]:
        for batch in self._batches(self._edges, None):
            yield [edge_to_json(e) for e in batch]

    def _batches(self, items: Sequence[_T], copy: Any) -> Iterator[builtins.list[_T]]:
        for start in range(0, len(items), self._batch):
            if not self._open:
                raise StoreClosed("the snapshot was used after its with block")
            chunk = builtins.list(items[start : start + self._batch])
            yield chunk if copy is None else [copy(x) for x in chunk]

    def close(self) -> None:
        self._open = False
        self._intents = []
        self._edges = []


def check_with_skeleton(
    intents: Iterable[builtins.list[str]],
    edges: Iterable[builtins.list[tuple[str, str, str]]],
    *,
    directory: str | None = None,
) -> builtins.list[IntegrityProblem]:
    """Return the graph-invariant problems of the given ids and (source, target, type)
    edges, checked in bounded memory (see ``intentgraph._integrity``)."""
    with Skeleton(directory) as skeleton:
        for ids in intents:
            skeleton.add_intents((i, None, 0, None) for i in ids)
        for batch in edges:
            skeleton.add_edges((s, t, k, None, 0, None) for s, t, k in batch)
        return [f.as_problem() for f in skeleton.findings()]


@contextmanager
def hand_out(view: ListSnapshot) -> Iterator[ListSnapshot]:
    """Yield a view and close it when the ``with`` block is left."""
    try:
        yield view
    finally:
        view.close()


class WholeStore:
    """Mixin for ``StoreBase``: the whole-store operations of the protocol."""

    def snapshot(self: _Store, *, batch_size: int = 1000) -> AbstractContextManager[Snapshot]:
        """The default view: one transaction reads every record (O(n) memory)."""
        self._check_open()
        self._require_no_transaction("snapshot")
        with self.transaction():
            intents = self.list(IntentFilter(order_by="id"))
            edges = self.edges()
            changes = self.changes(limit=0).latest
        return hand_out(ListSnapshot(intents, edges, changes=changes, batch_size=batch_size))

    def bulk_load(
        self: _Store,
        intents: Iterable[Intent],
        edges: Iterable[Edge],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
    ) -> LoadResult:
        # No default: the public writes cannot store a record as given (``put`` starts a
        # version at 1, ``update`` moves it on), and checking each edge would cost what
        # bulk loading exists to save.
        raise NotImplementedError(f"the {self.backend_name} backend has no bulk_load")

    def bulk_load_json(
        self: _Store,
        intents: Iterable[str],
        edges: Iterable[str],
        *,
        replace: bool = False,
        expected_changes: int | None = None,
        confirm: Callable[[], object] | None = None,
        graph_checked: bool = False,
    ) -> LoadResult:
        """The default: build the models (without validating them again), then ``bulk_load``
        (which checks the graph even when ``graph_checked``: it costs little here)."""
        return self.bulk_load(
            (intent_from_written(t) for t in intents),
            (edge_from_written(t) for t in edges),
            replace=replace,
            expected_changes=expected_changes,
            confirm=confirm,
        )

    def check_integrity(self: _Store) -> builtins.list[IntegrityProblem]:
        """The default check: the graph invariants over a snapshot."""
        with self.snapshot() as view:
            return check_with_skeleton(
                ([i.id for i in batch] for batch in view.intents()),
                ([(e.source, e.target, e.type.value) for e in batch] for batch in view.edges()),
            )

    def rebuild_derived_state(self: _Store) -> int:
        """The default: nothing is derived."""
        self._check_open()
        return 0


def batches(items: Iterable[_T], size: int) -> Iterator[builtins.list[_T]]:
    """Read ``items`` (a stream, read once) in lists of ``size``: what a bulk load sends
    to its database per statement."""
    batch: builtins.list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
