"""Graph algorithms on plain adjacency maps, shared by every backend.

Every function here is deterministic: successors are visited in sorted order, so two
backends that hold the same graph get the same path, cycle and order back.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any

Adjacency = Mapping[str, Iterable[str]]


def shortest_path(
    successors: Callable[[str], Iterable[str]], start: str, goal: str
) -> list[str] | None:
    """Return the shortest path ``[start, ..., goal]`` (BFS, sorted successors), or None."""
    if start == goal:
        return [start]
    parent: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(successors(node)):
            if nxt in parent:
                continue
            parent[nxt] = node
            if nxt == goal:
                path = [goal]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            queue.append(nxt)
    return None


def closure(
    successors: Callable[[str], Iterable[str]], start: str, *, max_depth: int | None = None
) -> dict[str, int]:
    """Return every node reachable from ``start`` (excluded) with its BFS distance."""
    dist: dict[str, int] = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        d = dist[node]
        if max_depth is not None and d >= max_depth:
            continue
        for nxt in successors(node):
            if nxt not in dist:
                dist[nxt] = d + 1
                queue.append(nxt)
    del dist[start]
    return dist


def strongly_connected_components(adj: Adjacency) -> list[list[str]]:
    """Return the strongly connected components of ``adj`` (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    succ = {n: sorted(vs) for n, vs in adj.items()}
    for root in sorted(succ):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work[-1]
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = succ.get(node, [])
            if i < len(nexts):
                work[-1] = (node, i + 1)
                nxt = nexts[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                result.append(comp)
    return result


def elementary_cycles(adj: Adjacency, *, limit: int = 10_000) -> list[list[str]]:
    """Return the elementary cycles of ``adj``, each rotated to start at its smallest node.

    Nodes that cannot lie on a cycle (nothing leads into them, or nothing out, once such
    nodes are gone) are pruned first in one linear pass, so an acyclic graph costs no more;
    Johnson's algorithm then runs on the non-trivial strongly connected components of what
    is left. At most ``limit`` cycles are returned.
    """
    succ: dict[str, list[str]] = {n: sorted(set(vs)) for n, vs in _on_cycles(adj).items()}
    found: list[list[str]] = []
    for comp in strongly_connected_components(succ):
        if len(comp) == 1 and comp[0] not in succ.get(comp[0], []):
            continue
        members = sorted(comp)
        for i, start in enumerate(members):
            allowed = set(members[i:])
            _cycles_from(start, succ, allowed, found, limit)
            if len(found) >= limit:
                return sorted(found)[:limit]
    return sorted(found)


def _on_cycles(adj: Adjacency) -> dict[str, list[str]]:
    """Return ``adj`` without the nodes that no cycle passes through (Kahn's algorithm run
    forwards, then backwards)."""
    succ = {n: list(vs) for n, vs in adj.items()}
    for _ in range(2):
        pred: dict[str, list[str]] = {}
        for node, nexts in succ.items():
            for nxt in nexts:
                pred.setdefault(nxt, []).append(node)
        indegree = {n: 0 for n in set(succ) | set(pred)}
        for nexts in succ.values():
            for nxt in nexts:
                indegree[nxt] += 1
        queue = [n for n, d in indegree.items() if d == 0]
        gone: set[str] = set()
        while queue:
            node = queue.pop()
            gone.add(node)
            for nxt in succ.get(node, ()):
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    queue.append(nxt)
        kept = {n: [m for m in succ.get(n, ()) if m not in gone] for n in indegree if n not in gone}
        succ = {n: [] for n in kept}  # now the same from the other end: reverse the edges
        for node, nexts in kept.items():
            for nxt in nexts:
                succ[nxt].append(node)
    return succ


def _cycles_from(
    start: str,
    succ: Mapping[str, list[str]],
    allowed: set[str],
    found: list[list[str]],
    limit: int,
) -> None:
    """Johnson's circuit search from ``start`` within ``allowed`` (iterative)."""
    blocked: set[str] = {start}
    blocked_map: dict[str, set[str]] = {}
    path = [start]
    stack: list[tuple[str, list[str], bool]] = [
        (start, [n for n in succ.get(start, []) if n in allowed], False)
    ]
    while stack:
        node, todo, closed = stack[-1]
        if todo:
            nxt = todo.pop(0)
            if nxt == start:
                found.append(list(path))
                stack[-1] = (node, todo, True)
                if len(found) >= limit:
                    return
            elif nxt not in blocked:
                path.append(nxt)
                blocked.add(nxt)
                stack.append((nxt, [n for n in succ.get(nxt, []) if n in allowed], False))
            continue
        stack.pop()
        path.pop()
        if closed:
            _unblock(node, blocked, blocked_map)
        else:
            for nxt in succ.get(node, []):
                if nxt in allowed:
                    blocked_map.setdefault(nxt, set()).add(node)
        if stack:
            parent, ptodo, pclosed = stack[-1]
            stack[-1] = (parent, ptodo, pclosed or closed)


def _unblock(node: str, blocked: set[str], blocked_map: dict[str, set[str]]) -> None:
    todo = [node]
    while todo:
        n = todo.pop()
        if n in blocked:
            blocked.discard(n)
            todo.extend(blocked_map.pop(n, ()))


def find_cycle(adj: Adjacency) -> list[str] | None:
    """Return one cycle of ``adj`` (starting at its smallest node), or None when acyclic.

    Linear when there is no cycle (Kahn's algorithm); only what is left over is searched.
    """
    indegree: dict[str, int] = {}
    for node, successors in adj.items():
        indegree.setdefault(node, 0)
        for nxt in successors:
            indegree[nxt] = indegree.get(nxt, 0) + 1
    queue = [n for n, d in indegree.items() if d == 0]
    removed = 0
    while queue:
        node = queue.pop()
        removed += 1
        for nxt in adj.get(node, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    if removed == len(indegree):
        return None
    rest = {n: [m for m in adj.get(n, ()) if indegree[m] > 0] for n, d in indegree.items() if d}
    return elementary_cycles(rest, limit=1)[0]


def find_parent_cycle(
    parents: Mapping[str, Mapping[str, Any]],
    children: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[str] | None:
    """``find_cycle`` for subgoal edges (child → its parents), visiting each node once.

    With one parent per node the edges form chains, so following them from every node not
    yet seen finds any cycle; a node with several parents (a damaged store) is left to
    ``find_cycle``, as is producing the cycle itself (the same answer either way).
    ``children``: the same edges the other way (parent → its children), which lets an
    acyclic forest, the usual case, be confirmed a layer at a time (``_is_forest``).
    """
    if children is not None and _is_forest(parents, children):
        return None
    done: set[str] = set()
    for start in parents:
        path: set[str] = set()
        node: str | None = start
        while node is not None and node not in done:
            if node in path:
                return find_cycle(parents)
            path.add(node)
            up = parents.get(node)
            if not up:
                node = None
            elif len(up) > 1:
                return find_cycle(parents)
            else:
                node = next(iter(up))
        done |= path
    return None


def topological_order(nodes: Mapping[str, Any], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Order ``nodes`` so that for every ``(before, after)`` edge ``before`` comes first.

    ``nodes`` maps each node to its tie-break key (smallest first). Edges whose ends are not
    both in ``nodes`` are ignored.

    Raises:
        _Cycle: the edges form a cycle; its ``cycle`` attribute lists one, in order.
    """
    indegree = dict.fromkeys(nodes, 0)
    after: dict[str, list[str]] = {n: [] for n in nodes}
    for before, later in set(edges):
        if before in nodes and later in nodes:
            after[before].append(later)
            indegree[later] += 1
    heap = [(nodes[n], n) for n, d in indegree.items() if d == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, node = heapq.heappop(heap)
        order.append(node)
        for later in after[node]:
            indegree[later] -= 1
            if indegree[later] == 0:
                heapq.heappush(heap, (nodes[later], later))
    if len(order) < len(nodes):
        rest = {n: [m for m in after[n] if indegree[m] > 0] for n in nodes if indegree[n] > 0}
        raise _Cycle(elementary_cycles(rest, limit=1)[0])
    return order


class _Cycle(Exception):
    def __init__(self, cycle: Sequence[str]) -> None:
        super().__init__(cycle)
        self.cycle = list(cycle)


Neighbour = tuple[str, bool]
"""(id, finished): an intent next to another, and whether it is completed or archived."""


def blast_radius(
    start: str,
    *,
    children: Callable[[str], Iterable[Neighbour]],
    dependents: Callable[[str], Iterable[Neighbour]],
    parent: Callable[[str], Neighbour | None],
    holds_parent: bool = True,
) -> dict[str, int]:
    """Return {id: distance} of every unfinished intent that cannot proceed while ``start``
    is failed (``start`` excluded).

    That is ``start``'s subtree (held by a failed ancestor; walked through whatever its
    status), and from ``start`` or any unfinished intent reached, its dependents and its
    parent (which waits for its subgoals), and so on. A finished intent outside the subtree
    is neither held up nor holds anything up, so it ends the walk there. ``holds_parent``
    False leaves out ``start``'s own parent (an archived subgoal no longer holds it).
    Distances are breadth-first, so the answer does not depend on the order of neighbours.
    """
    subtree = {start}
    layer = [start]
    while layer:
        layer = [c for n in layer for c, _ in children(n) if c not in subtree]
        subtree.update(layer)
    finished_of: dict[str, bool] = {start: False}
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        nexts: list[Neighbour] = []
        if node in subtree:
            nexts.extend(children(node))
        if not finished_of[node]:
            nexts.extend(dependents(node))
            up = parent(node)
            if up is not None and (node != start or holds_parent):
                nexts.append(up)
        for nxt, finished in nexts:
            if nxt in dist or (finished and nxt not in subtree):
                continue
            finished_of[nxt] = finished
            dist[nxt] = dist[node] + 1
            queue.append(nxt)
    return {n: d for n, d in dist.items() if n != start and not finished_of[n]}


class ReachIndex:
    """Which nodes reach the most others, over one fixed graph (``succ``: node → successors).

    An exact count needs a closure per node, so only as many are computed as can matter:
    an upper bound per node (each successor's bound plus one, at most the number of nodes
    less one; what a cycle leaves unresolved keeps that cap), computed for every node in
    one pass, orders the nodes, and a query stops once no bound left can beat its
    ``limit``-th count. Exact counts are kept as they are computed: the graph is fixed, so
    a store keeps one index per version of its edges and asks it again and again.
    """

    def __init__(self, succ: Mapping[str, Sequence[str]]) -> None:
        self._succ = succ
        pred: dict[str, list[str]] = {}
        for node, nexts in succ.items():
            for nxt in nexts:
                pred.setdefault(nxt, []).append(node)
        cap = max(len(pred.keys() | succ.keys()) - 1, 0)
        waiting = {node: len(nexts) for node, nexts in succ.items()}
        bound = dict.fromkeys(succ, cap)
        done = [node for node in pred if not succ.get(node)]
        for node in done:
            bound[node] = 0
        while done:  # Kahn's order, sinks first: every successor is bounded before its node
            for before in pred.get(done.pop(), ()):
                waiting[before] -= 1
                if not waiting[before]:
                    total = 0
                    for nxt in succ[before]:
                        total += 1 + bound[nxt]
                    bound[before] = min(total, cap)
                    done.append(before)
        self._bound = bound
        self._order = sorted((n for n in succ if succ[n]), key=lambda n: (-bound[n], n))
        self._exact: dict[str, int] = {}

    def top(
        self, keep: Callable[[Sequence[str]], Container[str]], *, limit: int = 10
    ) -> list[tuple[str, int]]:
        """The ``limit`` nodes ``keep`` keeps that reach the most nodes, with how many
        (themselves excluded): most first, then by id.

        ``keep`` is asked about a batch of nodes at a time, best bounds first, and returns
        those to count (a store checks their status in one lookup per batch).
        """
        best: list[tuple[int, str]] = []  # (-count, id), kept sorted, at most ``limit``
        order, bound, exact = self._order, self._bound, self._exact
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            if len(best) == limit and (-bound[batch[0]], batch[0]) > best[-1]:
                break
            kept = keep(batch)
            for node in batch:
                if len(best) == limit and (-bound[node], node) > best[-1]:
                    break
                if node in kept:
                    count = exact.get(node)
                    if count is None:
                        count = exact[node] = len(closure(self._successors, node))
                    best.append((-count, node))
                    best.sort()
                    del best[limit:]
        return [(node, -negative) for negative, node in best]

    def _successors(self, node: str) -> Sequence[str]:
        return self._succ.get(node, ())


_BATCH = 64  # nodes ReachIndex.top asks ``keep`` about at once


def _is_forest(
    parents: Mapping[str, Mapping[str, Any]], children: Mapping[str, Mapping[str, Any]]
) -> bool:
    """Whether every node with a parent is reached going down from the nodes without one,
    which with one parent per node means no cycle. The loops run in C: three times faster
    than following each chain up. False says nothing (a cycle, several parents, an empty
    entry): ask the chains."""
    if max(map(len, parents.values()), default=0) > 1:
        return False  # a node reached twice could stand in for one never reached
    if sum(map(len, children.values())) != len(parents):
        return False  # not the same edges both ways
    reached = 0
    layer: Iterable[str] = children.keys() - parents.keys()
    while layer:
        below = list(chain.from_iterable(map(children.__getitem__, layer)))
        reached += len(below)
        layer = list(filter(children.__contains__, below))
    return reached == len(parents)
