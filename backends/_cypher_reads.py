"""The read side of the Cypher store: lookups, lists, edges, the graph queries, and the
whole-graph answers (``ready``, ``blocked``, ``impact``, ``stats``, the change feed), each a
few queries of ``cypher/`` over the maintained state.

``CypherStore`` (``cypher.py``) adds the executor's lifecycle, the transactions and the writes.
A read outside a transaction is retried on a transient error; inside one it is not (the
transaction is retried as a whole, or fails).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from intentgraph import _graph
from intentgraph._base import (
    StoreBase,
    check_direction,
    check_limit,
    pick_direction,
    storable_id,
)
from intentgraph._codec import edge_from_json, intent_from_json, intents_from_json, tree_node
from intentgraph._queries import Counts, holders_in_maps, ready_key
from intentgraph._transactions import gc_paused
from intentgraph.backends import _cypher_graph as g
from intentgraph.backends._cypher_dialect import MAX_LIMIT, load
from intentgraph.backends._cypher_exec import (
    Executor,
    Row,
    retrying,
    schema_row,
    worth_retrying,
)
from intentgraph.backends._cypher_select import count_intents, select_intents
from intentgraph.backends._sqlite_query import to_us
from intentgraph.backends.memory import as_change
from intentgraph.errors import IntentNotFound, StoreCorrupted
from intentgraph.filters import Direction, IntentFilter
from intentgraph.models import (
    FINISHED_SUBGOAL,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
    as_edge_type,
)
from intentgraph.results import BlockedIntent, ChangeBatch, TreeNode

__all__ = ["CypherReads"]

T = TypeVar("T")
_Reached = tuple[dict[str, int], dict[str, str]]  # distance and JSON by id
_DONE = IntentStatus.COMPLETED
_DEPENDS_ON = EdgeType.DEPENDS_ON.value
WALK_PATHS = 2000
"""The most paths one walk of ``*_reach.cypher`` lists before a closure is read layer by
layer: FalkorDB lists every path, so a graph with many paths between the same intents (a
chain of diamonds doubles them at each step) would otherwise cost exponential time."""
_LOWEST = -(2**63)


class CypherReads(StoreBase):
    """The queries of ``CypherStore``; every one runs through ``_read`` or ``_read_rows``."""

    _x: Executor
    _retry_seconds: float
    _feed_base: int | None  # the feed's committed mark when the open write transaction began
    _blockers: tuple[int, _graph.ReachIndex] | None = None  # kept per committed feed mark
    _ready_floors: Mapping[int, int] = MappingProxyType({})  # by limit: see _ready_band

    # --- running queries ------------------------------------------------------------------

    def _retry(self, call: Callable[[], T]) -> T:
        """Run ``call`` (reads, setup), again on a transient error, translating the last.
        The first attempt runs without tenacity, whose set-up costs 25-50 µs a call (a
        quarter of a small read); a failure worth retrying hands over to ``retrying``."""
        try:
            try:
                return call()
            except Exception as exc:
                if not worth_retrying(exc, self._x.transient):
                    raise
            return retrying(call, transient=self._x.transient, seconds=self._retry_seconds)
        except Exception as exc:
            translated = self._x.translate(exc)
            if translated is not None:
                raise translated from exc
            raise

    def _run(self, query: str, params: dict[str, Any] | None = None) -> builtins.list[Any]:
        try:
            return self._x.run(query, params)
        except Exception as exc:
            translated = self._x.translate(exc)
            if translated is not None:
                raise translated from exc
            raise

    def _read(self, name: str, params: dict[str, Any] | None = None) -> builtins.list[Any]:
        """Run ``cypher/<name>.cypher`` for a read, under the lock."""
        self._check_open()
        with self._lock:
            return self._read_rows(load(name), params or {})

    def _schema_read(self, name: str) -> Row:
        """Run ``cypher/<name>.cypher``, a read of the schema node, and return its row."""
        with self._lock:
            if self._levels:
                return schema_row(self._run(load(name)), self._x.where)
            return self._retry(lambda: schema_row(self._x.run(load(name)), self._x.where))

    def _read_query(self, query: str, params: dict[str, Any]) -> builtins.list[Any]:
        """Run a query for a read, under the lock (held for this query only)."""
        with self._lock:
            return self._read_rows(query, params)

    def _read_rows(self, query: str, params: dict[str, Any]) -> builtins.list[Any]:
        if self._levels:  # inside a transaction: its reads are not retried alone
            return self._run(query, params)
        return self._retry(lambda: self._x.run(query, params))

    def _read_layer(self, name: str, ids: builtins.list[str]) -> dict[str, Any]:
        if self._levels:
            return g.layer(self._x, name, ids)
        return self._retry(lambda: g.layer(self._x, name, ids))

    # --- intents ----------------------------------------------------------------------

    def find(self, intent_id: str) -> Intent | None:
        if not storable_id(intent_id):
            self._check_open()
            return None
        rows = self._read("get", {"id": intent_id})
        return intent_from_json(rows[0][0]) if rows else None

    def _select(self, flt: IntentFilter) -> builtins.list[Intent]:
        self._check_open()
        with self._lock, gc_paused():
            return select_intents(self._read_rows, flt, self._x.dialect)

    def _count(self, flt: IntentFilter) -> int:
        self._check_open()
        with self._lock:
            return count_intents(self._read_rows, flt, self._x.dialect)

    def edges(
        self,
        intent_id: str | None = None,
        *,
        type: EdgeType | None = None,
        direction: Direction = "both",
    ) -> builtins.list[Edge]:
        self._check_open()
        check_direction(direction)
        etype = None if type is None else as_edge_type(type)
        if intent_id is None:
            rows = self._read("all_edges", {"type": None if etype is None else etype.value})
            found = [edge_from_json(r[0]) for r in rows]
            found.sort(key=lambda e: e.key)
            return found
        with self._lock:
            self._require(intent_id)
            rows = self._read("edges", {"id": intent_id})
        touching = [edge_from_json(r[0]) for r in rows]
        if etype is not None:
            touching = [e for e in touching if e.type is etype]
        return pick_direction(touching, intent_id, direction)

    # --- graph queries ----------------------------------------------------------------

    def _require(self, intent_id: str) -> None:
        if not storable_id(intent_id) or not self._read("get", {"id": intent_id}):
            raise IntentNotFound(intent_id)

    def _load(self, ids: builtins.list[str]) -> builtins.list[Intent]:
        """Return the intents with these ids, in this order."""
        data: dict[str, str] = {}
        for part in g.chunks(ids):
            data.update((r[0], r[1]) for r in self._read("get_many", {"ids": list(part)}))
        return [intent_from_json(data[i]) for i in ids]

    def parent(self, intent_id: str) -> Intent | None:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            found = self._read("parents", {"ids": [intent_id]})
            return self._load([found[0][1]])[0] if found else None

    def children(self, intent_id: str) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            rows = sorted(self._read("children", {"id": intent_id}))
        return [intent_from_json(r[1]) for r in rows]

    def subtree(self, intent_id: str, *, max_depth: int | None = None) -> builtins.list[TreeNode]:
        """The root from ``get``, then every descendant with its parent in one walk; depths
        come from the parent ids (on FalkorDB, a depth column, the path's nodes or a filter on
        the path made a 20,000-intent walk 1.2-2.5x slower)."""
        self._check_open()
        if not storable_id(intent_id):
            raise IntentNotFound(intent_id)
        with self._lock:
            top = self._read("get", {"id": intent_id})
            if not top:
                raise IntentNotFound(intent_id)
            if max_depth is None:
                rows = self._read("subtree", {"id": intent_id})
            elif max_depth >= 1:
                params = {"id": intent_id, "max_depth": min(max_depth, 2**62)}
                rows = self._read("subtree_depth", params)
            else:
                rows = []
        with gc_paused(len(rows)):  # thousands of new objects: no full collections meanwhile
            below = [(p, intent_from_json(d)) for p, d in rows]
            parent_of = {i.id: p for p, i in below}
            if len(parent_of) != len(below) or intent_id in parent_of:
                # An intent reached twice: a cycle, or a second parent.
                raise StoreCorrupted(f"the subgoal edges below {intent_id!r} form a cycle")
            depth = _depths(intent_id, parent_of)
            # Ids are unique, so the tuples never compare further than the id.
            ordered = sorted([(depth[i.id], i.id, p, i) for p, i in below])
            nodes = [tree_node(intent_from_json(top[0][0]), 0, None)]
            nodes += [tree_node(i, level, p) for level, _, p, i in ordered]
            return nodes

    def ancestors(self, intent_id: str) -> builtins.list[Intent]:
        self._check_open()
        with self._lock:
            self._require(intent_id)
            rows = self._read("ancestors", {"id": intent_id})
        return [intent_from_json(r[2]) for r in sorted(rows, key=lambda r: r[0])]

    def dependencies(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, "dependencies", transitive)

    def dependents(self, intent_id: str, *, transitive: bool = False) -> builtins.list[Intent]:
        return self._reach(intent_id, "dependents", transitive)

    def _reach(self, intent_id: str, kind: str, transitive: bool) -> builtins.list[Intent]:
        self._check_open()
        if not storable_id(intent_id):
            raise IntentNotFound(intent_id)
        with self._lock:
            found = self._walk(intent_id, kind) if transitive else None
            if found is None:
                found = self._layers(intent_id, kind, transitive)
        dist, data = found
        del dist[intent_id]
        order = sorted(n for n in dist if n in data)  # not in data: deleted meanwhile
        order.sort(key=dist.__getitem__)  # stable: by distance, then id
        with gc_paused(len(order)):
            return intents_from_json([data[n] for n in order])

    def _walk(self, intent_id: str, kind: str) -> _Reached | None:
        """Breadth first over the edges ``<kind>_reach.cypher`` reads: one query follows
        every DEPENDS_ON chain at once, and another is needed only for intents reached
        through BLOCKS alone (a variable-length pattern follows one direction). None when a
        query listed ``WALK_PATHS`` paths (it may have stopped short): walk by layers."""
        query = load(f"{kind}_reach")
        succ: dict[str, builtins.list[str]] = {}
        data: dict[str, str] = {}
        expanded: set[str] = set()  # every edge out of these is in succ

        def fetch(ids: builtins.list[str]) -> bool:
            for part in g.chunks(ids):
                rows = self._read_rows(query, {"ids": list(part), "paths": WALK_PATHS})
                walked = len(part)  # paths: one of length 0 from each, one per DEPENDS_ON row
                expanded.update(part)  # found or not (deleted meanwhile): nothing more
                for node, nxt, blob, etype in rows:
                    succ.setdefault(node, []).append(nxt)
                    data[nxt] = blob
                    if etype == _DEPENDS_ON:  # on a DEPENDS_ON chain: walked in full
                        expanded.add(nxt)
                        walked += 1
                if walked >= WALK_PATHS:  # either walk may have stopped short
                    return False
            return True

        complete = fetch([intent_id])
        if intent_id not in succ and not self._read("get", {"id": intent_id}):
            raise IntentNotFound(intent_id)  # no edge, and not there: a second query
        if not complete:
            return None
        dist = {intent_id: 0}
        layer = [intent_id]
        depth = 0
        while layer:
            missing = [n for n in layer if n not in expanded]
            if missing and not fetch(missing):
                return None
            depth += 1
            following = []
            for node in layer:
                for nxt in succ.get(node, ()):
                    if nxt not in dist:
                        dist[nxt] = depth
                        following.append(nxt)
            layer = following
        return dist, data

    def _layers(self, intent_id: str, kind: str, transitive: bool) -> _Reached:
        """Breadth first, one query per layer, each bringing its intents' JSON along: the
        first layer also tells whether the start exists; a visited set keeps it linear."""
        dist = {intent_id: 0}
        data: dict[str, str] = {}
        current = [intent_id]
        depth = 0
        while current and (transitive or depth < 1):
            depth += 1
            found = self._read_layer(f"{kind}_data", current)
            if depth == 1 and intent_id not in found:
                raise IntentNotFound(intent_id)
            following = []
            for node in current:
                for nxt, blob in found.get(node, ()):
                    if nxt not in dist:
                        dist[nxt] = depth
                        data[nxt] = blob
                        following.append(nxt)
            current = following
        return dist, data

    def _dependency_map(self) -> dict[str, builtins.list[str]]:
        result: dict[str, builtins.list[str]] = {}
        for dependent, dependency in self._read("cycles_check"):
            result.setdefault(dependent, []).append(dependency)
        return result

    # --- ready, and what the work loop reads ----------------------------------------------

    def ready(self, *, limit: int | None = None) -> builtins.list[Intent]:
        self._check_open()
        check_limit(limit)
        if limit == 0:
            return []
        with self._lock:
            if limit is None or limit > MAX_LIMIT:  # no LIMIT at all: see Dialect.max_page
                query = load("ready").removesuffix(" LIMIT $limit")
                rows = self._read_rows(query, {"floor": _LOWEST})[:limit]
            else:
                return self._ready_band(limit)
        return [intent_from_json(r[0]) for r in rows]

    def _ready_band(self, limit: int) -> builtins.list[Intent]:
        """``ready(limit=limit)`` reading only the intents with ``rp`` at least a floor. Any
        floor gives the right answer when ``limit`` intents come back (the best ``limit``
        then all have that priority or more), so the last answer's lowest priority is tried
        first: one query, and a band as narrow as priorities allow. When fewer come back,
        the floor is found again (``_ready_floor``)."""
        floor = self._ready_floors.get(limit)
        if floor is not None:
            rows = self._read("ready", {"floor": floor, "limit": limit})
            if len(rows) < limit:
                floor = None
        if floor is None:
            floor = self._ready_floor(limit)
            rows = self._read("ready", {"floor": floor, "limit": limit})
        found = [intent_from_json(r[0]) for r in rows]
        if len(found) == limit:
            # Replaced, never changed in place (the class attribute is shared); a few limits.
            floors = dict(self._ready_floors) if len(self._ready_floors) < 8 else {}
            floors[limit] = found[-1].priority
            self._ready_floors = floors
        return found

    def _ready_floor(self, want: int) -> int:
        """The lowest priority ``ready(limit=want)`` must read: the top band of the ``rp``
        index, widened band by band until it holds ``want`` intents, so that the server sorts
        only that band (a sort of every ready intent costs 20-40 ms at 50k on FalkorDB)."""
        below = None
        for _ in range(3):
            top = self._read("ready_top", {"below": below})[0][0]
            if top is None:
                break
            if self._read("ready_count", {"floor": top})[0][0] >= want:
                return int(top)
            below = top
        return _LOWEST

    def _next_ready(self, flt: IntentFilter) -> Intent | None:
        """The first ready intent ``flt`` matches: the top of the ready index, read further
        only while nothing there matches."""
        seen = 0
        for limit in (1, 64, None):
            if limit == 1 and flt.model_fields_set:
                continue
            found = self.ready(limit=limit)
            for intent in found[seen:]:
                if flt.matches(intent):
                    return intent
            if limit is None or len(found) < limit:
                return None
            seen = len(found)
        return None

    def _require_ready(self, intent: Intent) -> None:
        rows = self._read("readiness", {"id": intent.id})
        if rows and not any(rows[0]):
            return
        super()._require_ready(intent)  # names what holds it

    def _expired_leases(self, now: datetime) -> builtins.list[Intent]:
        rows = sorted(self._read("expired_leases", {"now": to_us(now)}))
        return [intent_from_json(data) for _, data in rows]

    # --- whole-graph answers ---------------------------------------------------------------

    def blocked(self) -> builtins.list[BlockedIntent]:
        self._check_open()
        with self._lock:
            rows = self._read("blocked", g.DERIVED_PARAMS)
            holding = self._read("holding", {"holding": g.HOLDING})
            stale = self._expired_leases(self.now())
        found: dict[str, tuple[Intent, builtins.list[Intent], builtins.list[Intent], bool]] = {}
        for intent_id, data, deps, subs in rows:
            unique = {d.id: d for d in map(intent_from_json, deps)}
            found[intent_id] = (
                intent_from_json(data),
                [unique[i] for i in sorted(unique)],
                sorted(map(intent_from_json, subs), key=lambda i: i.id),
                False,
            )
        for intent in stale:  # rare: a query each
            deps = [d for d in self.dependencies(intent.id) if d.status is not _DONE]
            subs = [c for c in self.children(intent.id) if c.status not in FINISHED_SUBGOAL]
            found[intent.id] = (intent, deps, subs, True)
        holders = self._holders(set(found)) if holding and found else {}
        result = [
            BlockedIntent.model_construct(
                intent=intent,
                blocked_by=deps,
                subgoals=subs,
                held_by=[h for _, _, h in sorted(holders.get(intent_id, []))],
                lease_expired=expired,
            )
            for intent_id, (intent, deps, subs, expired) in found.items()
        ]
        result.sort(key=lambda b: ready_key(b.intent))
        return result

    def _holders(self, targets: set[str]) -> dict[str, builtins.list[tuple[int, str, Intent]]]:
        """As ``GraphQueries._holders``, on the subgoal and blocking edges read once."""
        children: dict[str, builtins.list[str]] = {}
        dependents: dict[str, builtins.list[str]] = {}
        parent: dict[str, str] = {}
        with self._lock:
            finished = {
                i: IntentStatus(s) in FINISHED_SUBGOAL for i, s in self._read("statuses")
            }
            for child, up in self._read("subgoal_pairs"):
                children.setdefault(up, []).append(child)
                parent[child] = up
            for dependent, dependency in self._read("cycles_check"):
                dependents.setdefault(dependency, []).append(dependent)
            rows = self._read("holding", {"holding": g.HOLDING})
        holders = [intent_from_json(r[1]) for r in rows]
        return holders_in_maps(holders, targets, children, dependents, parent, finished)

    def _impact_of(self, intent: Intent, *, holds_parent: bool) -> dict[str, int]:
        """``_graph.blast_radius`` over neighbourhoods read a layer at a time: whenever the
        walk reaches an intent not read yet, every intent it has seen but not read comes in
        the same query (``impact_layer.cypher``)."""
        with self._lock:

            def fetch(ids: builtins.list[str]) -> dict[str, Any]:
                if self._levels:
                    return g.rows_by_id(self._x, "impact_layer", ids)
                return self._retry(lambda: g.rows_by_id(self._x, "impact_layer", ids))

            near = _Neighbourhoods(fetch)
            return _graph.blast_radius(
                intent.id,
                children=lambda n: near.get(n)[0],
                dependents=lambda n: near.get(n)[1],
                parent=lambda n: near.get(n)[2],
                holds_parent=holds_parent,
            )

    def _counts(self) -> Counts:
        by_status = {s.value: 0 for s in IntentStatus}
        by_type = {t.value: 0 for t in EdgeType}
        with self._lock:
            for status, n in self._read("stats"):
                if status in by_status:
                    by_status[status] = int(n)
            for etype, n in self._read("edge_counts"):
                if etype in by_type:
                    by_type[etype] = int(n)
            orphans = int(self._read("orphans")[0][0])
        return sum(by_status.values()), by_status, sum(by_type.values()), by_type, orphans

    def _top_blockers(self) -> builtins.list[tuple[str, int]]:
        with self._lock:
            # The mark first: edges read after it are at least as new, so an index is never
            # kept under a mark older than its edges. Not while a writer is at work: on
            # FalkorDB this read may see edges that are not committed.
            mark = int(self._schema_read("feed_mark")[0])
            cached = self._blockers
            if cached is None or cached[0] != mark or self._levels:
                succ: dict[str, builtins.list[str]] = {}
                for dependent, dependency in self._read("cycles_check"):
                    succ.setdefault(dependency, []).append(dependent)
                index = _graph.ReachIndex(succ)
                if not self._levels and self._x.quiet():
                    self._blockers = (mark, index)
            else:
                index = cached[1]

            def unfinished(batch: Sequence[str]) -> set[str]:
                rows = self._read("unfinished", {"ids": list(batch), "finished": g.FINISHED})
                return {r[0] for r in rows}

            return index.top(unfinished)

    def _changes(self, since: int, limit: int | None) -> ChangeBatch:
        with self._lock:
            mark, first = (int(v) for v in self._schema_read("feed_mark"))
            if self._levels and self._feed_base is not None:
                mark = min(mark, self._feed_base)  # this transaction's own are not shown yet
            if not first <= since + 1 <= mark + 1:  # forgotten, or from another store
                return ChangeBatch(seq=mark, latest=mark, changes=[], complete=False)
            want = mark - since if limit is None else min(limit, mark - since)
            rows = []
            if want:
                params = {"since": since, "mark": mark, "limit": want}
                rows = self._read("feed_changes", params)
        if len(rows) != want or (rows and rows[0][0] != since + 1):
            # Trimmed between the two reads: what was asked for is no longer all there.
            return ChangeBatch(seq=mark, latest=mark, changes=[], complete=False)
        last = rows[-1][0] if rows else since
        changes = [as_change((r[0], r[1], r[2], r[3], r[4], r[5])) for r in rows]
        return ChangeBatch(seq=last, latest=max(mark, last), changes=changes, complete=True)


_FINISHED = frozenset(s.value for s in FINISHED_SUBGOAL)


def _depths(root: str, parent_of: dict[str, str]) -> dict[str, int]:
    """Each intent's depth below ``root``, from its parent: every parent is ``root`` or
    itself in ``parent_of`` (subtree.cypher's walk reached it first, one step shorter)."""
    depth = {root: 0}
    for node in parent_of:
        chain: list[str] = []
        while node not in depth:
            if node not in parent_of or len(chain) > len(parent_of):
                raise StoreCorrupted(f"the subgoal edges below {root!r} do not form a tree")
            chain.append(node)
            node = parent_of[node]
        level = depth[node]
        for child in reversed(chain):
            level += 1
            depth[child] = level
    return depth


class _Neighbourhoods:
    """Each intent's (children, dependents, parent) with whether each is finished, read in
    batches: a miss reads every intent seen in an answer and not read yet."""

    def __init__(self, fetch: Callable[[builtins.list[str]], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._known: dict[str, tuple[Any, Any, Any]] = {}
        self._seen: dict[str, None] = {}

    def get(self, intent_id: str) -> tuple[Any, Any, Any]:
        if intent_id not in self._known:
            self._seen[intent_id] = None
            wanted = [i for i in self._seen if i not in self._known]
            self._seen.clear()
            rows = self._fetch(wanted)
            for node in wanted:
                self._known[node] = self._shape(rows.get(node))
            if intent_id not in rows:
                raise IntentNotFound(intent_id)
        return self._known[intent_id]

    def _shape(self, row: Any) -> tuple[Any, Any, Any]:
        if row is None:
            return [], [], None
        children, dependents, parents = (
            [(i, s in _FINISHED) for i, s in pairs] for pairs in row
        )
        for node, _ in (*children, *dependents, *parents):
            if node not in self._known:
                self._seen[node] = None
        return children, dependents, parents[0] if parents else None
