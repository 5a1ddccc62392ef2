"""``add_edges`` of the Cypher store: the checks of a batch against a view of the graph, and
its writes, one query per 2,000 edges that also writes their change-feed records and the
maintained state they change (see docs/design.md, "add_edges").

The functions work on a ``CypherStore`` inside its write transaction (``CypherStore.add_edges``
runs ``add_edges`` through ``_writing``), as ``_cypher_whole`` does for whole-store operations.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from intentgraph._base import as_edge, canonical_edge, dependency_pair
from intentgraph._codec import edge_from_json, edge_of
from intentgraph.backends import _cypher_graph as g
from intentgraph.backends._cypher_dialect import load
from intentgraph.backends._cypher_exec import made_ahead
from intentgraph.backends._cypher_rows import edge_row
from intentgraph.errors import (
    CycleError,
    IntentGraphError,
    MissingEndpoint,
    MultipleParents,
    SelfLoop,
    StorageError,
)
from intentgraph.models import Edge, EdgeType

if TYPE_CHECKING:
    from intentgraph.backends.cypher import CypherStore

__all__ = ["BULK", "CREATE", "add_edges", "canonical", "write"]

BULK = 256
"""An ``add_edges`` batch at least this large reads the parent and dependency links once."""
_VALUE = {t: t.value for t in EdgeType}  # Enum.value is a slow property in a hot loop
CREATE = {
    EdgeType.IS_SUBGOAL_OF.value: "create_subgoals",
    EdgeType.DEPENDS_ON.value: "create_dependencies",
    EdgeType.BLOCKS.value: "create_blockers",
}
"""The edge types whose new edges are written by a query of their own, which also writes
their change-feed records and the maintained state they change."""
CREATE_PARAMS: dict[str, dict[str, Any]] = {
    "create_subgoals": {
        "finished": g.FINISHED, "holding": g.HOLDING, "actionable": g.ACTIONABLE,
    },
    "create_dependencies": {"done": g.DONE, "actionable": g.ACTIONABLE},
    "create_blockers": {"done": g.DONE, "actionable": g.ACTIONABLE},
}  # fmt: skip


def write(store: CypherStore, items: Sequence[Edge | dict[str, Any]]) -> builtins.list[Edge]:
    """``CypherStore.add_edges``: make the batch canonical, then check and write it in one
    write transaction (``add_edges``).

    A large batch on an executor that encodes ahead (FalkorDB) is made canonical in a second
    thread while this one takes the writer lock and reads the graph's links (``GraphView``):
    the server's reading and the client's copying no longer come one after the other. An
    edge that ``canonical`` refuses is still the error raised (as memory raises it, before
    it looks at the store), also when the store failed first (closed, read-only, locked).
    """
    known: set[str] = set()  # ids found storable: most come again in the batch
    if len(items) < BULK or not store._x.encodes:
        batch = [canonical(e, known) for e in items]
        return store._writing(lambda: add_edges(store, lambda: batch, len(batch)))
    pool = ThreadPoolExecutor(1, thread_name_prefix="intentgraph-canonical")
    try:
        future = pool.submit(lambda: [canonical(e, known) for e in items])
        try:
            return store._writing(lambda: add_edges(store, future.result, len(items)))
        except IntentGraphError:
            # Not a signal handler's exception: memory would have raised the batch's own
            # error before this one.
            failed = future.exception()
            if failed is not None:
                raise failed from None
            raise
    finally:
        pool.shutdown(wait=False)


def add_edges(
    store: CypherStore, batch_of: Callable[[], builtins.list[Edge]], size: int
) -> builtins.list[Edge]:
    """Check and write a batch of ``size`` canonical edges (``batch_of()``, asked for after
    the graph's links are read) inside the store's write transaction.

    The batch is checked and written a segment of ``CHUNK`` edges at a time, in order: the
    next segment is checked and its queries' parameters built and encoded (in a second
    thread on FalkorDB, see ``made_ahead``) while the server writes this one. Endpoints are
    not looked up first: each write says how many edges it wrote, and one that wrote fewer
    than it was given, or a check that fails, asks which endpoints are missing (so that
    the first edge at fault, in the batch's order, is named as memory names it); a failure
    is rolled back with everything written before it.
    """
    if not size:
        return []
    view = g.GraphView(store._x, preload=size >= BULK)
    batch = batch_of()
    stored = _stored_edges(store, view, batch)
    store._tx_facts()
    base = store._feed_last
    assert base is not None
    writer = _Writer(store, batch, view, stored, base)
    segments = [range(k, min(k + g.CHUNK, len(batch))) for k in range(0, len(batch), g.CHUNK)]
    try:
        # A view read whole answers without queries: only then are checks made ahead.
        made_ahead(segments, writer.check, writer.send, threaded=view.complete and store._x.encodes)
    except (CycleError, MultipleParents):
        if writer.failed_at is not None:  # a missing endpoint before it comes first
            _raise_missing(store, batch[: writer.failed_at + 1])
        raise
    # Adding a parent never releases anything; it holds the new child's subtree only when
    # the parent is held or holding (the rest of the state moved in the queries above).
    g.refresh_held(store._x, writer.held)
    return writer.result  # built by this call: no one else holds them


def _raise_missing(store: CypherStore, edges: Sequence[Edge]) -> None:
    """Raise ``MissingEndpoint`` for the first of ``edges`` with an end not stored, if any."""
    ends = list({e.source: None for e in edges} | {e.target: None for e in edges})
    missing: set[str] = set()
    for part in g.chunks(ends):
        missing.update(r[0] for r in store._x.run(load("missing"), {"ids": list(part)}))
    for edge in edges:
        for end, role in ((edge.source, "source"), (edge.target, "target")):
            if end in missing:
                raise MissingEndpoint(end, role)


def _stored_edges(
    store: CypherStore, view: g.GraphView, batch: builtins.list[Edge]
) -> dict[tuple[str, str, str], str]:
    """The stored edges among the batch's keys, as JSON; only the keys the view cannot
    rule out are asked for (a view read whole knows every subgoal and blocking link)."""
    keys: dict[tuple[str, str, str], None] = {}
    for e in batch:
        key = (e.source, e.target, _VALUE[e.type])
        if view.may_hold(*key):
            keys[key] = None
    asked = [{"source": s, "target": t, "type": k} for s, t, k in keys]
    stored: dict[tuple[str, str, str], str] = {}
    for part in g.chunks(asked):
        for s, t, etype, data in store._x.run(load("existing_edges"), {"keys": list(part)}):
            stored[(s, t, etype)] = data
    return stored


_Key = tuple[str, str, str]
_Job = tuple[str, builtins.list[_Key], dict[str, Any], dict[str, Any]]


class _Writer:
    """The checks and writes of one ``add_edges`` call, a segment at a time (in order).

    ``check`` (which may run in a second thread) checks a segment against the view, then
    builds and encodes its queries: new subgoal and blocking edges with the queries of their
    type that also write their change-feed records and the maintained state (``CREATE``),
    other new edges with ``create_edges``, edges stored already (or written by an earlier
    segment) with ``merge_edges``, their feed records on the segment's first query, which
    also moves the feed's counter past the segment's records. ``send`` runs them."""

    def __init__(
        self,
        store: CypherStore,
        batch: builtins.list[Edge],
        view: g.GraphView,
        stored: dict[_Key, str],
        base: int,
    ) -> None:
        self.store = store
        self.batch = batch
        self.view = view
        self.stored = stored
        self.base = base  # the feed's position before the call: edge k's record is base + k + 1
        self.written: dict[_Key, Edge] = {}  # by earlier segments: their last version
        self.result: builtins.list[Edge] = []
        self.held: builtins.list[str] = []
        self.failed_at: int | None = None  # the edge whose check failed

    def check(self, segment: range) -> tuple[int, builtins.list[_Job], builtins.list[Any]]:
        batch, stored, written, base = self.batch, self.stored, self.written, self.base
        mine: dict[_Key, Edge] = {}  # this segment's keys, their last version
        prior: dict[_Key, Edge] = {}  # written by an earlier segment: the version to restore
        seq: dict[_Key, int] = {}  # a new key's record, made by its row
        explicit: builtins.list[dict[str, Any]] = []
        for k in segment:
            edge = batch[k]
            key = (edge.source, edge.target, _VALUE[edge.type])
            old = mine.get(key)
            if old is None:
                old = written.get(key)
                if old is not None:
                    prior[key] = old
                elif key in stored:
                    old = edge_from_json(stored[key])
            if old is not None:
                edge = edge.model_copy(update={"created_at": old.created_at})
            else:
                try:
                    _check_invariants(self.view, edge)
                except BaseException:
                    self.failed_at = k
                    raise
            mine[key] = edge
            self.result.append(edge)
            if old is None and key[2] in CREATE:
                seq[key] = base + k + 1
            else:
                explicit.append(
                    {"seq": base + k + 1, "op": "add_edge", "intent_id": edge.source,
                     "target": edge.target, "type": key[2], "status": None}
                )  # fmt: skip
        written.update(mine)
        x = self.store._x
        jobs: builtins.list[_Job] = []
        for etype, name in CREATE.items():
            part = [k for k in seq if k[2] == etype]
            if part:
                params = {k: x.encode(v) for k, v in CREATE_PARAMS[name].items()}
                edges = [mine[k] for k in part]
                params["rows"] = x.encode_typed_rows(edges, [seq[k] for k in part])
                ends = " ".join(f"{s} {t}" for s, t, _ in part)
                jobs.append((name, part, params, {"op": "drop_edges", "type": etype, "ends": ends}))
        new = [k for k in mine if k not in seq and k not in stored and k not in prior]
        again = [k for k in mine if k in stored or k in prior]
        for name, part in (("create_edges", new), ("merge_edges", again)):
            if part:
                restore = [
                    edge_row(prior[k]) if k in prior else edge_row(edge_from_json(stored[k]))
                    for k in part
                    if k in prior or k in stored
                ]
                drop = [
                    {"source": s, "target": t, "type": et}
                    for s, t, et in part
                    if (s, t, et) not in stored and (s, t, et) not in prior
                ]
                rows = [edge_row(mine[k]) for k in part]
                undo = {"op": "drop_edges_and_restore", "drop": drop, "restore": restore}
                jobs.append((name, part, {"rows": x.encode(rows)}, undo))
        return len(segment), jobs, explicit

    def send(self, made: tuple[int, builtins.list[_Job], builtins.list[Any]]) -> None:
        count, jobs, explicit = made
        for k, (name, part, params, undo) in enumerate(jobs):
            # The segment's first query moves the feed's counter past all its records.
            first = k == 0
            found = self.store._change_numbered(
                name, params, undo, explicit if first else [], count if first else 0
            )
            if name == "merge_edges":
                continue  # edges stored already: their ends are there
            wrote, *rest = found[0]
            if wrote < len(part):
                _raise_missing(self.store, self.batch)
                raise StorageError(
                    f"{self.store._x.where} wrote {wrote} of {len(part)} new edges, "
                    "yet every endpoint is stored"
                )
            for children in rest[0] if rest else ():
                self.held.extend(children)


def _check_invariants(view: g.GraphView, edge: Edge) -> None:
    if edge.type is EdgeType.IS_SUBGOAL_OF:
        current = view.parent(edge.source)
        if current is not None:
            raise MultipleParents(edge.source, current, edge.target)
        # The source has no parent: it is on the target's chain only as its top.
        if view.root(edge.target) == edge.source:
            chain = [edge.target, *view.ancestors(edge.target)]
            raise CycleError([edge.source, *chain[: chain.index(edge.source)]], edge.type.value)
        view.set_parent(edge.source, edge.target)
    pair = dependency_pair(edge)
    if pair is not None:
        dependent, dependency = pair
        path = g.bfs_path(view, dependency, dependent)
        if path is not None:
            raise CycleError([dependent, *path[:-1]], edge.type.value)
        view.add_dependency(dependent, dependency)


def canonical(value: Edge | dict[str, Any], known: set[str]) -> Edge:
    """``canonical_edge``, a fresh edge all the same, without pydantic's validation for an
    edge without weight or metadata that passes ``as_edge``'s cheap checks (most edges:
    validating them was a fifth of a bulk ``add_edges``). ``known``: ids already checked,
    to which this edge's are added."""
    if (
        type(value) is Edge
        and value.weight is None
        and not value.metadata
        and as_edge(value, known) is value
    ):
        source, target, etype = value.source, value.target, value.type
        known.add(source)
        known.add(target)
        if source == target:
            raise SelfLoop(source, etype.value)
        if etype.symmetric and source > target:
            source, target = target, source
        return edge_of(source, target, etype, value.created_at)
    return canonical_edge(value)
