"""The graph queries written once against a store's primitives: what ``plan``, ``context``,
``blocked``, ``impact``, ``stats`` and ``cycles`` answer on every backend that does not
override them with its own indexes (and must answer the same when it does)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from intentgraph import _graph
from intentgraph.errors import CycleError
from intentgraph.filters import IntentFilter
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    EdgeType,
    Intent,
    IntentStatus,
)
from intentgraph.results import BlockedIntent, GraphStats, IntentContext

if TYPE_CHECKING:
    from intentgraph._primitives import Primitives

__all__ = ["UNFINISHED", "Counts", "GraphQueries", "holders_in_maps", "ready_key"]


Counts = tuple[int, dict[str, int], int, dict[str, int], int]
UNFINISHED = frozenset(IntentStatus) - {IntentStatus.COMPLETED, IntentStatus.ARCHIVED}
"""Statuses of an intent that still holds up its dependents (``GraphStats.top_blockers``)."""


def ready_key(intent: Intent) -> tuple[int, Any, str]:
    """Sort key of ``ready``/``blocked``/``plan``: priority (highest first), age, id."""
    return (-intent.priority, intent.created_at, intent.id)


class GraphQueries:
    """Mixin for ``StoreBase``: the queries built on the primitives."""

    def parent(self: Primitives, intent_id: str) -> Intent | None:
        out = self.edges(intent_id, type=EdgeType.IS_SUBGOAL_OF, direction="out")
        return self.get(out[0].target) if out else None

    def conflicts(self: Primitives, intent_id: str) -> builtins.list[Intent]:
        edges = self.edges(intent_id, type=EdgeType.CONFLICTS_WITH, direction="out")
        return self.get_many(sorted({e.target for e in edges}))

    def blocked(self: Primitives) -> builtins.list[BlockedIntent]:
        self._check_open()
        ready_ids = {i.id for i in self.ready()}
        waiting = [
            i
            for i in self._select(IntentFilter(status=tuple(ACTIONABLE_STATUSES)))
            if i.id not in ready_ids
        ]
        stale = self._expired_leases(self.now())
        if not waiting and not stale:
            return []
        holders = self._holders({i.id for i in [*waiting, *stale]})
        stale_ids = {i.id for i in stale}
        result = []
        for intent in [*waiting, *stale]:
            deps = self.dependencies(intent.id)
            subgoals = self.children(intent.id)
            result.append(
                BlockedIntent(
                    intent=intent,
                    blocked_by=[d for d in deps if d.status is not IntentStatus.COMPLETED],
                    subgoals=[c for c in subgoals if c.status not in FINISHED_SUBGOAL],
                    held_by=[h for _, _, h in sorted(holders.get(intent.id, []))],
                    lease_expired=intent.id in stale_ids,
                )
            )
        result.sort(key=lambda b: ready_key(b.intent))
        return result

    def _holders(
        self: Primitives, targets: set[str]
    ) -> dict[str, builtins.list[tuple[int, str, Intent]]]:
        """Return {target: [(distance, id, holder)]}: the failed, suspended and archived
        intents whose blast radius holds each target."""
        found: dict[str, builtins.list[tuple[int, str, Intent]]] = {}
        for holder in self._select(IntentFilter(status=tuple(HOLDING_STATUSES))):
            reach = self._impact_of(holder, holds_parent=holder.status is not IntentStatus.ARCHIVED)
            for intent_id, distance in reach.items():
                if intent_id in targets:
                    found.setdefault(intent_id, []).append((distance, holder.id, holder))
        return found

    def impact(self: Primitives, intent_id: str) -> builtins.list[Intent]:
        reach = self._impact_of(self.get(intent_id), holds_parent=True)
        return self.get_many(sorted(reach, key=lambda n: (reach[n], n)))

    def _impact_of(self: Primitives, intent: Intent, *, holds_parent: bool) -> dict[str, int]:
        """Return {id: distance} of ``intent``'s blast radius (see ``_graph.blast_radius``),
        through the public queries; a backend overrides it with its own indexes."""

        def pairs(intents: Iterable[Intent]) -> builtins.list[_graph.Neighbour]:
            return [(i.id, i.status in FINISHED_SUBGOAL) for i in intents]

        def parent(intent_id: str) -> _graph.Neighbour | None:
            up = self.parent(intent_id)
            return None if up is None else (up.id, up.status in FINISHED_SUBGOAL)

        return _graph.blast_radius(
            intent.id,
            children=lambda n: pairs(self.children(n)),
            dependents=lambda n: pairs(self.dependents(n)),
            parent=parent,
            holds_parent=holds_parent,
        )

    def cycles(self: Primitives) -> builtins.list[builtins.list[str]]:
        self._check_open()
        return _graph.elementary_cycles(self._dependency_map())

    def plan(self: Primitives, root_id: str) -> builtins.list[Intent]:
        tree = self.subtree(root_id)
        nodes = {n.intent.id: n.intent for n in tree}
        deps = self._dependency_map()
        # Order over the subtree plus every intent its dependencies lead to, so that a
        # path through an outside intent still orders the subtree's own intents.
        reached = set(nodes)
        stack = builtins.list(nodes)
        while stack:
            for dep in deps.get(stack.pop(), ()):
                if dep not in reached:
                    reached.add(dep)
                    stack.append(dep)
        order_edges = [(dep, n) for n in reached for dep in deps.get(n, ())]
        order_edges += [(n.intent.id, n.parent_id) for n in tree if n.parent_id is not None]
        outside = self.get_many(sorted(reached - nodes.keys()))
        keys = {i.id: ready_key(i) for i in [*nodes.values(), *outside]}
        try:
            order = _graph.topological_order(keys, order_edges)
        except _graph._Cycle as exc:
            raise CycleError(exc.cycle, "plan") from None
        return [nodes[i] for i in order if i in nodes]

    def context(
        self: Primitives, intent_id: str, *, hops: int = 2, max_nodes: int = 50
    ) -> IntentContext:
        focus = self.get(intent_id)
        if hops <= 0:
            return IntentContext(focus=focus)
        budget = max(max_nodes - 1, 0)
        truncated = False
        sections: dict[str, builtins.list[Intent]] = {}
        candidates = {
            "ancestors": self.ancestors(intent_id)[:hops],
            "dependencies": GraphQueries._within(self.dependencies, intent_id, hops),
            "children": self.children(intent_id),
            "dependents": GraphQueries._within(self.dependents, intent_id, hops),
            "conflicts": self.conflicts(intent_id),
        }
        seen = {intent_id}
        for name in ("ancestors", "dependencies", "children", "dependents", "conflicts"):
            kept = []
            for intent in candidates[name]:
                if intent.id in seen:
                    continue
                if budget == 0:
                    truncated = True
                    break
                seen.add(intent.id)
                kept.append(intent)
                budget -= 1
            sections[name] = kept
        return IntentContext(focus=focus, truncated=truncated, **sections)

    @staticmethod
    def _within(query: Any, intent_id: str, hops: int) -> builtins.list[Intent]:
        """Breadth-first over a direct query, ``hops`` layers deep, nearest first."""
        found: builtins.list[Intent] = []
        seen = {intent_id}
        layer = [intent_id]
        for _ in range(hops):
            nxt: dict[str, Intent] = {}
            for node in layer:
                for intent in query(node):
                    if intent.id not in seen:
                        nxt[intent.id] = intent
            if not nxt:
                break
            seen.update(nxt)
            layer = sorted(nxt)
            found.extend(nxt[i] for i in layer)
        return found

    def stats(self: Primitives) -> GraphStats:
        self._check_open()
        total, by_status, edges, by_type, orphans = self._counts()
        return GraphStats(
            intents=total,
            by_status=by_status,
            edges=edges,
            by_edge_type=by_type,
            top_blockers=self._top_blockers(),
            orphans=orphans,
            expired_leases=len(self._expired_leases(self.now())),
        )

    def _counts(self: Primitives) -> Counts:
        """(intents, by status, edges, by edge type, orphans): a scan; backends count faster."""
        by_status = {s.value: 0 for s in IntentStatus}
        intents = self._select(IntentFilter())
        for intent in intents:
            by_status[intent.status.value] += 1
        by_type = {t.value: 0 for t in EdgeType}
        touched: set[str] = set()
        all_edges = self.edges()
        for edge in all_edges:
            by_type[edge.type.value] += 1
            touched.update((edge.source, edge.target))
        return len(intents), by_status, len(all_edges), by_type, len(intents) - len(touched)

    def _top_blockers(self: Primitives) -> builtins.list[tuple[str, int]]:
        """The unfinished intents with the most transitive dependents (``GraphStats``)."""
        dependents_of: dict[str, builtins.list[str]] = {}
        for dependent, deps in self._dependency_map().items():
            for dep in deps:
                dependents_of.setdefault(dep, []).append(dependent)
        unfinished = {
            i.id
            for i in self._select(IntentFilter(status=tuple(UNFINISHED), ids=tuple(dependents_of)))
        }
        return _graph.ReachIndex(dependents_of).top(lambda batch: unfinished)


def holders_in_maps(
    holders: Iterable[Intent],
    targets: set[str],
    children: Mapping[str, builtins.list[str]],
    dependents: Mapping[str, builtins.list[str]],
    parent: Mapping[str, str],
    finished: Mapping[str, bool],
) -> dict[str, builtins.list[tuple[int, str, Intent]]]:
    """``GraphQueries._holders`` over the graph read once into maps (id → children,
    dependents, parent; whether each intent is a finished subgoal): what a backend that
    reads its edges in one query uses instead of a query per step."""
    found: dict[str, builtins.list[tuple[int, str, Intent]]] = {}
    for holder in holders:
        reach = _graph.blast_radius(
            holder.id,
            children=lambda n: [(c, finished[c]) for c in children.get(n, ())],
            dependents=lambda n: [(d, finished[d]) for d in dependents.get(n, ())],
            parent=lambda n: None if n not in parent else (parent[n], finished[parent[n]]),
            holds_parent=holder.status is not IntentStatus.ARCHIVED,
        )
        for intent_id, distance in reach.items():
            if intent_id in targets:
                found.setdefault(intent_id, []).append((distance, holder.id, holder))
    return found
