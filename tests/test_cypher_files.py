"""The query files of cypher/: each one documented and runnable in Neo4j Browser as it is,
loaded by the store at run time, and every Neo4j-dialect query the store can send (the files
and what it composes from them) passes Neo4j's own linter: no error, no deprecation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intentgraph.backends import _cypher_dialect as dialect
from intentgraph.backends._cypher_select import list_query
from tests.cypher_lint import lint

CYPHER = Path(__file__).resolve().parents[1] / "cypher"
FILES = sorted(CYPHER.glob("*.cypher"))
PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def sent_queries() -> dict[str, str]:
    """Every Neo4j-dialect query the store can send, by a name for the report."""
    queries = {}
    for name, statements in dialect.load_all().items():
        for n, statement in enumerate(statements):
            queries[f"{name}[{n}]"] = statement
    # Every ORDER BY list() can send, and every SKIP/LIMIT tail once (they are independent).
    for order in ("created_at", "updated_at", "priority", "name", "id"):
        for descending in (False, True):
            key = f"list:{order}:{descending}"
            queries[key] = list_query(order, descending, skip=True, limit=True)
    for skip, limit in ((False, False), (False, True), (True, False)):
        queries[f"list:id:{skip}:{limit}"] = list_query("id", False, skip=skip, limit=limit)
    queries["ready:unlimited"] = dialect.load("ready").removesuffix(" LIMIT $limit")
    # A change query starts with the change-feed record, and on FalkorDB with its undo record
    # before that. Both prefixes end alike (WITH count(*) AS ...), so each query that writes
    # is linted after one of them, and the prefixes once after each other.
    writes = writing_queries()
    for change in writes:
        queries[f"feed+{change}"] = dialect.prefix("feed_record") + dialect.load(change)
    queries["undo+feed+update"] = (
        dialect.prefix("undo_record") + dialect.prefix("feed_record") + dialect.load("update")
    )
    queries["undo+merge_edges"] = dialect.prefix("undo_record") + dialect.load("merge_edges")
    return queries


PREFIXES = {"feed_record", "undo_record"}


def writing_queries() -> list[str]:
    """The one-statement files that write (what ``_change`` may send after the prefixes)."""
    found = []
    for name, statements in dialect.load_all().items():
        if name in PREFIXES or len(statements) != 1:
            continue
        if re.search(r"\b(CREATE|MERGE|SET|DELETE)\b", statements[0]):
            found.append(name)
    return found


def test_the_change_queries_are_among_the_writing_queries() -> None:
    assert {"create_intents", "update", "claim", "delete", "merge_edges"} <= set(
        writing_queries()
    )


def test_there_is_a_file_for_every_query_the_issue_names() -> None:
    names = {p.stem for p in FILES}
    wanted = {
        "setup", "merge_intents", "merge_edges", "get", "list", "subtree", "ancestors",
        "dependencies", "dependents", "ready", "blocked", "cycles_check", "stats", "claim",
    }  # fmt: skip
    assert wanted <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_file_says_what_it_returns_and_gives_every_parameter_an_example(path: Path) -> None:
    text = path.read_text()
    first = text.splitlines()[0]
    assert first.startswith(f"// {path.stem.replace('_', ' ')}:"), first
    assert "Returns:" in text or "Returns" in text
    used = set(PARAMETER.findall(re.sub(r"^\s*(//|:param).*$", "", text, flags=re.M)))
    given = set(re.findall(r":param\s+([A-Za-z_]+)\s*=>", text))
    assert used == given, f"{path.name}: used {sorted(used)}, :param for {sorted(given)}"


# A pattern that starts at a new (labelled) node and ends at one the query holds: a bound
# variable, or a node found by its id. ArcadeDB walks a pattern from its first node.
BACKWARDS = re.compile(
    r"\(\w*:Intent\)\s*<?-[^()]*->?\s*\((\w+|\w*:Intent\s*\{[^}]*\bid\s*:[^}]*\})\)"
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_pattern_starts_from_the_node_the_query_holds(path: Path) -> None:
    body = re.sub(r"^\s*(//|:param).*$", "", path.read_text(), flags=re.M)
    assert BACKWARDS.findall(body) == [], f"{path.name}: start the pattern from the bound node"


def test_the_backwards_pattern_check_finds_what_it_should() -> None:
    assert BACKWARDS.search("[(d:Intent)-[:DEPENDS_ON]->(n) | d.id]")
    assert BACKWARDS.search("MATCH (c:Intent)-[:IS_SUBGOAL_OF]->(:Intent {id: $id})")
    assert BACKWARDS.search("MATCH (n:Intent)-[:IS_SUBGOAL_OF*0..]->(r)")
    assert not BACKWARDS.search("[(n)<-[:DEPENDS_ON]-(d:Intent) | d.id]")
    assert not BACKWARDS.search("MATCH (a:Intent)-[:DEPENDS_ON]->(b:Intent)")


def test_the_store_reads_the_installed_files_not_copies() -> None:
    for path in FILES:
        body = dialect.statements(path.stem)
        assert body, path.name
        assert all(part in " ".join(path.read_text().split()) for part in body[0].split()[:3])


def test_every_query_the_store_can_send_passes_neo4js_linter() -> None:
    queries = sent_queries()
    found = dict(zip(queries, lint(list(queries.values())), strict=True))
    complaints = {name: diags for name, diags in found.items() if diags}
    assert complaints == {}
