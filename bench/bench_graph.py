"""Graph queries on SQLite beside a raw SQL baseline (and the memory backend).

Run by hand: ``python bench/bench_graph.py [--n 100000]``. Data: five goal trees with
fan-out 4, ``n / 2`` acyclic DEPENDS_ON edges, a third of the intents completed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

from _common import HEADER, parse_all, percentiles, raw_connection, row, timed
from bench_core import make_intents

from intentgraph._base import StoreBase
from intentgraph.backends.memory import MemoryStore
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus

RAW_READY = (
    "SELECT data FROM intents INDEXED BY ix_intents_ready"
    " WHERE status = 'active' AND unmet = 0 AND held = 0 AND open_subgoals = 0"
    " ORDER BY priority DESC, created_us, id"
)
RAW_SUBTREE = """
WITH RECURSIVE t(id, depth) AS (SELECT ?, 0 UNION ALL
  SELECT e.source, t.depth + 1 FROM t JOIN edges e ON e.target = t.id AND e.type = 'IS_SUBGOAL_OF')
SELECT i.data FROM t JOIN intents i ON i.id = t.id ORDER BY t.depth, t.id
"""
RAW_DEPENDENTS = """
WITH RECURSIVE r(id, d) AS (SELECT ?, 0 UNION
  SELECT e.source, r.d + 1 FROM r JOIN edges e ON e.target = r.id AND e.type = 'DEPENDS_ON')
SELECT i.data FROM (SELECT id, min(d) AS d FROM r GROUP BY id) m JOIN intents i ON i.id = m.id
WHERE m.d > 0 ORDER BY m.d, m.id
"""
RAW_DEPENDENCIES = RAW_DEPENDENTS.replace(
    "e.source, r.d + 1 FROM r JOIN edges e ON e.target",
    "e.target, r.d + 1 FROM r JOIN edges e ON e.source",
)


def make_data(n: int, seed: int = 7) -> tuple[list[Intent], list[Edge]]:
    """Return the benchmark's intents and edges."""
    rng = random.Random(seed)
    intents = make_intents(n)
    for intent in intents:
        if rng.random() < 1 / 3:
            intent.status = IntentStatus.COMPLETED
    ids = [i.id for i in intents]
    tree = n // 5
    edges = []
    for t in range(5):
        base = t * tree
        edges += [
            Edge(source=ids[base + k], target=ids[base + (k - 1) // 4], type=EdgeType.IS_SUBGOAL_OF)
            for k in range(1, tree)
        ]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < n // 2:
        a = rng.randrange(1, n)
        pairs.add((a, rng.randrange(0, a)))
    edges += [
        Edge(source=ids[a], target=ids[b], type=EdgeType.DEPENDS_ON) for a, b in sorted(pairs)
    ]
    return intents, edges


def build(store: StoreBase, intents: list[Intent], edges: list[Edge]) -> None:
    store.put_many(intents)
    store.add_edges(edges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="intents to build")
    args = parser.parse_args()
    n = args.n
    lines = []
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "graph.db")
        store = SqliteStore(path)
        intents, edges = make_data(n)
        ids = [i.id for i in intents]
        start = time.perf_counter()
        build(store, intents, edges)
        build_s = time.perf_counter() - start
        memory = MemoryStore()
        build(memory, intents, edges)
        raw = raw_connection(path, create=False)
        root = ids[0]
        # The intents with the most direct dependents / dependencies: big closures.
        fan_in: dict[str, int] = {}
        fan_out: dict[str, int] = {}
        for e in edges:
            if e.type is EdgeType.DEPENDS_ON:
                fan_in[e.target] = fan_in.get(e.target, 0) + 1
                fan_out[e.source] = fan_out.get(e.source, 0) + 1
        early = max(ids[: n // 100 + 1], key=lambda i: (fan_in.get(i, 0), i))
        late = max(ids[-(n // 100 + 1) :], key=lambda i: (fan_out.get(i, 0), i))

        def add(label: str, ours: float, base: float | None, mem: float, note: str) -> None:
            lines.append(row(label, ours, base, note=f"memory {mem * 1e3:.3f} ms; {note}"))

        add(
            "ready(limit=100)",
            timed(lambda: store.ready(limit=100), 20),
            timed(lambda: parse_all(raw.execute(RAW_READY + " LIMIT 100").fetchall()), 20),
            timed(lambda: memory.ready(limit=100), 3),
            "target < 5 ms",
        )
        full = len(store.ready())
        add(
            f"ready() full ({full} rows)",
            timed(store.ready, 3),
            timed(lambda: parse_all(raw.execute(RAW_READY).fetchall()), 3),
            timed(memory.ready, 3),
            "target <= 2x raw",
        )
        size = len(store.subtree(root))
        add(
            f"subtree of a tree ({size} nodes)",
            timed(lambda: store.subtree(root), 3),
            timed(lambda: parse_all(raw.execute(RAW_SUBTREE, (root,)).fetchall()), 3),
            timed(lambda: memory.subtree(root), 3),
            "target <= 2x raw CTE",
        )
        size = len(store.dependents(early, transitive=True))
        add(
            f"dependents transitive ({size})",
            timed(lambda: store.dependents(early, transitive=True), 3),
            timed(lambda: parse_all(raw.execute(RAW_DEPENDENTS, (early,)).fetchall()), 3),
            timed(lambda: memory.dependents(early, transitive=True), 3),
            "target <= 2x raw CTE",
        )
        size = len(store.dependencies(late, transitive=True))
        add(
            f"dependencies transitive ({size})",
            timed(lambda: store.dependencies(late, transitive=True), 5),
            timed(lambda: parse_all(raw.execute(RAW_DEPENDENCIES, (late,)).fetchall()), 5),
            timed(lambda: memory.dependencies(late, transitive=True), 5),
            "target <= 2x raw CTE",
        )
        add("cycles()", timed(store.cycles, 3), None, timed(memory.cycles, 3), "target < 1 s")
        rng = random.Random(3)
        samples = []
        for _ in range(200):
            a = rng.randrange(1, n)
            b = rng.randrange(0, a)
            start = time.perf_counter()
            store.add_edge(ids[a], ids[b], EdgeType.DEPENDS_ON)
            samples.append(time.perf_counter() - start)
        p50, p90 = percentiles(samples)
        add(
            "add DEPENDS_ON edge p50 (durable commit)",
            p50,
            None,
            0.0,
            f"p90 {p90 * 1e3:.3f} ms; target < 1 ms",
        )
        raw.close()
        store.close()
    print(f"built {n} intents in {build_s:.1f} s (SQLite put_many + add_edges)")
    print(HEADER)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
