"""Workers that die, hang and come back: the work loop loses no work and never doubles it.

Workers loop ``claim_next`` → work → ``release`` over a goal tree with dependencies, as
threads (every backend) and as processes (SQLite: the JSON backend has one writing
process). Some are SIGKILLed (threads: stop dead) while they hold a lease, some hang past
their lease and come back. Each worker logs every grant it got (see
``tests/durability/work_loop_worker.py``); ``check_run`` then proves from the logs and the
store that every intent was completed exactly once, that no intent was ever held by two
live leases at once, that nothing was claimed before what it waits for was completed, and
that the intents of dead workers were taken back only after their lease ran out.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase
from intentgraph.errors import LeaseLost
from tests.conftest import BACKENDS, url_for
from tests.durability.work_loop_worker import Log, work_loop

ROOT = Path(__file__).resolve().parents[2]
E = ig.EdgeType
_S = ig.IntentStatus


def build_graph(store: ig.IntentStorage, rng: random.Random) -> int:
    """Three goal trees (root, 3 subgoals, 3 sub-subgoals each), a chain of ten tasks, and
    dependencies across them; random priorities. Return how many intents."""
    intents = []
    edges: list[tuple[str, str, ig.EdgeType]] = []
    for t in range(3):
        intents.append(f"t{t}")
        for c in range(3):
            intents.append(f"t{t}.{c}")
            edges.append((f"t{t}.{c}", f"t{t}", E.IS_SUBGOAL_OF))
            for g in range(3):
                intents.append(f"t{t}.{c}.{g}")
                edges.append((f"t{t}.{c}.{g}", f"t{t}.{c}", E.IS_SUBGOAL_OF))
    for k in range(10):
        intents.append(f"s{k}")
        if k:
            edges.append((f"s{k}", f"s{k - 1}", E.DEPENDS_ON))
    edges += [
        ("t0.1.0", "s3", E.DEPENDS_ON),  # a leaf waits for the chain
        ("t1", "t0", E.DEPENDS_ON),  # a whole tree waits for another
        ("s7", "t2.0", E.DEPENDS_ON),  # the chain waits for a subtree
        ("s9", "t2.2.2", E.BLOCKS),  # t2.2.2 waits for the end of the chain
    ]
    store.put_many([ig.Intent(id=i, name=i, priority=rng.randint(0, 3)) for i in intents])
    store.add_edges(ig.Edge(source=s, target=d, type=k) for s, d, k in edges)
    return len(intents)


# --- reading the logs back -------------------------------------------------------------


@dataclass
class Grant:
    intent: str
    worker: str
    token: int
    claimed_at: datetime
    expires_at: datetime  # the last one known: heartbeats extend it
    line: int  # where in its worker's log
    done_at: datetime | None = None
    lost: bool = False
    beats: int = 0


@dataclass
class Run:
    """What the workers logged, and what the test did to them."""

    log_dir: Path
    killed: set[str] = field(default_factory=set)  # stopped dead while holding a lease
    hung: set[str] = field(default_factory=set)  # slept past a lease, then went on

    def grants(self) -> tuple[dict[tuple[str, int], Grant], dict[str, list[dict[str, Any]]]]:
        """Return the grants that happened by (intent, token), and each worker's lines.

        A worker killed between logging a grant and committing it leaves a grant that
        never happened as its last line; the real grant of that intent and token was
        logged by another worker. Only such lines may repeat a grant.
        """
        lines: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(self.log_dir.glob("*.log")):
            text = path.read_text()
            lines[path.stem] = [json.loads(line) for line in text.splitlines()]
        found: dict[tuple[str, int], list[Grant]] = {}
        for worker, events in lines.items():
            last = None
            for n, ev in enumerate(events):
                key = (ev["i"], ev["t"])
                if ev["e"] == "grant":
                    last = Grant(
                        ev["i"],
                        worker,
                        ev["t"],
                        datetime.fromisoformat(ev["claimed_at"]),
                        datetime.fromisoformat(ev["expires_at"]),
                        n,
                    )
                    found.setdefault(key, []).append(last)
                    continue
                assert last is not None and (last.intent, last.token) == key, (worker, ev)
                if ev["e"] == "beat":
                    last.expires_at = datetime.fromisoformat(ev["expires_at"])
                    last.beats += 1
                elif ev["e"] == "done":
                    last.done_at = datetime.fromisoformat(ev["at"])
                else:
                    assert ev["e"] == "lost", ev
                    last.lost = True
        grants = {}
        for key, copies in found.items():
            if len(copies) > 1:
                phantoms = [
                    g
                    for g in copies
                    if g.worker in self.killed and g.line == len(lines[g.worker]) - 1
                ]
                assert len(copies) - len(phantoms) == 1, f"{key} granted twice: {copies}"
                copies = [g for g in copies if g not in phantoms]
            grants[key] = copies[0]
        return grants, lines


def check_run(store: ig.IntentStorage, run: Run, total: int, lease: float) -> dict[str, int]:
    """Check every promise of the work loop against the logs; return what happened."""
    grants, _ = run.grants()
    intents = {i.id: i for i in store.list()}
    assert len(intents) == total
    by_intent: dict[str, list[Grant]] = {}
    for grant in grants.values():
        by_intent.setdefault(grant.intent, []).append(grant)
    reclaimed = lost = 0
    for intent_id, intent in intents.items():
        # Completed exactly once, by the holder of its last claim, recorded in the store.
        assert intent.status is _S.COMPLETED, intent
        assert intent.lease is None
        completions = intent.metadata["completions"]
        assert len(completions) == 1, f"{intent_id} completed {len(completions)} times"
        own = sorted(by_intent[intent_id], key=lambda g: g.token)
        assert [g.token for g in own] == list(range(1, intent.attempts + 1)), (
            f"{intent_id}: claims {[g.token for g in own]} logged, {intent.attempts} made"
        )
        final = own[-1]
        assert completions[0] == {"w": final.worker, "t": final.token}
        done = [g for g in own if g.done_at is not None]
        if final.worker not in run.killed:  # a killed one may die before logging it
            assert done == [final]
        assert len(done) <= 1 and done[:1] in ([], [final])

        # No two live leases at once: each claim starts after the one before it ended (its
        # release, or the end of its lease when it never released).
        for before, after in itertools.pairwise(own):
            assert before.done_at is None  # only the last claim completes
            assert after.claimed_at >= before.expires_at, (
                f"{intent_id}: claim {after.token} by {after.worker} at {after.claimed_at}"
                f" while claim {before.token} by {before.worker} ran to {before.expires_at}"
            )
            assert before.worker in run.killed | run.hung or before.lost, before
            reclaimed += 1
        lost += sum(g.lost for g in own)
        assert final.claimed_at <= intent.updated_at

        # Order: nothing is claimed before what it waits for (dependencies, subgoals) is
        # completed.
        waits_for = store.dependencies(intent_id) + store.children(intent_id)
        for grant in own:
            for other in waits_for:
                assert grant.claimed_at >= other.updated_at, (
                    f"{intent_id} claimed at {grant.claimed_at}, before {other.id} completed"
                    f" at {other.updated_at}"
                )

    # The intents of dead workers were taken back after their lease and finished by others.
    for worker in run.killed:
        held = [g for g in grants.values() if g.worker == worker and g.done_at is None]
        assert held, f"{worker} was killed while holding no lease"
        for grant in held:
            final_token = intents[grant.intent].metadata["completions"][0]["t"]
            if final_token == grant.token:
                continue  # it completed and died before logging it
            assert final_token > grant.token
            successor = grants[(grant.intent, grant.token + 1)]
            assert successor.claimed_at >= grant.expires_at
            assert successor.claimed_at >= grant.claimed_at + timedelta(seconds=lease)
    assert store.ready() == [] and store.blocked() == []
    assert store.health().ok
    return {"reclaimed": reclaimed, "lost": lost, "grants": len(grants)}


# --- workers as threads ------------------------------------------------------------------


def run_threads(
    url: str, tmp_path: Path, *, seed: str, workers: int, lease: float
) -> tuple[ig.IntentStorage, Run, int]:
    rng = random.Random(seed)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    run = Run(log_dir)
    main = ig.open_store(url)
    total = build_graph(main, rng)
    own_store = url.startswith("sqlite")  # SQLite: a connection per worker, as processes
    errors: list[BaseException] = []
    names = [f"w{k}" for k in range(workers)]
    run.killed.add(names[0])
    run.hung.add(names[1])

    def target(k: int) -> None:
        store = ig.open_store(url) if own_store else main
        log = Log(log_dir / f"{names[k]}.log")
        try:
            work_loop(
                store,
                names[k],
                log,
                random.Random(f"{seed}-{k}"),
                total=total,
                lease=lease,
                work=(0.005, 0.02),
                die_at=rng_die if k == 0 else None,
                hang_at=rng_hang if k == 1 else None,
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            log.close()
            if own_store:
                store.close()

    rng_die, rng_hang = rng.randint(1, 3), rng.randint(1, 3)
    threads = [threading.Thread(target=target, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker thread never finished"
    assert not errors, "".join(
        line for exc in errors for line in traceback.format_exception(exc)
    )
    return main, run, total


@pytest.mark.parametrize("backend", BACKENDS)
def test_worker_threads_complete_every_intent_once_though_one_dies_and_one_hangs(
    backend: str, tmp_path: Path
) -> None:
    lease = 0.4
    store, run, total = run_threads(
        url_for(backend, tmp_path), tmp_path, seed=f"threads-{backend}", workers=4, lease=lease
    )
    with store:
        seen = check_run(store, run, total, lease)
    assert seen["reclaimed"] >= 1  # the dead worker's intent, at least


# --- workers as processes ----------------------------------------------------------------


def run_processes(
    url: str,
    tmp_path: Path,
    *,
    seed: str,
    workers: int,
    kills: int,
    stops: int,
    lease: float,
) -> tuple[Run, int]:
    """Run ``workers`` worker processes; SIGKILL ``kills`` of them and SIGSTOP ``stops``
    (for 1.5 leases) at a random claim, a random moment after it was granted."""
    rng = random.Random(seed)
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    run = Run(log_dir)
    with ig.open_store(url) as store:
        total = build_graph(store, rng)
    procs = {
        f"p{k}": subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.durability.work_loop_worker",
                url,
                f"p{k}",
                str(log_dir),
                str(rng.randrange(2**32)),
                str(total),
                str(lease),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(workers)
    }
    plans = {name: ("kill", rng.randint(1, 3)) for name in list(procs)[:kills]}
    plans |= {name: ("stop", rng.randint(1, 3)) for name in list(procs)[kills : kills + stops]}
    struck: list[str] = []

    def follow(name: str, proc: subprocess.Popen[str], delay: float) -> None:
        assert proc.stdout is not None
        action, at = plans.get(name, ("", 0))
        holds = 0
        for line in proc.stdout:
            if not line.startswith("held"):
                continue
            holds += 1
            if holds != at:
                continue
            time.sleep(delay)  # a random moment of its work (30 to 60 ms)
            if action == "kill":
                run.killed.add(name)
                proc.kill()
            else:
                run.hung.add(name)
                proc.send_signal(signal.SIGSTOP)
                time.sleep(lease * 1.5)
                proc.send_signal(signal.SIGCONT)
            struck.append(name)

    for proc in procs.values():  # start together, once every worker has opened the store
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    followers = [
        threading.Thread(target=follow, args=(name, proc, rng.uniform(0, 0.01)))
        for name, proc in procs.items()
    ]
    for t in followers:
        t.start()
    for proc in procs.values():
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
    for name, proc in procs.items():
        proc.wait(timeout=120)
        err = proc.stderr.read() if proc.stderr else ""
        if name in run.killed:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 0, err
        assert "locked" not in err
    for t in followers:
        t.join()
    assert sorted(struck) == sorted(plans), "a worker finished before it was struck"
    return run, total


def test_worker_processes_lose_no_work_when_some_are_killed_holding_leases(
    tmp_path: Path,
) -> None:
    lease = 1.0
    url = url_for("sqlite", tmp_path)
    run, total = run_processes(
        url, tmp_path, seed="processes", workers=4, kills=2, stops=1, lease=lease
    )
    with ig.open_store(url) as store:
        seen = check_run(store, run, total, lease)
    assert seen["reclaimed"] >= 2


@pytest.mark.slow
def test_eight_worker_processes_three_killed_lose_no_work(tmp_path: Path) -> None:
    lease = 1.0
    url = url_for("sqlite", tmp_path)
    run, total = run_processes(
        url, tmp_path, seed="processes-8", workers=8, kills=3, stops=2, lease=lease
    )
    with ig.open_store(url) as store:
        seen = check_run(store, run, total, lease)
    assert seen["reclaimed"] >= 3


# --- a stale worker comes back ------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def complete_with(store: ig.IntentStorage, job: ig.Intent, worker: str, result: str) -> ig.Intent:
    """Record ``result`` and complete, in one transaction (as the worker script does)."""
    assert job.lease is not None
    with store.transaction():
        store.patch(job.id, metadata={"result": result, "by": worker})
        return store.release(job.id, worker, token=job.lease.token)


def test_a_stale_worker_is_refused_and_its_successors_result_stands(store: StoreBase) -> None:
    clock = Clock()
    store.clock = clock
    store.put(ig.Intent(id="job", name="a job"))
    stale = store.claim_next(worker="alpha", lease=30)
    assert stale is not None and stale.lease is not None
    clock.now += timedelta(seconds=31)  # alpha hangs past its lease
    fresh = store.claim_next(worker="beta", lease=30)
    assert fresh is not None and fresh.lease is not None
    assert (fresh.id, fresh.lease.token) == ("job", 2)

    # While beta holds it, alpha's heartbeat and completion are refused, and change nothing.
    with pytest.raises(LeaseLost) as lost:
        complete_with(store, stale, "alpha", "alpha's answer")
    assert (lost.value.holder, lost.value.token) == ("beta", 1)
    with pytest.raises(LeaseLost):
        store.heartbeat("job", "alpha", token=1)
    assert store.get("job") == fresh

    done = complete_with(store, fresh, "beta", "beta's answer")
    # After beta completed it, alpha is still refused (even under beta's own name with
    # alpha's token), and beta's result stands.
    for worker in ("alpha", "beta"):
        with pytest.raises(LeaseLost) as lost:
            complete_with(store, stale, worker, "late")
        assert lost.value.status == "completed"
    final = store.get("job")
    assert final == done
    assert final.metadata == {"result": "beta's answer", "by": "beta"}
    assert final.status is _S.COMPLETED and final.attempts == 2


_STALE = """
import sys, time
import intentgraph as ig
from intentgraph.errors import LeaseLost
url = sys.argv[1]
with ig.open_store(url) as store:
    job = store.claim_next(worker="alpha", lease=0.5)
    print("held", job.id, job.lease.token, flush=True)
    time.sleep(1.0)  # the parent stops this process here, past the lease
    try:
        with store.transaction():
            store.patch(job.id, metadata={"result": "alpha's answer"})
            store.release(job.id, "alpha", token=job.lease.token)
        print("completed", flush=True)
    except LeaseLost as exc:
        print("lost", exc.holder, exc.status, flush=True)
"""


def test_a_stopped_worker_process_is_refused_once_it_wakes(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    with ig.open_store(url) as store:
        store.put(ig.Intent(id="job", name="a job"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _STALE, url], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().split() == ["held", "job", "1"]
    proc.send_signal(signal.SIGSTOP)  # hung while holding its lease
    try:
        with ig.open_store(url) as store:
            deadline = time.monotonic() + 10
            while (fresh := store.claim_next(worker="beta", lease=30)) is None:
                assert time.monotonic() < deadline, "the lease was never taken back"
                time.sleep(0.05)
            assert fresh.lease is not None and fresh.lease.token == 2
            proc.send_signal(signal.SIGCONT)  # alpha wakes while beta holds the intent
            out, _ = proc.communicate(timeout=60)
            assert out.split() == ["lost", "beta", "executing"]
            done = complete_with(store, fresh, "beta", "beta's answer")
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.wait(timeout=60)
    with ig.open_store(url) as store:
        assert store.get("job") == done
        assert store.get("job").metadata == {"result": "beta's answer", "by": "beta"}
