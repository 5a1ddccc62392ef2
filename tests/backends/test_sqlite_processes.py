"""Several processes on one SQLite file: no "database is locked", one winner per claim."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import Intent, IntentStatus

_WRITER = """
import sys
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import Intent
path, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with SqliteStore(path) as store:
    for i in range(n):
        store.put(Intent(id=f"w{worker}-{i:04d}", name=f"from {worker}"))
        if i % 10 == 0:
            store.put_many([Intent(id=f"w{worker}-b{i:04d}-{k}", name="batch") for k in range(5)])
"""

_CLAIMER = """
import json, sys
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.errors import ClaimConflict
path, rounds = sys.argv[1], int(sys.argv[2])
won = []
with SqliteStore(path) as store:
    for r in range(rounds):
        try:
            store.claim(f"task-{r:03d}")
            won.append(r)
        except ClaimConflict:
            pass
print(json.dumps(won))
"""


def _spawn(code: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writer_processes_all_land(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    SqliteStore(path).close()
    workers, n = 4, 60
    procs = [_spawn(_WRITER, path, w, n) for w in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
    with SqliteStore(path) as store:
        assert store.count() == workers * (n + 5 * len(range(0, n, 10)))


def test_racing_claims_have_exactly_one_winner_per_round(tmp_path: Path) -> None:
    path = tmp_path / "claims.db"
    rounds = 60
    with SqliteStore(path) as store:
        store.put_many([Intent(id=f"task-{r:03d}", name="task") for r in range(rounds)])
    procs = [_spawn(_CLAIMER, path, rounds) for _ in range(3)]
    wins: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        wins += json.loads(out)
    assert sorted(wins) == list(range(rounds))
    with SqliteStore(path) as store:
        assert all(i.status is IntentStatus.EXECUTING for i in store.list())
        assert all(i.version == 2 for i in store.list())
