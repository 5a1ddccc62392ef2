"""Neo4j's Cypher linter runs from the tests: it passes valid Cypher, reports syntax errors,
and flags constructs deprecated in Neo4j 5 as warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._npm import NodeToolError, node_modules
from tests.cypher_lint import Diagnostic, errors, lint

QUERIES = {
    "valid": (
        "UNWIND $rows AS r MERGE (i:Intent {id: r.id}) SET i += r "
        "WITH i MATCH (i)-[:DEPENDS_ON*1..]->(d) RETURN i.id, collect(d.id) ORDER BY i.id"
    ),
    "syntax_error": "MATCH (i:Intent RETURN i",
    "id_function": "MATCH (i:Intent) RETURN id(i)",
    "call_with": "MATCH (i:Intent) CALL { WITH i MATCH (i)-->(d) RETURN count(d) AS n } RETURN n",
    "call_scoped": "MATCH (i:Intent) CALL (i) { MATCH (i)-->(d) RETURN count(d) AS n } RETURN n",
    "parameter": "MATCH (i:Intent {id: $id}) RETURN i",
    "constraint": "CREATE CONSTRAINT intent_id IF NOT EXISTS FOR (i:Intent) REQUIRE i.id IS UNIQUE",
}


@pytest.fixture(scope="module")
def findings() -> dict[str, list[Diagnostic]]:
    """Every sample query linted in one node run."""
    return dict(zip(QUERIES, lint(list(QUERIES.values())), strict=True))


# "parameter": intentgraph passes its parameters at run time, so undeclared ones are fine.
@pytest.mark.parametrize("name", ["valid", "call_scoped", "constraint", "parameter"])
def test_valid_cypher_gets_no_diagnostic(findings: dict[str, list[Diagnostic]], name: str) -> None:
    assert findings[name] == []


def test_a_syntax_error_is_reported_as_an_error_at_its_position(
    findings: dict[str, list[Diagnostic]],
) -> None:
    found = errors(findings["syntax_error"])[0]
    assert "Invalid input 'RETURN'" in found.message
    assert (found.line, found.column) == (1, QUERIES["syntax_error"].index("RETURN") + 1)


def test_the_id_function_is_reported_as_a_deprecation_warning(
    findings: dict[str, list[Diagnostic]],
) -> None:
    [found] = findings["id_function"]
    assert found.severity == "warning"
    assert found.deprecated
    assert "elementId" in found.message


def test_a_call_subquery_importing_with_with_is_reported_as_deprecated(
    findings: dict[str, list[Diagnostic]],
) -> None:
    [found] = findings["call_with"]
    assert (found.severity, found.deprecated) == ("warning", True)
    assert "CALL (i)" in found.message


def test_linting_nothing_starts_no_node() -> None:
    assert lint([]) == []


def test_a_failed_npm_install_is_an_error_that_shows_npm_output(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "no-lockfile", "private": true}')
    with pytest.raises(NodeToolError, match=r"npm ci .* failed") as raised:
        node_modules(tmp_path, marker="anything")
    assert "package-lock.json" in str(raised.value)
