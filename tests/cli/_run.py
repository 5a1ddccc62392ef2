"""Run the ``intentgraph`` command as a subprocess, as a person or a script would."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENTGRAPH_", "NO_COLOR"))}
    env.update(extra)
    return env


def run(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m intentgraph ARGS`` with standard output and error piped."""
    done = subprocess.run(
        [sys.executable, "-m", "intentgraph", *args],
        input=input.decode() if input is not None else None,
        capture_output=True,
        text=True,
        env=env or environment(),
        cwd=cwd,
        timeout=120,
    )
    return done


def data(*args: str, **kwargs: Any) -> Any:
    """Run with ``--json`` and return the parsed output (the exit code must be 0)."""
    done = run(*args, "--json", **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def in_terminal(*args: str, env: dict[str, str], stdout_too: bool = False) -> tuple[int, str]:
    """Run with standard error (and, with ``stdout_too``, output) on a pseudo-terminal;
    return the exit code and what the terminal showed."""
    leader, follower = pty.openpty()
    out = follower if stdout_too else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "intentgraph", *args],
        stdout=out,
        stderr=follower,
        env={**env, "COLUMNS": "100", "TERM": "xterm-256color"},
        cwd=ROOT,
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=30), shown.decode(errors="replace")
