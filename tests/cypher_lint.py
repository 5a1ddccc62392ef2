"""Lint Cypher with Neo4j's own linter, `@neo4j-cypher/language-support` (Node).

`lint(queries)` runs `tests/cypher_lint/lint.mjs` once for all the queries (the linter takes
about a second to warm up) and returns each query's diagnostics. The npm packages are
installed from the committed lockfile on first use.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests._npm import NodeToolError, node_modules

PROJECT = Path(__file__).resolve().parent / "cypher_lint"
LINTER = "@neo4j-cypher/language-support"


@dataclass(frozen=True)
class Diagnostic:
    """One finding of the linter in one query."""

    severity: str  # "error", "warning", "information" or "hint"
    message: str
    line: int  # from 1
    column: int  # from 1
    start: int  # character offsets into the query
    end: int
    deprecated: bool


def lint(queries: list[str]) -> list[list[Diagnostic]]:
    """Return, for each query, the linter's diagnostics (Cypher 5, no database schema).

    Raises:
        NodeToolError: Node or npm is missing, the install failed, or the linter crashed.
    """
    if not queries:
        return []
    node_modules(PROJECT, marker=LINTER)
    run = subprocess.run(
        ["node", str(PROJECT / "lint.mjs")],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if run.returncode != 0:
        raise NodeToolError(f"lint.mjs failed ({run.returncode}):\n{run.stderr}")
    results = json.loads(run.stdout)
    return [[Diagnostic(**found) for found in result] for result in results]


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Return the diagnostics that are errors."""
    return [d for d in diagnostics if d.severity == "error"]
