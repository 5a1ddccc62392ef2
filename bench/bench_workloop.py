"""The work loop on SQLite: ``claim_next`` + ``release`` throughput from worker processes,
and ``claim_next`` latency at 100k intents, beside a raw baseline measured in the same run.

Run by hand: ``python bench/bench_workloop.py [--procs 1 2 4] [--work-ms 0 5]
[--seconds 4] [--repeat 3] [--n 100000] [--trace]``.

Throughput: P worker processes (spawned, each opening the store itself) loop
``claim_next`` → sleep ``work`` → ``release`` on one store of ready intents for a fixed
time; claims/s counts the releases done in that time. Every error a worker meets is
counted and printed (the target: no "database is locked" reaches a caller). ``--trace``
also times, in each worker, how long ``BEGIN IMMEDIATE`` waited and how long each write
transaction held the database. ``--compare`` runs each measure twice in a row, as writers
wait since the writer lock (``backends/_sqlite_lock.py``) and as they waited before it, in
SQLite's busy handler: on a shared machine only figures taken side by side compare.

Latency: ``claim_next`` one call at a time on a store of ``n`` ready intents (each a
durable commit), in blocks alternating with the raw baseline on the same file: one
``UPDATE ... WHERE id = (SELECT id FROM intents INDEXED BY ix_intents_ready ... LIMIT 1)
RETURNING data`` in ``BEGIN IMMEDIATE`` + ``json.loads``, with the same PRAGMAs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from _common import HEADER, percentiles, raw_connection, row

from intentgraph.backends._sqlite_graph import READY_WHERE
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.errors import IntentGraphError
from intentgraph.models import Intent


def make_intents(first: int, end: int) -> list[Intent]:
    """Return independent ready intents ``first`` to ``end`` of a realistic size."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return [
        Intent(
            id=f"job-{i:07d}",
            name=f"Task {i}: prepare the quarterly summary",
            goal="Collect the figures, check them against the ledger and write a summary.",
            metadata={"team": f"t{i % 7}", "n": i},
            created_at=start + timedelta(seconds=i),
            updated_at=start + timedelta(seconds=i),
        )
        for i in range(first, end)
    ]


def make_store(path: str, n: int) -> None:
    with SqliteStore(path) as store:
        for k in range(0, n, 50_000):
            store.put_many(make_intents(k, min(k + 50_000, n)))


# --- throughput ---------------------------------------------------------------------


class Trace:
    """Where a worker's time goes: how long each outermost ``BEGIN`` waited (for the
    writer lock and SQLite's), how long each write transaction held the database, the
    time in each kind of SQL statement, and the process's CPU time."""

    def __init__(self, store: SqliteStore) -> None:
        self.waits: list[float] = []
        self.holds: list[float] = []
        self.statements: dict[str, float] = {}
        begin, commit, conn = store._tx_begin, store._tx_commit, store._conn
        opened: list[float] = []
        statements = self.statements

        def timed_begin(level: Any) -> None:
            start = time.perf_counter()
            begin(level)
            if level.depth == 0:
                now = time.perf_counter()
                self.waits.append(now - start)
                opened[:] = [now]

        def timed_commit(level: Any) -> None:
            commit(level)
            if level.depth == 0 and opened:
                self.holds.append(time.perf_counter() - opened[0])

        def timed(run: Any) -> Any:
            def call(sql: str, *args: Any) -> Any:
                start = time.perf_counter()
                try:
                    return run(sql, *args)
                finally:
                    key = " ".join(sql.split()[:4])[:44]
                    statements[key] = statements.get(key, 0.0) + time.perf_counter() - start

            return call

        class Timed:
            execute = staticmethod(timed(conn.execute))
            executemany = staticmethod(timed(conn.executemany))

            def __getattr__(self, name: str) -> Any:
                return getattr(conn, name)

        store._tx_begin = timed_begin  # type: ignore[method-assign]
        store._tx_commit = timed_commit  # type: ignore[method-assign]
        store._conn = Timed()  # type: ignore[assignment]
        self.cpu = time.process_time()

    def result(self) -> dict[str, Any]:
        return {
            "waits": self.waits,
            "holds": self.holds,
            "statements": self.statements,
            "cpu": time.process_time() - self.cpu,
        }


def worker(
    path: str,
    name: str,
    work: float,
    seconds: float,
    options: argparse.Namespace,
    lock: bool,
    barrier: Any,
    out: Any,
) -> None:
    """Loop claim_next → work → release for ``seconds`` after every worker is ready."""
    done = 0
    errors: list[str] = []
    trace: Trace | None = None
    with SqliteStore(path) as store:
        if not lock and store._writer is not None:
            store._writer.close()  # as before it: writers wait in SQLite's busy handler
        if options.synchronous:
            store._conn.execute(f"PRAGMA synchronous = {options.synchronous}")
        barrier.wait()
        if options.trace:
            trace = Trace(store)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            try:
                job = store.claim_next(worker=name, lease=600)
                if job is None:
                    errors.append("ran out of intents")
                    break
                assert job.lease is not None
                if work:
                    time.sleep(work)
                store.release(job.id, name, token=job.lease.token)
            except IntentGraphError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            done += 1
        traced = {} if trace is None else trace.result()
    out.put((name, done, errors, traced))


def throughput(
    directory: str,
    procs: int,
    work_ms: float,
    seconds: float,
    options: argparse.Namespace,
    lock: bool = True,
) -> dict[str, Any]:
    """Run ``procs`` workers for ``seconds``; return claims/s, errors and the traces."""
    path = os.path.join(directory, f"tp-{procs}-{work_ms}.db")
    make_store(path, options.pool)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs + 1)
    out = ctx.Queue()
    workers = [
        ctx.Process(
            target=worker,
            args=(path, f"w{k}", work_ms / 1000, seconds, options, lock, barrier, out),
        )
        for k in range(procs)
    ]
    for p in workers:
        p.start()
    barrier.wait()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for p in workers:
        p.join()
    with SqliteStore(path) as store:
        completed = store.count(status="completed")
    done = sum(r[1] for r in results)
    assert completed == done, (completed, done)
    for suffix in ("", "-wal", "-shm", "-lock"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    statements: dict[str, float] = {}
    for r in results:
        for key, spent in r[3].get("statements", {}).items():
            statements[key] = statements.get(key, 0.0) + spent
    return {
        "rate": done / seconds,
        "done": done,
        "errors": [e for r in results for e in r[2]],
        "per_worker": sorted(r[1] for r in results),
        "waits": [w for r in results for w in r[3].get("waits", [])],
        "holds": [h for r in results for h in r[3].get("holds", [])],
        "statements": statements,
        "cpu": sum(r[3].get("cpu", 0.0) for r in results),
    }


def describe(got: dict[str, Any], seconds: float) -> str:
    """One line on a throughput run: workers, errors and, when traced, where time went."""
    note = f"per worker {got['per_worker']}"
    if got["errors"]:
        locked = [e for e in got["errors"] if "locked" in e]
        note += f"; {len(got['errors'])} errors ({len(locked)} locked): {got['errors'][0][:120]}"
    if got["waits"]:
        w50, w90 = percentiles(got["waits"])
        h50, h90 = percentiles(got["holds"])
        per = 1000 / max(got["done"], 1)  # ms per intent (a claim and a release)
        top = sorted(got["statements"].items(), key=lambda kv: -kv[1])[:4]
        note += (
            f"; BEGIN wait p50 {w50 * 1000:.2f} p90 {w90 * 1000:.2f}"
            f" max {max(got['waits']) * 1000:.0f} ms; held p50 {h50 * 1000:.2f}"
            f" p90 {h90 * 1000:.2f} ms, {sum(got['holds']) / seconds:.0%} of the time;"
            f" CPU {got['cpu'] * per:.2f} ms/intent; SQL ms/intent: "
            + ", ".join(f"{k} {v * per:.2f}" for k, v in top)
        )
    return note


def summary(rates: dict[tuple[str, int], list[float]], label: str, work_ms: float) -> None:
    """Print the median and range of each P, its ratio to the fewest, and the target."""
    mine = {procs: got for (name, procs), got in rates.items() if name == label}
    base = statistics.median(mine[min(mine)])
    for procs, got in sorted(mine.items()):
        med = statistics.median(got)
        print(
            f"{label}, work {work_ms:g} ms, {procs} proc: median {med:.0f} claims/s"
            f" (runs {min(got):.0f}-{max(got):.0f}), {med / base:.2f}x {min(mine)} proc",
            flush=True,
        )
    if {1, 4} <= mine.keys():
        ratio = statistics.median(mine[4]) / base
        want = 0.8 if work_ms == 0 else 3.0
        verdict = "met" if ratio >= want else "missed"
        print(f"{label}: target 4 proc >= {want}x 1 proc: {ratio:.2f}x, {verdict}", flush=True)


# --- latency ------------------------------------------------------------------------

_RAW_CLAIM = (
    "UPDATE intents SET status = 'executing', lease_expires_us = ?1,"
    " data = json_set(data, '$.status', 'executing', '$.lease', json(?2), '$.attempts', 1)"
    " WHERE id = ("
    f"SELECT id FROM intents INDEXED BY ix_intents_ready WHERE {READY_WHERE}"
    " ORDER BY priority DESC, created_us, id LIMIT 1) RETURNING data"
)


def latency(directory: str, n: int, calls: int) -> list[str]:
    path = os.path.join(directory, "latency.db")
    make_store(path, n + 2 * calls)
    store = SqliteStore(path)
    raw = raw_connection(path, create=False)
    store.claim_next(worker="warm-up")  # page the indexes in, for both alike
    ours: list[float] = []
    base: list[float] = []
    releases: list[float] = []
    block = 100
    for _ in range(calls // block):
        for _ in range(block):
            start = time.perf_counter()
            job = store.claim_next(worker="bench", lease=600)
            ours.append(time.perf_counter() - start)
            assert job is not None and job.lease is not None
            start = time.perf_counter()
            store.release(job.id, "bench", token=job.lease.token)
            releases.append(time.perf_counter() - start)
        for _ in range(block):
            start = time.perf_counter()
            raw.execute("BEGIN IMMEDIATE")
            now = datetime.now(UTC)
            lease = {
                "worker": "raw",
                "token": 1,
                "claimed_at": now.isoformat(),
                "expires_at": (now + timedelta(seconds=600)).isoformat(),
                "seconds": 600.0,
            }
            expires = time.time_ns() // 1000 + 600_000_000
            got = raw.execute(_RAW_CLAIM, (expires, json.dumps(lease))).fetchone()
            raw.execute("COMMIT")
            json.loads(got[0])
            base.append(time.perf_counter() - start)
    raw.close()
    store.close()
    p50, p90 = percentiles(ours)
    raw50, raw90 = percentiles(base)
    rel50, rel90 = percentiles(releases)
    return [
        row(f"claim_next p50 at {n} intents (ms)", p50, raw50, note="target < 1 ms"),
        row(f"claim_next p90 at {n} intents (ms)", p90, raw90),
        row(f"release p50 at {n} intents (ms)", rel50, None, note=f"p90 {rel90 * 1000:.3f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--work-ms", type=float, nargs="+", default=[0.0, 5.0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--n", type=int, default=100_000, help="intents for the latency run")
    parser.add_argument("--calls", type=int, default=2000, help="claims timed for latency")
    parser.add_argument("--trace", action="store_true", help="time BEGIN waits and holds")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--pool", type=int, default=20_000, help="intents per throughput run")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="each measure also as before the writer lock (SQLite's busy handler)",
    )
    parser.add_argument(
        "--synchronous",
        choices=["NORMAL", "OFF"],
        help="experiment: no fsync per commit, to see what the commit's fsync costs",
    )
    args = parser.parse_args()
    shown = {k: v for k, v in vars(args).items() if v not in (None, False)}
    print(f"options: {shown}; load average before: {os.getloadavg()[0]:.2f}", flush=True)
    locked = 0
    variants = [("writer lock", True)] + ([("busy handler", False)] * args.compare)
    with tempfile.TemporaryDirectory() as directory:
        for work_ms in args.work_ms:
            rates: dict[tuple[str, int], list[float]] = {}
            for k in range(args.repeat):
                for procs in args.procs:  # interleaved: a slow spell hits every P alike
                    for label, lock in variants[:: 1 if k % 2 == 0 else -1]:
                        got = throughput(directory, procs, work_ms, args.seconds, args, lock)
                        rates.setdefault((label, procs), []).append(got["rate"])
                        locked += sum("locked" in e for e in got["errors"])
                        print(
                            f"run {k + 1} work {work_ms:g} ms, {procs} proc, {label}: "
                            f"{got['rate']:7.1f} claims/s; {describe(got, args.seconds)}",
                            flush=True,
                        )
            for label, _ in variants:
                summary(rates, label, work_ms)
        print(f'"database is locked" errors that reached a worker: {locked}', flush=True)
        if not args.skip_latency:
            print(HEADER)
            for line in latency(directory, args.n, args.calls):
                print(line, flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
