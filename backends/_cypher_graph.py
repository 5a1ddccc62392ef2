"""The Cypher store's graph bookkeeping: the maintained blocked state, the undo of each change,
and the invariant checks of ``add_edges`` over a view of the graph read once per call.

Every intent node carries ``unmet`` (its blocking edges to a dependency that is not completed),
``held`` (1 when an ancestor is suspended, failed or archived), ``open_subgoals`` (its subgoals
neither completed nor archived) and ``rp`` (its priority while it is ready, absent otherwise:
the index ``ready()`` reads). They are derived from the intents' statuses and the edges, so a
change is undone by restoring what it changed and recomputing them (``refresh_unmet``,
``refresh_held``, ``refresh_open``), never by remembering them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from intentgraph.backends._cypher_dialect import load
from intentgraph.backends._cypher_exec import Executor
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    EdgeType,
    IntentStatus,
)

__all__ = [
    "DERIVED_PARAMS",
    "GraphView",
    "apply_undo",
    "bfs_path",
    "refresh_held",
    "refresh_open",
    "refresh_unmet",
]

HOLDING = sorted(s.value for s in HOLDING_STATUSES)
ACTIONABLE = sorted(s.value for s in ACTIONABLE_STATUSES)
FINISHED = sorted(s.value for s in FINISHED_SUBGOAL)
DONE = IntentStatus.COMPLETED.value
DERIVED_PARAMS = {"done": DONE, "finished": FINISHED, "holding": HOLDING, "actionable": ACTIONABLE}
"""The statuses every query of the maintained state takes as parameters."""
CHUNK = 2000
"""Rows per ``UNWIND`` query: FalkorDB receives parameters as query text."""


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refresh_unmet(x: Executor, ids: Iterable[str]) -> None:
    """Recount ``unmet`` (and ``rp``) of these intents."""
    unique = list(dict.fromkeys(ids))
    for part in chunks(unique):
        x.run(load("refresh_unmet"), {"ids": list(part), "done": DONE, "actionable": ACTIONABLE})


def refresh_held(x: Executor, ids: Iterable[str]) -> None:
    """Recompute ``held`` (and ``rp``) of these intents and, where it changed, their subtrees."""
    unique = list(dict.fromkeys(ids))
    for part in chunks(unique):
        x.run(
            load("refresh_held"),
            {"ids": list(part), "holding": HOLDING, "actionable": ACTIONABLE},
        )


def refresh_open(x: Executor, ids: Iterable[str]) -> None:
    """Recount ``open_subgoals`` (and ``rp``) of these intents (parents)."""
    unique = list(dict.fromkeys(ids))
    for part in chunks(unique):
        x.run(
            load("refresh_open"),
            {"ids": list(part), "finished": FINISHED, "actionable": ACTIONABLE},
        )


def layer(x: Executor, kind: str, ids: Sequence[str]) -> dict[str, list[Any]]:
    """Return {id: [neighbours]} for one breadth-first layer of ``kind`` (``dependencies``,
    ``dependents``: ids; ``*_data``: [id, JSON] pairs), one entry per blocking edge. An id
    that is not stored has no entry."""
    found: dict[str, list[Any]] = {}
    for part in chunks(list(ids)):
        for node, neighbours in x.run(load(kind), {"ids": list(part)}):
            found[node] = list(neighbours)
    return found


def rows_by_id(x: Executor, name: str, ids: Sequence[str]) -> dict[str, list[Any]]:
    """Return {id: the rest of its row} of a query whose rows start with one of ``ids``."""
    found: dict[str, list[Any]] = {}
    for part in chunks(list(ids)):
        for row in x.run(load(name), {"ids": list(part)}):
            found[row[0]] = list(row[1:])
    return found


def parents(x: Executor, ids: Sequence[str]) -> dict[str, str]:
    """Return {child: parent} for those of ``ids`` that have a parent."""
    found: dict[str, str] = {}
    for part in chunks(list(ids)):
        for child, parent in x.run(load("parents"), {"ids": list(part)}):
            found[child] = parent
    return found


def edge_effects(x: Executor, keys: Iterable[tuple[str, str, str]]) -> None:
    """Bring the blocked state up to date after edges with these keys came or went."""
    dependents: list[str] = []
    children: list[str] = []
    parents: list[str] = []
    for source, target, etype in keys:
        if etype == EdgeType.DEPENDS_ON.value:
            dependents.append(source)
        elif etype == EdgeType.BLOCKS.value:
            dependents.append(target)
        elif etype == EdgeType.IS_SUBGOAL_OF.value:
            children.append(source)
            parents.append(target)
    if dependents:
        refresh_unmet(x, dependents)
    if children:
        refresh_held(x, children)
    if parents:
        refresh_open(x, parents)


def status_effects(x: Executor, intent_id: str, old: str, new: str) -> None:
    """Bring the blocked state of others up to date after an intent moved from ``old``."""
    if (old == DONE) != (new == DONE):
        refresh_unmet(x, layer(x, "dependents", [intent_id]).get(intent_id, []))
    if (old in HOLDING) != (new in HOLDING):
        kids = [row[0] for row in x.run(load("children"), {"id": intent_id})]
        refresh_held(x, kids)
    if (old in FINISHED) != (new in FINISHED):
        refresh_open(x, parents(x, [intent_id]).values())


def apply_undo(x: Executor, op: dict[str, Any]) -> None:
    """Undo one recorded change (see ``CypherStore._change``). Idempotent: a rollback cut
    short applies the same record again."""
    if op.get("feed") is not None:  # the change-feed records it added go with it
        x.run(load("feed_drop"), {"after": op["feed"]})
    kind = op["op"]
    if kind == "drop_intents":
        for part in chunks(op["ids"]):
            x.run(load("delete"), {"ids": list(part)})
    elif kind == "restore_intent":
        row = op["row"]
        x.run(load("merge_intents"), {"rows": [row]})
        status_effects(x, row["id"], op["now"], row["status"])
    elif kind == "recreate_intent":
        row = op["row"]
        x.run(load("merge_intents"), {"rows": [row]})
        rows = op["edges"]
        x.run(load("merge_edges"), {"rows": rows})
        edge_effects(x, ((r["source"], r["target"], r["type"]) for r in rows))
        refresh_unmet(x, [row["id"]])
        refresh_held(x, [row["id"]])
        refresh_open(x, [row["id"]])
    elif kind == "drop_edges":  # new edges of one type: their ends, source then target
        ends = op["ends"].split(" ")  # an id holds no blank
        etype = op["type"]
        keys = [
            {"source": s, "target": t, "type": etype}
            for s, t in zip(ends[::2], ends[1::2], strict=True)
        ]
        for part in chunks(keys):
            x.run(load("remove_edges"), {"keys": list(part)})
        edge_effects(x, [(k["source"], k["target"], etype) for k in keys])
    elif kind == "drop_edges_and_restore":
        keys, rows = op["drop"], op["restore"]
        for part in chunks(keys):
            x.run(load("remove_edges"), {"keys": list(part)})
        for part in chunks(rows):
            x.run(load("merge_edges"), {"rows": list(part)})
        touched = [(k["source"], k["target"], k["type"]) for k in keys]
        edge_effects(x, touched + [(r["source"], r["target"], r["type"]) for r in rows])
    else:  # pragma: no cover - records are only written by this module's store
        raise ValueError(f"unknown undo record {kind!r}")


def dumps(op: dict[str, Any]) -> str:
    """An undo record as JSON text (no raw NUL: JSON escapes it)."""
    return json.dumps(op, ensure_ascii=False, separators=(",", ":"))


class GraphView:
    """The parent and dependency links ``add_edges`` checks against, read on demand (or all
    at once for a large batch) and updated as the batch's edges are added."""

    def __init__(self, x: Executor, *, preload: bool) -> None:
        self._x = x
        self._parent: dict[str, str | None] = {}
        self._deps: dict[str, list[str]] = {}
        self._top: dict[str, str] = {}  # a node on the way to the top of a chain (``root``)
        self._complete = preload
        if preload:
            for child, parent in x.run(load("subgoal_pairs")):
                self._parent[child] = parent
            for dependent, dependency in x.run(load("cycles_check")):
                self._deps.setdefault(dependent, []).append(dependency)

    @property
    def complete(self) -> bool:
        """Whether the view was read whole: it then answers without a query."""
        return self._complete

    def parent(self, intent_id: str) -> str | None:
        if intent_id not in self._parent:
            if self._complete:
                return None
            self._parent.update(dict.fromkeys([intent_id], None))
            self._parent.update(parents(self._x, [intent_id]))
        return self._parent[intent_id]

    def set_parent(self, child: str, parent: str) -> None:
        self._parent[child] = parent

    def ancestors(self, intent_id: str) -> list[str]:
        chain: list[str] = []
        seen = {intent_id}
        node = self.parent(intent_id)
        while node is not None and node not in seen:
            chain.append(node)
            seen.add(node)
            node = self.parent(node)
        return chain

    def load_dependencies(self, ids: Iterable[str]) -> None:
        if self._complete:
            return
        missing = [i for i in ids if i not in self._deps]
        if missing:
            found = layer(self._x, "dependencies", missing)
            for node in missing:
                self._deps[node] = found.get(node, [])

    def dependencies(self, intent_id: str) -> list[str]:
        self.load_dependencies([intent_id])
        return self._deps.get(intent_id, [])

    def add_dependency(self, dependent: str, dependency: str) -> None:
        self.load_dependencies([dependent])
        self._deps.setdefault(dependent, []).append(dependency)

    def root(self, intent_id: str) -> str:
        """The top of ``intent_id``'s chain of parents (some node of the loop, if the chain
        loops). Parents are only ever added to a view, and only to a node without one, so a
        node's known top stays on its chain: each walk is remembered (``_top``)."""
        path: list[str] = []
        seen: set[str] = set()
        node = intent_id
        while node not in seen:
            seen.add(node)
            up = self._top.get(node) or self.parent(node)
            if up is None:
                break
            path.append(node)
            node = up
        for step in path:
            self._top[step] = node
        return node

    def may_hold(self, source: str, target: str, etype: str) -> bool:
        """Whether the edge may be stored already: False only when the view was read whole
        and holds no such subgoal or blocking link (other types are not in the view)."""
        if not self._complete:
            return True
        if etype == EdgeType.IS_SUBGOAL_OF.value:
            return self._parent.get(source) == target
        if etype == EdgeType.DEPENDS_ON.value:
            return target in self._deps.get(source, ())
        if etype == EdgeType.BLOCKS.value:
            return source in self._deps.get(target, ())
        return True


def bfs_path(view: GraphView, start: str, goal: str) -> list[str] | None:
    """``_graph.shortest_path`` over the view's dependencies, one query per layer.

    The same path as the memory backend's: breadth first, successors in sorted order, the
    first discovery of a node kept.
    """
    if start == goal:
        return [start]
    parent = {start: start}
    current = [start]
    while current:
        view.load_dependencies(current)
        following: list[str] = []
        for node in current:
            for nxt in sorted(view.dependencies(node)):
                if nxt in parent:
                    continue
                parent[nxt] = node
                if nxt == goal:
                    path = [goal]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                following.append(nxt)
        current = following
    return None
