"""The README's two commands stay true: CI runs the test one, and the demo one works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_the_readme_gives_exactly_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert "intentgraph.demo" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_demo_writes_crashes_and_reads_back_on_the_default_store(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "intentgraph.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "intentgraph.db").exists()
    assert "crashing now" in run.stdout
    assert "- tests [completed]" in run.stdout
    assert "blocked: publish waits for docs (executing), build (active)" in run.stdout
    # A parent waits for its unfinished subgoals, and says so.
    assert "blocked: launch waits for docs (executing), build (active), publish (active)" in (
        run.stdout
    )
    assert "backend=sqlite" in run.stdout
