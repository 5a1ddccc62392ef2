"""Whole-store operations of the Cypher store: the consistent snapshot, the bulk load, the
integrity check and the rebuild of the maintained state.

- **snapshot**: the graph is read page by page (``snapshot_page.cypher``) into a temporary
  file (``_cypher_spool``), which the view then hands out in key order. The read is checked
  afterwards: the change feed's committed mark must not have moved (Neo4j: nothing was
  committed meanwhile) and, on FalkorDB, ``WATCH`` on the graph and its writer lock must not
  have fired (nothing was written, not even uncommitted, and no writer was at work when the
  read began). A read that saw a write is thrown away and made again; the third time, the
  read holds the writer lock.
- **bulk_load**: all or nothing. Neo4j: one driver transaction, ``UNWIND`` batches of 2,000.
  FalkorDB has no multi-query transaction: the load builds a staging graph beside the live
  one (a copy of it first, unless ``replace``), then ``RENAME``s it over the live graph in one
  Redis command, the commit point; the writer lock is held throughout.
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from intentgraph._base import as_edge, as_intent
from intentgraph._codec import edge_from_json, intent_from_json
from intentgraph._integrity import Skeleton, drift_problem
from intentgraph._transactions import gc_paused
from intentgraph._whole import batches
from intentgraph.backends import _cypher_graph as g
from intentgraph.backends._cypher_dialect import load
from intentgraph.backends._cypher_rows import MAINTAINED, edge_props, edge_row, intent_props
from intentgraph.backends._cypher_spool import Spool
from intentgraph.errors import (
    IntentGraphError,
    InvalidEdge,
    InvalidIntent,
    MissingEndpoint,
    ReadOnlyStore,
    StorageError,
    StoreCorrupted,
    TransactionError,
)
from intentgraph.models import Edge, Intent, IntentStatus
from intentgraph.results import IntegrityProblem, LoadResult

if TYPE_CHECKING:
    from intentgraph.backends.cypher import CypherStore

__all__ = ["bulk_load", "check_integrity", "rebuild_derived_state", "snapshot"]

PAGE = 2000
"""Intents per page read (with their outgoing edges), and rows per ``UNWIND`` batch."""
OPTIMISTIC_READS = 2
"""Reads made without the writer lock before one holds it."""

Runner = Callable[[str, dict[str, Any]], builtins.list[Any]]
_STATUSES = {s.value for s in IntentStatus}


def _mark(run: Runner) -> int:
    return int(run(load("feed_mark"), {})[0][0])


def _pages(run: Runner, name: str) -> Iterator[builtins.list[Any]]:
    """Yield the pages of ``snapshot_page``/``records_page``, in the server's id order."""
    after = None
    while True:
        rows = run(load(name), {"after": after, "limit": PAGE})
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


def _spool_all(run: Runner, spool: Spool) -> None:
    for rows in _pages(run, "snapshot_page"):
        spool.add_intents([(i, data) for i, data, _ in rows])
        spool.add_edges([(i, t, k, d) for i, _, out in rows for t, k, d in out])


# --- snapshot ---------------------------------------------------------------------------


def snapshot(store: CypherStore, batch_size: int) -> AbstractContextManager[Spool]:
    store._check_open()
    store._require_no_transaction("snapshot")
    spool = Spool(batch_size)
    try:
        with gc_paused():
            _consistent_read(store, spool)
    except BaseException:
        spool.close()
        raise
    return _closing(spool)


def _consistent_read(store: CypherStore, spool: Spool) -> None:
    run = store._read_query
    attempts = OPTIMISTIC_READS if not store._read_only else 10
    for attempt in range(attempts):
        with store._lock, store._x.watching() as window:
            if window.clear:
                before = _mark(run)
                _spool_all(run, spool)
                if _mark(run) == before and window.unchanged():
                    spool.changes = before
                    return
        spool.clear()
        time.sleep(min(0.01 * 2**attempt, 0.5))
    if store._read_only:
        raise StorageError(f"{store.url} kept changing while a snapshot was read; try again")
    # Writers kept coming: read holding the writer lock (Neo4j makes other intentgraph
    # writers wait for it; FalkorDB's writers wait for its Redis lock).
    with store._lock, store._write():
        spool.changes = _mark(store._run)
        _spool_all(store._run, spool)


@contextmanager
def _closing(view: Spool) -> Iterator[Spool]:
    try:
        yield view
    finally:
        view.close()


# --- bulk load --------------------------------------------------------------------------


def bulk_load(
    store: CypherStore,
    intents: Iterable[Intent],
    edges: Iterable[Edge],
    *,
    replace: bool,
    expected_changes: int | None,
    confirm: Callable[[], object] | None,
) -> LoadResult:
    store._check_open()
    if store._read_only:
        raise ReadOnlyStore(f"{store.url} is open read-only")
    store._require_no_transaction("bulk_load")
    x = store._x
    with store._lock, gc_paused(), store._write():
        mark = _mark(store._run)
        if expected_changes is not None and expected_changes != mark:
            raise TransactionError(
                f"the store changed since change {expected_changes} (now at {mark}); "
                "nothing was loaded"
            )
        removed = [0, 0]
        if replace:
            removed = [int(n) for n in store._run(load("totals"))[0]]
        if not x.dialect.undo_in_graph:
            # Neo4j: in the open driver transaction, which the commit ends.
            if replace:
                _drain(store._run, "delete_all")
            written = _load(store._run, store, intents, edges, mark)
            if confirm is not None:
                confirm()
        else:
            with x.staging() as stage:
                stage.setup()
                if not replace:
                    _copy(store._run, stage.run)
                written = _load(stage.run, store, intents, edges, mark)
                if confirm is not None:
                    confirm()
                stage.publish()  # the commit point: RENAME over the live graph
    return LoadResult(
        intents=written[0],
        edges=written[1],
        removed_intents=removed[0],
        removed_edges=removed[1],
        changes=mark + 1,
    )


def _drain(run: Runner, name: str) -> None:
    """Run a ``... LIMIT $limit ... RETURN count(*)`` query until it removes nothing."""
    while int(run(load(name), {"limit": 10 * PAGE})[0][0]):
        pass


def _copy(source: Runner, target: Runner) -> None:
    """Copy every intent and edge, with every property, from the live graph to the stage."""
    for rows in _pages(source, "records_page"):
        target(load("create_intents"), {"rows": [props for _, props, _ in rows]})
        edges = [
            {"source": i, "target": t, "type": k, "props": p}
            for i, _, out in rows
            for t, k, p in out
        ]
        for part in g.chunks(edges):
            target(load("create_edges"), {"rows": list(part)})


def _load(
    run: Runner,
    store: CypherStore,
    intents: Iterable[Intent],
    edges: Iterable[Edge],
    mark: int,
) -> tuple[int, int]:
    """Write the records, then recompute the maintained state and restart the feed."""
    sanitize = store._x.dialect.sanitizes_nul
    written_intents = written_edges = 0
    for batch in batches(map(as_intent, intents), PAGE):
        run(load("load_intents"), {"rows": [intent_props(i, sanitize=sanitize) for i in batch]})
        written_intents += len(batch)
    for part in batches(map(as_edge, edges), PAGE):
        ends = sorted({e.source for e in part} | {e.target for e in part})
        present = {r[0] for r in run(load("exists"), {"ids": ends})}
        for edge in part:
            for end, role in ((edge.source, "source"), (edge.target, "target")):
                if end not in present:
                    raise MissingEndpoint(end, role)
        run(load("merge_edges"), {"rows": [edge_row(e) for e in part]})
        written_edges += len(part)
    problem = _graph_problem(run)
    if problem is not None:  # raised before the commit point: nothing was loaded
        raise InvalidEdge(f"the loaded records break the graph's rules: {problem}")
    run(load("derived_rebuild"), g.DERIVED_PARAMS)
    # The feed moves on by one and forgets older changes: pollers behind it re-read.
    _drain(run, "feed_clear")
    run(load("feed_restart"), {"mark": mark + 1})
    return written_intents, written_edges


# --- integrity and rebuild --------------------------------------------------------------


def check_integrity(store: CypherStore) -> builtins.list[IntegrityProblem]:
    """Every record and its copied properties, the graph invariants, and the maintained
    state against a recomputation. Read optimistically like a snapshot; what looks wrong is
    read again holding the writer lock before it is reported (never a writer's half-done
    work)."""
    store._check_open()
    store._require_no_transaction("check_integrity")
    problems = _check(store, store._read_query)
    if problems and not store._read_only:
        with store._lock, store._write():
            problems = _check(store, store._run)
    return problems


def _add_records(skeleton: Skeleton, rows: builtins.list[Any]) -> None:
    """Add a page of ``records_page`` (id, properties, outgoing edges) to ``skeleton``."""
    skeleton.add_intents((r[0], None, 0, None) for r in rows)
    skeleton.add_edges((i, t, k, None, 0, None) for i, _, out in rows for t, k, _ in out)


def _graph_problem(run: Runner) -> str | None:
    """The first of the graph's rules the records break (as ``check_integrity`` finds
    them, in bounded memory), or None."""
    with Skeleton() as skeleton:
        for rows in _pages(run, "records_page"):
            _add_records(skeleton, rows)
        found = skeleton.findings(limit=1)
    return found[0].message if found else None


def _check(store: CypherStore, run: Runner) -> builtins.list[IntegrityProblem]:
    sanitize = store._x.dialect.sanitizes_nul
    problems: builtins.list[IntegrityProblem] = []
    drifted: builtins.list[str] = []
    with Skeleton() as skeleton, gc_paused():
        for rows in _pages(run, "records_page"):
            for intent_id, props, out in rows:
                problem = _check_intent(intent_id, props, sanitize)
                if isinstance(problem, IntegrityProblem):
                    problems.append(problem)
                elif problem:
                    drifted.append(intent_id)
                for target, etype, eprops in out:
                    problem = _check_edge(intent_id, target, etype, eprops)
                    if isinstance(problem, IntegrityProblem):
                        problems.append(problem)
                    elif problem:
                        drifted.append(intent_id)
            _add_records(skeleton, rows)
        problems += [f.as_problem() for f in skeleton.findings()]
    drifted += [r[0] for r in run(load("derived_drift"), g.DERIVED_PARAMS)]
    problems += drift_problem(drifted, "properties")
    with store._lock:  # the executor's connection is the store's: never beside a writer's
        pending = store._x.abandoned_undo()
    if pending:
        problems.append(
            IntegrityProblem(
                kind="storage",
                message=f"{pending} undo record(s) of a writer that died are left in the "
                "graph: opening the store for writing rolls them back",
            )
        )
    return problems


def _check_intent(intent_id: str, props: dict[str, Any], sanitize: bool) -> Any:
    """The problem of one intent node, True when only its copied properties are off, or
    None."""
    data = props.get("data")
    try:
        intent = as_intent(intent_from_json(data if isinstance(data, str) else ""))
    except (StoreCorrupted, InvalidIntent, ValueError) as exc:
        status = props.get("status")
        if isinstance(status, str) and status not in _STATUSES:
            return IntegrityProblem(
                kind="invalid_status",
                message=f"intent {intent_id!r} has status {status!r}, which is not a status",
                ids=[intent_id],
            )
        return IntegrityProblem(
            kind="invalid_record", message=f"intent {intent_id!r}: {exc}", ids=[intent_id]
        )
    if intent.id != intent_id:
        return IntegrityProblem(
            kind="invalid_record",
            message=f"intent node {intent_id!r} holds the record of {intent.id!r}",
            ids=[intent_id],
        )
    return _copies_differ(intent, props, sanitize)


def _copies_differ(intent: Intent, props: dict[str, Any], sanitize: bool) -> bool:
    want = intent_props(intent, sanitize=sanitize)
    return any(props.get(k) != v for k, v in want.items() if k not in MAINTAINED)


def _check_edge(source: str, target: str, etype: str, props: dict[str, Any]) -> Any:
    data = props.get("data")
    try:
        edge = edge_from_json(data if isinstance(data, str) else "")
    except (IntentGraphError, ValueError, TypeError) as exc:
        edge, why = None, str(exc)
    if edge is None or edge.key != (source, target, etype):
        return IntegrityProblem(
            kind="invalid_record",
            message=f"edge {source!r} -{etype}-> {target!r}: "
            + ("its record does not name it" if edge else why),
            ids=[source, target],
        )
    return any(not _same(props.get(k), v) for k, v in edge_props(edge).items())


def _same(stored: Any, want: Any) -> bool:
    """Whether a copied property holds its value: a float as FalkorDB returns it, printed
    with 15 significant digits (the largest doubles round to infinity), counts as the same."""
    if isinstance(stored, float) and isinstance(want, float):
        rounded_up = math.isinf(stored) and abs(want) > 1.7976931348623e308
        return rounded_up or math.isclose(stored, want, rel_tol=1e-14)
    return bool(stored == want)


def rebuild_derived_state(store: CypherStore) -> int:
    """Rewrite the copied properties from each record, then the maintained state."""
    store._check_open()
    if store._read_only:
        raise ReadOnlyStore(f"{store.url} is open read-only")
    store._require_no_transaction("rebuild_derived_state")
    sanitize = store._x.dialect.sanitizes_nul
    changed = 0
    # Derived state only: on FalkorDB its writes carry no undo record, and a rebuild cut
    # short leaves it no worse (run it again).
    with store._lock, gc_paused(), store._write():
        run = store._run
        fixes: builtins.list[dict[str, Any]] = []
        edge_fixes: builtins.list[dict[str, Any]] = []
        for rows in _pages(run, "records_page"):
            for intent_id, props, out in rows:
                if _check_intent(intent_id, props, sanitize) is True:
                    intent = intent_from_json(props["data"])
                    want = intent_props(intent, sanitize=sanitize)
                    fixes.append({k: v for k, v in want.items() if k not in MAINTAINED})
                for target, etype, eprops in out:
                    if _check_edge(intent_id, target, etype, eprops) is True:
                        edge_fixes.append(edge_row(edge_from_json(eprops["data"])))
        for part in g.chunks(fixes):
            run(load("merge_intents"), {"rows": list(part)})
        for part in g.chunks(edge_fixes):
            run(load("merge_edges"), {"rows": list(part)})
        changed = len(fixes) + len(edge_fixes)
        changed += int(run(load("derived_rebuild"), g.DERIVED_PARAMS)[0][0])
    return changed
