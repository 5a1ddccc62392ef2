"""The Cypher store on FalkorDB and on the Bolt test server, beside raw Cypher sent through the
same client in the same run.

Run by hand (never in CI): ``python bench/bench_cypher.py [--n 100000] [--server falkordb]``.
The servers are started as the test fixtures start them (``tests/graph_servers.py``) and
stopped at the end. Data: bench_graph's five goal trees of n/5 with fan-out 4, n/2 acyclic
DEPENDS_ON edges, a third of the intents completed.

Raw baselines: the same rows as the store writes (its node and relationship properties,
computed before the clock starts), ``UNWIND $rows`` in batches of the store's size; ``MATCH
(i:Intent {id: $id}) RETURN i`` for ``get``; for ``ready``/subtree/closures a raw query
returning the same rows (variable-length paths where the store walks layer by layer). Read
timings take ours and raw in turn (``paired``), so that both meet the same moments of a
shared machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import HEADER, row
from bench_graph import make_data

import intentgraph as ig
from intentgraph.backends._cypher_graph import CHUNK
from intentgraph.backends._cypher_rows import edge_props, intent_props
from intentgraph.models import Edge, EdgeType, Intent
from tests import graph_servers

RAW_SUBTREE = (
    "MATCH path = (n:Intent)-[:IS_SUBGOAL_OF*0..]->(:Intent {id: $id}) "
    "RETURN length(path), n.id, n.data"
)
RAW_DEPENDENTS = (
    "MATCH (:Intent {id: $id})<-[:DEPENDS_ON*1..]-(d:Intent) RETURN DISTINCT d.id, d.data"
)
RAW_DEPENDENCIES = (
    "MATCH (:Intent {id: $id})-[:DEPENDS_ON*1..]->(d:Intent) RETURN DISTINCT d.id, d.data"
)
RAW_READY = (
    "MATCH (i:Intent) WHERE i.rp >= -9223372036854775808 "
    "RETURN i.data ORDER BY i.rp DESC, i.created_us, i.ik LIMIT 100"
)


class Raw:
    """Raw Cypher through the same client as the store's executor."""

    def __init__(self, kind: str, server: Any, name: str) -> None:
        self.kind = kind
        if kind == "falkordb":
            self.graph = server.client().select_graph(name)
            self.run: Callable[..., Any] = lambda q, p=None: self.graph.query(q, p).result_set
        else:
            self.driver = server.driver()
            self.session = self.driver.session(database=name)
            self.run = lambda q, p=None: [r.values() for r in self.session.run(q, p or {})]

    def close(self) -> None:
        if self.kind != "falkordb":
            self.session.close()
            self.driver.close()


def p50(fn: Callable[[str], Any], ids: list[str]) -> float:
    samples = []
    for intent_id in ids:
        start = time.perf_counter()
        fn(intent_id)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired(ours: Callable[[], Any], raw: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median seconds of ``ours`` and of ``raw``, their calls taken in turn: on a shared
    machine whose speed changes from one second to the next, both see the same moments."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(repeat):
        for fn, samples in ((ours, mine), (raw, theirs)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(mine), statistics.median(theirs)


def bench(kind: str, n: int, *, writes_only: bool = False) -> list[str]:
    if kind == "falkordb":
        server = graph_servers.start_falkordb()
        ours_name, raw_name = server.fresh_graph(), server.fresh_graph()
        url = server.url_for(ours_name)
        server_text = f"FalkorDB {server.version}"
    else:
        server = graph_servers.start_bolt_server()
        ours_name, raw_name = server.fresh_database(), server.fresh_database()
        url = server.url_for(ours_name) + "&retry_timeout=30"
        server_text = f"ArcadeDB {server.version} over Bolt"
    lines = [f"### {server_text}, n={n}", "", HEADER]
    try:
        intents, edges = make_data(n)
        tree_edges = [e for e in edges if e.type is EdgeType.IS_SUBGOAL_OF]
        dep_edges = [e for e in edges if e.type is EdgeType.DEPENDS_ON]
        store = ig.open_store(url)
        raw = Raw(kind, server, raw_name)
        # The raw graph gets the store's schema (same indexes and constraint) by opening a
        # store on it once, then only raw queries.
        ig.open_store(url.replace(ours_name, raw_name)).close()

        start = time.perf_counter()
        store.put_many(intents)
        ours_put = time.perf_counter() - start
        raw_rows = [
            intent_props(i.model_copy(update={"version": 1}), sanitize=False) for i in intents
        ]
        start = time.perf_counter()
        for k in range(0, len(raw_rows), CHUNK):
            raw.run(
                "UNWIND $rows AS r CREATE (i:Intent) SET i = r", {"rows": raw_rows[k : k + CHUNK]}
            )
        raw_put = time.perf_counter() - start
        lines.append(
            row(f"put_many {n} intents (s)", ours_put, raw_put, unit="s",
                note=f"ours/raw throughput {raw_put / ours_put:.0%} (target >= 70%)")
        )  # fmt: skip

        start = time.perf_counter()
        store.add_edges(tree_edges)
        ours_edges = time.perf_counter() - start
        raw_edge_rows = [{"s": e.source, "t": e.target, "p": edge_props(e)} for e in tree_edges]
        start = time.perf_counter()
        for k in range(0, len(raw_edge_rows), CHUNK):
            raw.run(
                "UNWIND $rows AS r MATCH (s:Intent {id: r.s}) MATCH (t:Intent {id: r.t}) "
                "CREATE (s)-[e:IS_SUBGOAL_OF]->(t) SET e = r.p",
                {"rows": raw_edge_rows[k : k + CHUNK]},
            )
        raw_edges = time.perf_counter() - start
        lines.append(
            row(f"add_edges {len(tree_edges)} edges (s)", ours_edges, raw_edges, unit="s",
                note=f"ours/raw throughput {raw_edges / ours_edges:.0%} (target >= 70%)")
        )  # fmt: skip
        start = time.perf_counter()
        store.add_edges(dep_edges)
        dep_time = time.perf_counter() - start
        raw_dep_rows = [{"s": e.source, "t": e.target, "p": edge_props(e)} for e in dep_edges]
        for k in range(0, len(raw_dep_rows), CHUNK):
            raw.run(
                "UNWIND $rows AS r MATCH (s:Intent {id: r.s}) MATCH (t:Intent {id: r.t}) "
                "CREATE (s)-[e:DEPENDS_ON]->(t) SET e = r.p",
                {"rows": raw_dep_rows[k : k + CHUNK]},
            )
        lines.append(row(f"add_edges {len(dep_edges)} DEPENDS_ON (s)", dep_time, None, unit="s",
                         note="not a target: cycle checks over a random DAG"))  # fmt: skip
        if writes_only:
            store.close()
            raw.close()
            return lines

        rng = random.Random(3)
        ids = [i.id for i in intents]
        sample = [rng.choice(ids) for _ in range(500)]
        ours_get = p50(store.get, sample)
        raw_get = p50(lambda i: raw.run("MATCH (i:Intent {id: $id}) RETURN i", {"id": i}), sample)
        lines.append(row("get p50 (ms)", ours_get, raw_get, note="target <= 1.5x"))

        ours_ready, raw_ready = paired(
            lambda: store.ready(limit=100), lambda: raw.run(RAW_READY), 20
        )
        lines.append(row("ready(limit=100) (ms)", ours_ready, raw_ready, note="target < 20 ms"))

        root = ids[0]
        size = len(store.subtree(root))
        ours_sub, raw_sub = paired(
            lambda: store.subtree(root), lambda: raw.run(RAW_SUBTREE, {"id": root}), 5
        )
        lines.append(row(f"subtree ({size} nodes) (ms)", ours_sub, raw_sub, note="target <= 2x"))

        fan_in: dict[str, int] = {}
        fan_out: dict[str, int] = {}
        for e in dep_edges:
            fan_in[e.target] = fan_in.get(e.target, 0) + 1
            fan_out[e.source] = fan_out.get(e.source, 0) + 1
        hub_in = max(fan_in, key=lambda k: (fan_in[k], k))
        hub_out = max(fan_out, key=lambda k: (fan_out[k], k))
        got = len(store.dependents(hub_in, transitive=True))
        ours_dn, raw_dn = paired(
            lambda: store.dependents(hub_in, transitive=True),
            lambda: raw.run(RAW_DEPENDENTS, {"id": hub_in}),
            50,
        )
        lines.append(
            row(f"dependents transitive ({got}) (ms)", ours_dn, raw_dn, note="target <= 2x")
        )
        got = len(store.dependencies(hub_out, transitive=True))
        ours_dp, raw_dp = paired(
            lambda: store.dependencies(hub_out, transitive=True),
            lambda: raw.run(RAW_DEPENDENCIES, {"id": hub_out}),
            50,
        )
        lines.append(
            row(f"dependencies transitive ({got}) (ms)", ours_dp, raw_dp, note="target <= 2x")
        )
        store.close()
        raw.close()
    finally:
        server.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="intents to build")
    parser.add_argument("--server", choices=["falkordb", "bolt", "both"], default="both")
    parser.add_argument("--bolt-n", type=int, default=None, help="n on the Bolt server")
    parser.add_argument("--writes-only", action="store_true", help="stop after the writes")
    args = parser.parse_args()
    kinds = ["falkordb", "bolt"] if args.server == "both" else [args.server]
    for kind in kinds:
        n = args.bolt_n if kind == "bolt" and args.bolt_n else args.n
        print("\n".join(bench(kind, n, writes_only=args.writes_only)), flush=True)
        print()


if __name__ == "__main__":
    main()


__all__ = ["Edge", "Intent", "main"]
