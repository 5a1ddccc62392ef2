"""The documentation stays true: every Python example in docs/ runs, and every public name
is documented (sqlite-utils' test_docs habit)."""

from __future__ import annotations

import functools
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph import errors

DOCS = Path(__file__).resolve().parents[1] / "docs"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[tuple[str, int, str]]:
    """Return (file name, block index, code) for every ```python block in docs/*.md."""
    found = []
    for path in sorted(DOCS.glob("*.md")):
        for index, match in enumerate(PYTHON_BLOCK.finditer(path.read_text())):
            found.append((path.name, index, match.group(1)))
    return found


BLOCKS = python_blocks()


@functools.cache
def docs_text() -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md")))


def public_names() -> list[str]:
    names = set(ig.__all__) | set(errors.__all__)
    names |= {
        name
        for name, _ in inspect.getmembers(ig.IntentStorage)
        if not name.startswith("_") and name in vars(ig.IntentStorage)
    }
    return sorted(names)


def test_the_docs_have_python_examples() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(
    "code", [b[2] for b in BLOCKS], ids=[f"{name}-block{index}" for name, index, _ in BLOCKS]
)
def test_every_python_example_in_the_docs_runs(code: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_documented(name: str) -> None:
    # As code: `name`, `name(...)` or `.name`, so that a word such as "list" in prose
    # does not count as documenting the method list().
    pattern = rf"(`|\.){re.escape(name)}\b"
    assert re.search(pattern, docs_text()), f"{name} is not documented in docs/"
