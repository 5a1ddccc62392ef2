"""Acknowledged writes survive a restart and a SIGKILL, on every persistent backend."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import intentgraph as ig
from tests.conftest import BACKENDS, SERVER_BACKENDS, url_for

WRITER = Path(__file__).with_name("writer.py")
PERSISTENT = [b for b in BACKENDS if b != "memory"]
KILLS = 20
SERVER_KILLS = 10
"""Fewer on graph servers: there the server keeps what was committed, a client killed is
the less interesting crash, and each round starts a client that loads the driver (~0.5 s)."""


def kills(backend: str) -> int:
    return SERVER_KILLS if backend in SERVER_BACKENDS else KILLS


def run_writer(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(WRITER), url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("backend", PERSISTENT)
def test_a_new_process_reads_back_what_another_wrote(backend: str, tmp_path: Path) -> None:
    url = url_for(backend, tmp_path)
    run_writer(url, "write", "25")
    dumped = json.loads(run_writer(url, "dump").stdout)
    assert [i["id"] for i in dumped["intents"]] == [f"w{n:06d}" for n in range(25)]
    assert len(dumped["edges"]) == 24
    statuses = {i["id"]: i["status"] for i in dumped["intents"]}
    assert statuses["w000003"] == "executing"
    assert statuses["w000004"] == "active"
    with ig.open_store(url) as store:
        assert store.get("w000010").metadata == {"n": 10}
        assert [d.id for d in store.dependencies("w000010")] == ["w000009"]


@pytest.mark.parametrize("backend", PERSISTENT)
def test_every_acknowledged_write_survives_sigkill(backend: str, tmp_path: Path) -> None:
    rng = random.Random(f"crash-{backend}")
    for round_no in range(kills(backend)):
        url = url_for(backend, tmp_path / f"r{round_no}")
        (tmp_path / f"r{round_no}").mkdir()
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), url, "write", "100000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        # Wait for the first ack so the kill lands mid-stream, then kill at a random moment.
        first = proc.stdout.readline()
        assert first.startswith("ack"), proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        acks = [line.split() for line in [first, *rest.splitlines()] if line.startswith("ack ")]
        assert proc.returncode == -signal.SIGKILL
        with ig.open_store(url) as store:
            for ack in acks:
                kind = ack[1]
                if kind == "put":
                    assert store.exists(ack[2]), f"round {round_no}: lost {ack}"
                elif kind == "edge":
                    deps = [d.id for d in store.dependencies(ack[2])]
                    assert ack[3] in deps, f"round {round_no}: lost {ack}"
                else:
                    assert store.get(ack[2]).status == ack[3], f"round {round_no}: lost {ack}"
            assert store.health().ok


@pytest.mark.parametrize("backend", PERSISTENT)
def test_a_transaction_cut_by_sigkill_lands_whole_or_not_at_all(
    backend: str, tmp_path: Path
) -> None:
    rng = random.Random(f"txn-{backend}")
    for round_no in range(kills(backend) // 2):
        (tmp_path / f"t{round_no}").mkdir()
        url = url_for(backend, tmp_path / f"t{round_no}")
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), url, "transactions", "100000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("ack")
        time.sleep(rng.uniform(0.0, 0.2))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        acked = 1 + sum(1 for line in rest.splitlines() if line.startswith("ack "))
        with ig.open_store(url) as store:
            firsts = {i.id[1:] for i in store.list(text="first half")}
            seconds = {i.id[1:] for i in store.list(text="second half")}
            assert firsts == seconds, f"round {round_no}: a transaction landed in part"
            assert len(firsts) >= acked, f"round {round_no}: lost an acknowledged transaction"
            assert len(store.edges()) == len(firsts)
