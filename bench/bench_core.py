"""Core SQLite figures beside a raw ``sqlite3`` baseline measured in the same run.

Run by hand: ``python bench/bench_core.py [--n 100000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(__file__))

from _common import HEADER, percentiles, raw_connection, row

import intentgraph as ig
from intentgraph.backends.sqlite import SqliteStore, _row
from intentgraph.models import Intent


def make_intents(n: int) -> list[Intent]:
    """Return ``n`` intents of a realistic size."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        Intent(
            name=f"Task {i}: prepare the quarterly summary",
            goal="Collect the figures, check them against the ledger and write a summary.",
            priority=i % 5,
            metadata={"team": f"t{i % 7}", "n": i},
            session_id=f"s{i % 50}",
            created_at=start + timedelta(seconds=i),
            updated_at=start + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def bench_put_many(directory: str, intents: list[Intent]) -> tuple[list[str], SqliteStore]:
    store = SqliteStore(os.path.join(directory, "ours.db"))
    start = time.perf_counter()
    store.put_many(intents)
    ours = time.perf_counter() - start
    rows = [_row(i.model_copy(update={"version": 1}), i.model_dump_json()) for i in intents]
    raw = raw_connection(os.path.join(directory, "raw.db"), create=True)
    start = time.perf_counter()
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(
        "INSERT INTO intents (id, status, priority, name, session_id, created_us, updated_us,"
        " search, lease_expires_us, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    raw.execute("COMMIT")
    raw_time = time.perf_counter() - start
    raw.close()
    n = len(intents)
    return [
        row(
            f"put_many {n} intents (s)",
            ours,
            raw_time,
            unit="s",
            note=f"{n / ours:,.0f}/s vs {n / raw_time:,.0f}/s; ours/raw throughput "
            f"{raw_time / ours:.0%} (target >= 50%)",
        ),
    ], store


def bench_get(store: SqliteStore, ids: list[str], directory: str) -> list[str]:
    sample = random.Random(1).sample(ids, min(2000, len(ids)))
    ours = []
    for intent_id in sample:
        start = time.perf_counter()
        store.get(intent_id)
        ours.append(time.perf_counter() - start)
    raw = raw_connection(os.path.join(directory, "ours.db"), create=False)
    base = []
    for intent_id in sample:
        start = time.perf_counter()
        data = raw.execute("SELECT data FROM intents WHERE id = ?", (intent_id,)).fetchone()[0]
        json.loads(data)
        base.append(time.perf_counter() - start)
    raw.close()
    (o50, o90), (r50, r90) = percentiles(ours), percentiles(base)
    return [
        row("get p50 (ms)", o50, r50, note="target <= 3x"),
        row("get p90 (ms)", o90, r90),
    ]


def bench_json(directory: str, sizes: list[int], samples_per_size: int = 300) -> list[str]:
    """One durable ``put`` on the JSON backend beside a raw append + fdatasync of the same
    bytes, at several store sizes; the target compares the largest size with 1k."""
    lines = []
    first_p50 = None
    for size in sizes:
        path = os.path.join(directory, f"store-{size}.json")
        try:
            store = ig.open_store("json:///" + path)
        except (ImportError, ig.errors.InvalidURL) as exc:
            return [f"(JSON backend skipped: {type(exc).__name__}: {exc})"]
        store.put_many(make_intents(size))
        ours, raw = [], []
        raw_fd = os.open(
            os.path.join(directory, f"raw-{size}.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND
        )
        for i in range(samples_per_size):
            intent = Intent(name=f"extra {i}", goal="Write the summary.", metadata={"n": i})
            start = time.perf_counter()
            store.put(intent)
            ours.append(time.perf_counter() - start)
            # raw: the same record's JSON, appended and fdatasync'd by hand
            start = time.perf_counter()
            os.write(raw_fd, intent.model_dump_json().encode() + b"\n")
            os.fdatasync(raw_fd)
            raw.append(time.perf_counter() - start)
        os.close(raw_fd)
        store.close()
        (p50, p90), (r50, _) = percentiles(ours), percentiles(raw)
        first_p50 = first_p50 or p50
        lines.append(
            row(
                f"json durable put p50 at {size} intents (ms)",
                p50,
                r50,
                note=f"p90 {p90 * 1e3:.3f} ms; {p50 / first_p50:.2f}x the p50 at {sizes[0]}"
                " (targets: p50 < 1 ms, <= 2x at 100k)",
            )
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="intents to store")
    args = parser.parse_args()
    intents = make_intents(args.n)
    with tempfile.TemporaryDirectory() as directory:
        lines, store = bench_put_many(directory, intents)
        lines += bench_get(store, [i.id for i in intents], directory)
        store.close()
        sizes = [s for s in (1_000, 10_000, 100_000) if s <= max(args.n, 1_000)]
        lines += bench_json(directory, sizes)
    print(HEADER)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
