"""One hub with many blocking edges, on every backend: the cost must stay linear.

Run by hand: ``python bench/bench_hub.py [--sizes 10000 20000 100000]``. Two shapes:
``dependents`` (n intents each DEPENDS_ON one hub) and ``dependencies`` (the hub DEPENDS_ON
n intents). Edges go in batches of 1,000 (one transaction each); then 1,000 more are added
one call at a time, the hub is completed (every dependent's blocked state changes), and
``ready(limit=100)`` is read. The raw baseline inserts the same edge rows with
``executemany`` into the same SQLite schema, in the same batches, with no checks at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

from _common import HEADER, raw_connection, row

from intentgraph._base import StoreBase
from intentgraph._codec import intent_to_json
from intentgraph.backends._sqlite_query import edge_row
from intentgraph.backends.jsonfile import JsonFileStore
from intentgraph.backends.memory import MemoryStore
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus

BATCH = 1000


def edges_of(shape: str, n: int) -> list[Edge]:
    if shape == "dependents":
        return [Edge(source=f"x{i:06d}", target="hub", type=EdgeType.DEPENDS_ON) for i in range(n)]
    return [Edge(source="hub", target=f"x{i:06d}", type=EdgeType.DEPENDS_ON) for i in range(n)]


def intents_of(n: int) -> list[Intent]:
    return [Intent(id="hub", name="hub")] + [
        Intent(id=f"x{i:06d}", name="x") for i in range(n + BATCH)
    ]


def run(store: StoreBase, shape: str, n: int) -> tuple[float, float, float, float]:
    """Return (batched adds, per single add, completing the hub, ready(limit=100))."""
    store.put_many(intents_of(n))
    edges = edges_of(shape, n + BATCH)
    start = time.perf_counter()
    for k in range(0, n, BATCH):
        store.add_edges(edges[k : k + BATCH])
    batched = time.perf_counter() - start
    start = time.perf_counter()
    for edge in edges[n:]:
        store.add_edge(edge.source, edge.target, edge.type)
    single = (time.perf_counter() - start) / BATCH
    start = time.perf_counter()
    store.set_status("hub", IntentStatus.COMPLETED)
    complete = time.perf_counter() - start
    start = time.perf_counter()
    store.ready(limit=100)
    ready = time.perf_counter() - start
    return batched, single, complete, ready


def raw_batched(path: str, shape: str, n: int) -> float:
    conn = raw_connection(path, create=True)
    rows = [(i.id, "active", 0, i.name, None, 0, 0, "", intent_to_json(i)) for i in intents_of(n)]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO intents (id, status, priority, name, session_id, created_us, updated_us,"
        " search, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")
    edge_rows = [edge_row(e) for e in edges_of(shape, n)]  # the rows the store writes
    start = time.perf_counter()
    for k in range(0, n, BATCH):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO edges (source, type, target, created_us, data) VALUES (?, ?, ?, ?, ?)",
            edge_rows[k : k + BATCH],
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def open_backend(kind: str, directory: str) -> StoreBase:
    if kind == "memory":
        return MemoryStore()
    if kind == "json":
        return JsonFileStore(os.path.join(directory, "hub.json"))
    return SqliteStore(os.path.join(directory, "hub.db"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 100_000])
    args = parser.parse_args()
    print(HEADER)
    for shape in ("dependents", "dependencies"):
        first: dict[str, float] = {}
        for n in args.sizes:
            with tempfile.TemporaryDirectory() as directory:
                raw = raw_batched(os.path.join(directory, "raw.db"), shape, n)
            for kind in ("memory", "json", "sqlite"):
                with tempfile.TemporaryDirectory() as directory:
                    store = open_backend(kind, directory)
                    batched, single, complete, ready = run(store, shape, n)
                    store.close()
                first.setdefault(kind, batched / n)
                growth = (batched / n) / first[kind]
                label = f"{kind} {shape} {n} edges, batched (s)"
                note = (
                    f"{n / batched:,.0f} edges/s; per edge {growth:.2f}x the smallest size; "
                    f"single add mean {single * 1000:.3f} ms; "
                    f"complete hub {complete * 1000:.1f} ms; ready(100) {ready * 1000:.2f} ms"
                )
                print(row(label, batched, raw, unit="s", note=note), flush=True)


if __name__ == "__main__":
    main()
