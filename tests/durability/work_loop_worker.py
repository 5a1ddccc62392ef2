"""One worker of the work loop: claim_next → work → release until every intent is done.

    python -m tests.durability.work_loop_worker URL WORKER LOG_DIR SEED TOTAL LEASE

Run as a subprocess by tests/durability/test_workers.py (the parent SIGKILLs or SIGSTOPs
some of them while they hold a lease), and called in threads by the same tests. The
worker prints ``ready``, waits for a line on stdin, then prints ``held <id> <token>`` after
each claim, so that the parent can strike while it holds a lease.

Every worker appends JSON lines to ``LOG_DIR/<worker>.log`` (one ``os.write`` each, so a
kill never leaves half a line):

* ``grant``: intent ``i``, worker ``w``, token ``t``, ``claimed_at``, ``expires_at``;
  written *inside* the claim's transaction, so a claim that committed is always logged (a
  worker killed between this write and the commit leaves a grant that never happened: its
  last line, whose intent and token another grant repeats);
* ``beat``: the new ``expires_at`` after a heartbeat, written after it committed;
* ``done``: ``at``, the completion's time, written after the release committed;
* ``lost``: the heartbeat or release was refused with ``LeaseLost``.

Each completion is also recorded in the intent itself, in the release's transaction:
``metadata["completions"]`` gains ``{"w": worker, "t": token}``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import intentgraph as ig
from intentgraph.errors import LeaseLost

_S = ig.IntentStatus


class Log:
    """Append-only JSON lines, one ``os.write`` per line (O_APPEND)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, event: str, **fields: Any) -> None:
        os.write(self.fd, (json.dumps({"e": event, **fields}) + "\n").encode())

    def close(self) -> None:
        os.close(self.fd)


def work_loop(
    store: ig.IntentStorage,
    name: str,
    log: Log,
    rng: random.Random,
    *,
    total: int,
    lease: float,
    work: tuple[float, float],
    die_at: int | None = None,
    hang_at: int | None = None,
    on_hold: Callable[[ig.Intent], None] | None = None,
) -> None:
    """Claim, work (heartbeating half way) and complete until ``total`` intents are done.

    ``die_at``: at that claim the worker stops dead while holding the lease (a thread's
    stand-in for SIGKILL). ``hang_at``: at that claim it hangs until another worker has
    claimed the intent (after its lease ran out), then tries to complete it, as a worker
    presumed dead that comes back.
    """
    claims = 0
    while True:
        with store.transaction():
            job = store.claim_next(worker=name, lease=lease)
            if job is not None:
                assert job.lease is not None
                log.write(
                    "grant",
                    i=job.id,
                    w=name,
                    t=job.lease.token,
                    claimed_at=job.lease.claimed_at.isoformat(),
                    expires_at=job.lease.expires_at.isoformat(),
                )
        if job is None:
            if store.count(status=_S.COMPLETED) == total:
                return
            time.sleep(0.01)  # the rest is held by others, or waits for what they hold
            continue
        assert job.lease is not None
        token = job.lease.token
        claims += 1
        if on_hold is not None:
            on_hold(job)
        if claims == die_at:
            time.sleep(rng.uniform(0, work[1]))
            return  # dead: the lease is never released
        try:
            time.sleep(rng.uniform(*work) / 2)
            beat = store.heartbeat(job.id, name, token=token)
            assert beat.lease is not None
            log.write(
                "beat", i=job.id, w=name, t=token, expires_at=beat.lease.expires_at.isoformat()
            )
            time.sleep(rng.uniform(*work) / 2)
            if claims == hang_at:  # come back while the successor holds it
                deadline = time.monotonic() + 10
                while store.get(job.id).attempts == token and time.monotonic() < deadline:
                    time.sleep(0.002)
            with store.transaction():
                current = store.get(job.id)
                done = [*current.metadata.get("completions", []), {"w": name, "t": token}]
                store.patch(job.id, metadata={**current.metadata, "completions": done})
                finished = store.release(job.id, name, token=token)
        except LeaseLost:
            log.write("lost", i=job.id, w=name, t=token)
            continue
        log.write("done", i=job.id, w=name, t=token, at=finished.updated_at.isoformat())


def main() -> None:
    url, name, log_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    seed, total, lease = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    log = Log(log_dir / f"{name}.log")
    with ig.open_store(url) as store:
        print("ready", flush=True)
        sys.stdin.readline()

        def held(job: ig.Intent) -> None:
            assert job.lease is not None
            print("held", job.id, job.lease.token, flush=True)

        work_loop(
            store,
            name,
            log,
            random.Random(seed),
            total=total,
            lease=lease,
            work=(0.03, 0.06),
            on_hold=held,
        )
    log.close()
    print("finished", flush=True)


if __name__ == "__main__":
    main()
