"""``add_edges`` of the Cypher store: the checks of a batch against a view of the graph, and
its writes, one query per 2,000 edges that also writes their change-feed records and the
maintained state they change (see docs/design.md, "add_edges").

The functions work on a ``CypherStore`` inside its write transaction (``CypherStore.add_edges``
runs ``add_edges`` through ``_writing``), as ``_cypher_whole`` does for whole-store operations.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from intentgraph._base import as_edge, canonical_edge, dependency_pair
from intentgraph._codec import edge_from_json, edge_of
from intentgraph.backends import _cypher_graph as g
from intentgraph.backends._cypher_dialect import load
from intentgraph.backends._cypher_exec import sent_ahead
from intentgraph.backends._cypher_rows import edge_props, edge_row
from intentgraph.errors import CycleError, MissingEndpoint, MultipleParents, SelfLoop
from intentgraph.models import Edge, EdgeType

if TYPE_CHECKING:
    from intentgraph.backends.cypher import CypherStore

__all__ = ["BULK", "CREATE", "add_edges", "canonical"]

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


def add_edges(store: CypherStore, batch: builtins.list[Edge]) -> builtins.list[Edge]:
    """Check and write a batch of canonical edges inside the store's write transaction."""
    if not batch:
        return []
    x = store._x
    ends = list({e.source: None for e in batch} | {e.target: None for e in batch})
    missing: set[str] = set()
    for part in g.chunks(ends):
        missing.update(r[0] for r in x.run(load("missing"), {"ids": list(part)}))
    view = g.GraphView(x, preload=len(batch) >= BULK)
    stored = _stored_edges(store, view, batch)
    result: builtins.list[Edge] = []
    written: dict[tuple[str, str, str], Edge] = {}
    for edge in batch:
        if missing and (edge.source in missing or edge.target in missing):
            for end, role in ((edge.source, "source"), (edge.target, "target")):
                if end in missing:
                    raise MissingEndpoint(end, role)
        key = (edge.source, edge.target, _VALUE[edge.type])
        old = written.get(key) or (edge_from_json(stored[key]) if key in stored else None)
        if old is not None:
            edge = edge.model_copy(update={"created_at": old.created_at})
        else:
            _check_invariants(view, edge)
        written[key] = edge
        result.append(edge)
    _write_edges(store, result, written, stored)
    return result  # built by this call: no one else holds them


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


def _write_edges(
    store: CypherStore,
    result: builtins.list[Edge],
    written: dict[tuple[str, str, str], Edge],
    stored: dict[tuple[str, str, str], str],
) -> None:
    """Write the checked edges: new subgoal and blocking edges with the queries that also
    write their change-feed records and the maintained state (``_CREATE``), the rest with
    ``create_edges``/``merge_edges`` and the remaining feed records on the first query."""
    store._tx_facts()
    base = store._feed_last
    assert base is not None
    seq: dict[tuple[str, str, str], int] = {}  # a new key's record, made by its row
    explicit: builtins.list[dict[str, Any]] = []
    for k, e in enumerate(result, start=1):
        key = (e.source, e.target, _VALUE[e.type])
        if key not in seq and key not in stored and key[2] in CREATE:
            seq[key] = base + k
        else:
            explicit.append(
                {"seq": base + k, "op": "add_edge", "intent_id": e.source,
                 "target": e.target, "type": key[2], "status": None}
            )  # fmt: skip
    groups: builtins.list[tuple[str, builtins.list[tuple[str, str, str]]]] = [
        (CREATE[t], [k for k in seq if k[2] == t]) for t in CREATE
    ]
    groups.append(("create_edges", [k for k in written if k not in stored and k not in seq]))
    groups.append(("merge_edges", [k for k in written if k in stored]))
    jobs = [(name, part) for name, group in groups for part in g.chunks(group)]
    held: builtins.list[str] = []

    def build(job: tuple[str, Sequence[tuple[str, str, str]]]) -> dict[str, Any]:
        name, part = job
        if name in CREATE_PARAMS:
            return {"rows": [typed_row(written[k], seq[k]) for k in part]}
        return {"rows": [edge_row(written[k]) for k in part]}

    def send(job: tuple[str, Sequence[tuple[str, str, str]]], params: dict[str, Any]) -> None:
        name, part = job
        undo: dict[str, Any]
        if name in CREATE_PARAMS:  # new edges of one type: a compact record
            ends = " ".join(f"{s} {t}" for s, t, _ in part)
            undo = {"op": "drop_edges", "type": part[0][2], "ends": ends}
        else:
            undo = {
                "op": "drop_edges_and_restore",
                "drop": [
                    {"source": s, "target": t, "type": et}
                    for s, t, et in part
                    if (s, t, et) not in stored
                ],
                "restore": [edge_row(edge_from_json(stored[k])) for k in part if k in stored],
            }
        # The first query moves the feed's counter past every record of the call.
        first = job is jobs[0]
        params = {**params, **CREATE_PARAMS.get(name, {})}
        found = store._change_numbered(
            name, params, undo, explicit if first else [], len(result) if first else 0
        )
        held.extend(r[0] for r in found or ())

    sent_ahead(store._x, jobs, build, send)
    # Adding a parent never releases anything; it holds the new child's subtree only when
    # the parent is held or holding (the rest of the state moved in the queries above).
    g.refresh_held(store._x, held)


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


def typed_row(edge: Edge, seq: int) -> dict[str, Any]:
    """A row of the ``CREATE`` queries: the type is the query's; ``seq`` numbers its record."""
    return {"source": edge.source, "target": edge.target, "seq": seq, "props": edge_props(edge)}
