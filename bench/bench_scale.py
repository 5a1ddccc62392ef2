"""Whole-graph queries at scale on every backend (issue 10), beside raw baselines.

Run by hand: ``python bench/bench_scale.py [--n 10000 100000] [--skip-json-open]``. Data as
``bench_graph.py``: five goal trees with fan-out 4, ``n / 2`` DEPENDS_ON edges to earlier
intents, a third of the intents completed. For each size: ``stats()``, ``blocked()``,
``ready(limit=100)``, full ``ready()`` and ``cycles()`` on memory, JSON and SQLite; the JSON
store's open time and peak RSS with a 10k-write journal (the median of three fresh
processes); and SQLite's WAL size after the bulk load, its file size beside the payload
(the UTF-8 bytes of every record's JSON as the codec writes it: what a backup holds,
however the store keeps it) and its largest tables and indexes.

Raw baselines, in the same run on the same file: ``stats`` — the SQL counts by status and
by edge type; ``blocked`` — one SQL query returning the intents that are not ready with the
data of their unfinished direct dependencies and subgoals, parsed with ``json.loads``;
``ready`` — the partial-index query, parsed; ``cycles`` — every blocking edge read with SQL
and Kahn's algorithm in Python (the least work that decides acyclicity); ``json open`` —
a fresh process reading the same document with the standard library's ``json.loads`` and
each journal line's JSON, nothing checked (the least work that has the data in Python).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import deque
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from _common import HEADER, parse_all, raw_connection, row, timed
from bench_graph import build, make_data

from intentgraph.backends.jsonfile import JsonFileStore
from intentgraph.backends.memory import MemoryStore
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import Intent

RAW_STATS = (
    "SELECT status, count(*) FROM intents GROUP BY status",
    "SELECT type, count(*) FROM edges GROUP BY type",
    "SELECT count(*) FROM intents i WHERE NOT EXISTS (SELECT 1 FROM edges WHERE source = i.id)"
    " AND NOT EXISTS (SELECT 1 FROM edges WHERE target = i.id)",
)
RAW_BLOCKED = """
SELECT b.data,
  (SELECT json_group_array(json(d.data)) FROM edges e JOIN intents d ON d.id = e.target
    WHERE e.source = b.id AND e.type = 'DEPENDS_ON' AND d.status != 'completed'),
  (SELECT json_group_array(json(c.data)) FROM edges e JOIN intents c ON c.id = e.source
    WHERE e.target = b.id AND e.type = 'IS_SUBGOAL_OF'
      AND c.status NOT IN ('completed', 'archived'))
FROM intents b
WHERE b.status = 'active' AND (b.unmet > 0 OR b.held > 0 OR b.open_subgoals > 0)
ORDER BY b.priority DESC, b.created_us, b.id
"""
RAW_READY = (
    "SELECT data FROM intents INDEXED BY ix_intents_ready WHERE status = 'active'"
    " AND unmet = 0 AND held = 0 AND open_subgoals = 0 ORDER BY priority DESC, created_us, id"
)


def raw_stats(conn: sqlite3.Connection) -> None:
    for sql in RAW_STATS:
        conn.execute(sql).fetchall()


def raw_blocked(conn: sqlite3.Connection) -> None:
    for data, deps, subs in conn.execute(RAW_BLOCKED):
        json.loads(data), json.loads(deps), json.loads(subs)


def raw_cycles(conn: sqlite3.Connection) -> bool:
    pairs = conn.execute(
        "SELECT source, target FROM edges WHERE type = 'DEPENDS_ON'"
        " UNION ALL SELECT target, source FROM edges WHERE type = 'BLOCKS'"
    ).fetchall()
    succ: dict[str, list[str]] = {}
    indeg: dict[str, int] = {}
    for a, b in pairs:
        succ.setdefault(a, []).append(b)
        indeg[b] = indeg.get(b, 0) + 1
        indeg.setdefault(a, 0)
    queue = deque(n for n, d in indeg.items() if d == 0)
    seen = 0
    while queue:
        node = queue.popleft()
        seen += 1
        for nxt in succ.get(node, ()):
            indeg[nxt] -= 1
            if indeg[nxt] == 0:
                queue.append(nxt)
    return seen == len(indeg)


OPEN_PROBE = textwrap.dedent("""
    import sys, time
    from intentgraph.backends.jsonfile import JsonFileStore
    start = time.perf_counter()
    store = JsonFileStore(sys.argv[1], read_only=True)
    elapsed = time.perf_counter() - start
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a child would
    # report the benchmark process's own peak.
    with open("/proc/self/status") as fh:
        rss = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
    print(elapsed, rss, store.count())
""")


# The raw baseline: the least work that reads the same data into Python objects, no check
# made: the document by the standard library's json.loads, and each journal line's JSON
# after its checksum.
RAW_OPEN_PROBE = textwrap.dedent("""
    import json, sys, time
    start = time.perf_counter()
    with open(sys.argv[1], "rb") as fh:
        document = json.loads(fh.read())
    with open(sys.argv[1] + ".journal", "rb") as fh:
        journal = [json.loads(line[9:]) for line in fh]
    elapsed = time.perf_counter() - start
    with open("/proc/self/status") as fh:
        rss = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
    print(elapsed, rss, len(document["intents"]) + len(journal))
""")


def json_open(path: str, probe: str = OPEN_PROBE) -> tuple[float, float]:
    """Open the JSON store read-only in a fresh process (``probe``: or read it raw):
    (seconds, peak RSS in MB)."""
    run = subprocess.run(
        [sys.executable, "-c", probe, path], capture_output=True, text=True, check=True
    )
    seconds, rss, _ = run.stdout.split()
    return float(seconds), float(rss)


def payload_bytes(store: SqliteStore) -> int:
    """The records' size, whatever the storage: the UTF-8 bytes of every intent's and edge's
    JSON as ``_codec.intent_to_json``/``edge_to_json`` write it (a backup's records)."""
    total = 0
    with store.snapshot(batch_size=5000) as view:
        for texts in view.intent_json():
            total += sum(len(t.encode()) for t in texts)
        for texts in view.edge_json():
            total += sum(len(t.encode()) for t in texts)
    return total


def sizes(path: str) -> str:
    """The file's largest tables and indexes (SQLite's dbstat), in MB."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
        ).fetchall()
    finally:
        conn.close()
    return ", ".join(f"{name} {size / 1e6:.1f}" for name, size in rows)


def queries(stores: dict[str, Any], raw: sqlite3.Connection, n: int, repeat: int) -> None:
    """Print each whole-graph query on every backend beside its raw baseline."""
    figures = {
        "stats()": (lambda s: s.stats(), lambda: raw_stats(raw)),
        "blocked()": (lambda s: s.blocked(), lambda: raw_blocked(raw)),
        "ready(limit=100)": (
            lambda s: s.ready(limit=100),
            lambda: parse_all(raw.execute(RAW_READY + " LIMIT 100").fetchall()),
        ),
        "ready() full": (
            lambda s: s.ready(),
            lambda: parse_all(raw.execute(RAW_READY).fetchall()),
        ),
        "cycles()": (lambda s: s.cycles(), lambda: raw_cycles(raw)),
    }
    for label, (ours, base) in figures.items():
        baseline = timed(base, repeat)
        for kind, store in stores.items():
            took = timed(lambda s=store, f=ours: f(s), repeat)
            print(row(f"{kind} {label} {n}", took, baseline), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--skip-json-open", action="store_true")
    args = parser.parse_args()
    print(HEADER)
    for n in args.n:
        repeat = 3 if n <= 100_000 else 1
        intents, edges = make_data(n)
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            sqlite = SqliteStore(os.path.join(directory, "s.db"))
            build(sqlite, intents, edges)
            built = time.perf_counter() - start
            db = os.path.join(directory, "s.db")
            wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
            payload = payload_bytes(sqlite)
            print(
                row(
                    f"sqlite build {n} (s)",
                    built,
                    None,
                    unit="s",
                    note=f"file {os.path.getsize(db) / 1e6:.1f} MB, WAL {wal / 1e6:.1f} MB, "
                    f"payload {payload / 1e6:.1f} MB, file/payload "
                    f"{os.path.getsize(db) / payload:.2f}x (target <= 2x)",
                ),
                flush=True,
            )
            print(f"(largest in MB: {sizes(db)})", flush=True)
            memory = MemoryStore()
            build(memory, intents, edges)
            jpath = os.path.join(directory, "j.json")
            js = JsonFileStore(jpath)
            build(js, intents, edges)
            raw = raw_connection(db, create=False)
            queries({"memory": memory, "json": js, "sqlite": sqlite}, raw, n, repeat)
            js.close()
            if not args.skip_json_open:
                # Reopen with a 10k-write journal on top of the folded document.
                writer = JsonFileStore(jpath)
                for k in range(10_000):
                    writer.put(Intent(id=f"extra{k:05d}", name="journalled"))
                writer._release()  # die without folding: the journal stays
                # Three fresh processes each, ours and raw in turn: this machine's speed moves
                # by a quarter from one minute to the next, so one run says little; the
                # medians are the figures.
                pairs = [(json_open(jpath), json_open(jpath, RAW_OPEN_PROBE)) for _ in range(3)]
                runs = sorted(ours for ours, _ in pairs)
                raw_runs = sorted(raw for _, raw in pairs)
                seconds = runs[1][0]
                note = (
                    f"median of 3 ({runs[0][0]:.3f}-{runs[2][0]:.3f} s); peak RSS "
                    f"{max(rss for _, rss in runs):.0f} MB (raw {raw_runs[1][1]:.0f} MB); "
                    "10k-write journal; targets < 1.5 s, < 300 MB"
                )
                print(
                    row(
                        f"json open {n} + 10k journal (s)",
                        seconds,
                        raw_runs[1][0],
                        unit="s",
                        note=note,
                    )
                )
            raw.close()
            sqlite.close()
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"(benchmark process peak RSS so far: {own:.0f} MB)", flush=True)


if __name__ == "__main__":
    main()
