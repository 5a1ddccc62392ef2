"""Backup and restore of a large SQLite store through the ``intentgraph`` command (issue 7).

Builds a store of N intents and about N edges (half subgoal edges into a forest of fan-out
16, half DEPENDS_ON chains), then runs, each as its own process, timed, with its peak
RSS (``ru_maxrss`` of the finished child: its largest process) and the peak of all its
processes together (sampled every 20 ms: a big restore checks in a second process):
``backup`` to .jsonl, ``backup`` to .jsonl.gz,
``restore`` into an empty SQLite file, ``restore --dry-run``, ``verify`` and ``copy`` to a
new SQLite file. Targets for N = 1,000,000: backup < 20 s, restore < 40 s, each < 300 MB.

    .venv/bin/python bench/bench_backup.py            # 1,000,000 intents: minutes
    .venv/bin/python bench/bench_backup.py --n 100000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import intentgraph as ig

CLI = [sys.executable, "-m", "intentgraph"]


def build(path: Path, n: int) -> float:
    """Fill a new SQLite store with n intents and about n edges; return the seconds."""
    started = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = [ig.IntentStatus.ACTIVE] * 6 + [ig.IntentStatus.COMPLETED] * 3
    statuses += [ig.IntentStatus.FAILED]

    def intents():  # type: ignore[no-untyped-def]
        for i in range(n):
            stamp = base + timedelta(milliseconds=i)
            yield ig.Intent(
                id=f"{i:012d}-{i * 7919 % 1000003:07d}",
                name=f"task {i}",
                goal=f"Do step {i} of the plan and report the result to the orchestrator.",
                status=statuses[i % len(statuses)],
                priority=i % 5,
                metadata={"batch": i // 1000, "owner": f"agent-{i % 17}"},
                session_id=f"s{i % 100}",
                created_at=stamp,
                updated_at=stamp,
                version=1,
            )

    ids = [f"{i:012d}-{i * 7919 % 1000003:07d}" for i in range(n)]

    def edges():  # type: ignore[no-untyped-def]
        for i in range(1, n):
            if i % 2:
                yield ig.Edge(
                    source=ids[i],
                    target=ids[i // 16],
                    type=ig.EdgeType.IS_SUBGOAL_OF,
                    created_at=base,
                )
            else:
                yield ig.Edge(
                    source=ids[i], target=ids[i - 1], type=ig.EdgeType.DEPENDS_ON, created_at=base
                )

    with ig.open_store(f"sqlite:///{path}") as store:
        store.bulk_load(intents(), edges(), replace=True)
    return time.perf_counter() - started


# Sampled every 20 ms: the RSS of the command and of every process it started (a big
# restore's checker runs beside it), summed, in kB.
_TREE_RSS = """
def tree_rss(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, StopIteration):
            pass
    return total
"""


def run_alone(label: str, args: list[str]) -> tuple[float, float, float]:
    """Run the command from a fresh Python process that reports its one child's peak RSS
    (``ru_maxrss`` of children is the largest process so far, so each gets its own
    parent) and the peak of all its processes together (sampled); return (seconds, peak
    RSS of the largest process, peak of all together), in MB."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        + _TREE_RSS
        + "t = time.perf_counter()\n"
        f"p = subprocess.Popen({[*CLI, *args]!r}, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.PIPE, text=True)\n"
        "tree = 0\n"
        "while p.poll() is None:\n"
        "    tree = max(tree, tree_rss(p.pid)); time.sleep(0.02)\n"
        "err = p.stderr.read()\n"
        "s = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps([p.returncode, s, rss, tree / 1024, err[-2000:]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import json

    rc, seconds, rss, tree, err = json.loads(out.stdout)
    if rc != 0:
        raise SystemExit(f"{label} failed ({rc}): {err}")
    return seconds, rss, max(tree, rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="Where to put the files (default: a temp dir).")
    parser.add_argument("--reuse", action="store_true", help="Keep DIR/source.db if it is there.")
    opts = parser.parse_args()
    work = Path(opts.dir or tempfile.mkdtemp(prefix="ig-bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "source.db"
    for name in ("b.jsonl", "b.jsonl.gz", "dry.db", "r.db", "rg.db", "c.db"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / name}{suffix}").unlink(missing_ok=True)
    if not (opts.reuse and source.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{source}{suffix}").unlink(missing_ok=True)
        print(f"building {opts.n:,} intents and ~{opts.n:,} edges in {source} ...", flush=True)
        seconds = build(source, opts.n)
        print(f"built in {seconds:.1f} s; {source.stat().st_size / 1e6:,.0f} MB", flush=True)
    url = f"sqlite:///{source}"
    rows = []
    steps = [
        ("backup .jsonl", ["backup", "--store", url, str(work / "b.jsonl")], "< 20 s"),
        ("backup .jsonl.gz", ["backup", "--store", url, str(work / "b.jsonl.gz")], ""),
        (
            "restore --dry-run",
            [
                "restore",
                str(work / "b.jsonl"),
                "--store",
                f"sqlite:///{work / 'dry.db'}",
                "--dry-run",
            ],
            "",
        ),
        (
            "restore into empty SQLite",
            ["restore", str(work / "b.jsonl"), "--store", f"sqlite:///{work / 'r.db'}"],
            "< 40 s",
        ),
        (
            "restore .gz into empty SQLite",
            ["restore", str(work / "b.jsonl.gz"), "--store", f"sqlite:///{work / 'rg.db'}"],
            "",
        ),
        ("verify", ["verify", "--store", url], ""),
        ("copy SQLite to SQLite", ["copy", url, f"sqlite:///{work / 'c.db'}"], ""),
    ]
    for label, args, target in steps:
        seconds, rss, tree = run_alone(label, args)
        rows.append((label, seconds, rss, tree, target))
        print(f"| {label:<30} | {seconds:8.1f} | {rss:8.0f} | {tree:8.0f} | {target}", flush=True)
    size = (work / "b.jsonl").stat().st_size / 1e6
    gz = (work / "b.jsonl.gz").stat().st_size / 1e6
    print(f"backup file: {size:,.0f} MB plain, {gz:,.0f} MB gzip")
    print(
        "\n| step | seconds | peak RSS, largest process (MB) | all processes together (MB) "
        "| target |\n|---|---|---|---|---|"
    )
    for label, seconds, rss, tree, target in rows:
        print(f"| {label} | {seconds:.1f} | {rss:.0f} | {tree:.0f} | {target} |")
    if not opts.dir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
