"""Exports, checked by the tools that read them: the Cypher script run by FalkorDB and
linted by Neo4j's linter, the GraphML read by networkx, the DOT drawn by Graphviz, the
HTML page opened in headless Chromium."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import networkx as nx
import pytest

import intentgraph as ig
from intentgraph.export import HTML_MAX_NODES, export
from intentgraph.export.cypher import CONSTRAINT
from tests.cypher_lint import lint
from tests.graph_servers import FalkorDBServer

E = ig.EdgeType
VENDOR = Path(ig.__file__).parent / "export" / "vendor"
CYTOSCAPE_SHA256 = "081591ab735b2b6a3b31a3c60f8f3a3e2fee8c92939e0c7820ad1208571b6cd8"


def need(tool: str, package: str) -> str:
    """Return the tool's path; skip when it is missing, unless INTENTGRAPH_REQUIRE_ALL=1."""
    found = shutil.which(tool)
    if found is None:
        reason = f"{tool} is not installed (Debian package {package}; .ci/run installs it)"
        if os.environ.get("INTENTGRAPH_REQUIRE_ALL") == "1":
            pytest.fail(reason + ", and INTENTGRAPH_REQUIRE_ALL=1")
        pytest.skip(reason)
    return found


@pytest.fixture
def graph() -> ig.IntentStorage:
    store = ig.open_store("memory://")
    store.put_many(
        [
            ig.Intent(id="release", name="ship v1", goal="Release\nversion 1"),
            ig.Intent(id="build", name="build 'it' \\ now", priority=3, metadata={"k": [1]}),
            ig.Intent(id="tag", name='tag "v1" <b>', status=ig.IntentStatus.PENDING),
            ig.Intent(id="docs", name="docs é ✓ 🚀", constraints={"due": "fri"}),
            ig.Intent(id="infra", name="infra"),
            ig.Intent(id="elsewhere", name="not exported with --root release"),
        ]
    )
    for child in ("build", "tag", "docs"):
        store.add_edge(child, "release", E.IS_SUBGOAL_OF)
    store.add_edge("tag", "build", E.DEPENDS_ON, weight=0.25)
    store.add_edge("build", "infra", E.DEPENDS_ON)
    store.add_edge("docs", "tag", E.CONFLICTS_WITH)
    store.add_edge("infra", "docs", E.BLOCKS)
    store.add_edge("elsewhere", "infra", E.RELATED_TO)
    store.set_status("infra", ig.IntentStatus.COMPLETED)
    return store


def as_text(store: ig.IntentStorage, fmt: str, **kwargs: object) -> str:
    out = io.StringIO()
    export(store, fmt, out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def statements(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.startswith("//"))
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";")]


def test_the_cypher_script_recreates_the_graph_in_falkordb(
    graph: ig.IntentStorage, falkordb_server: FalkorDBServer
) -> None:
    script = as_text(graph, "cypher")
    name = falkordb_server.fresh_graph()
    target = falkordb_server.client().select_graph(name)
    try:
        run = [s for s in statements(script) if s.rstrip(";") != CONSTRAINT.rstrip(";")]
        for _ in range(2):  # twice: MERGE makes it idempotent
            for statement in run:
                target.query(statement.rstrip(";"))
        nodes = target.query(
            "MATCH (i:Intent) RETURN i.id, i.name, i.status, i.metadata"
        ).result_set
        assert sorted(r[0] for r in nodes) == sorted(i.id for i in graph.list())
        by_id = {r[0]: r for r in nodes}
        for intent in graph.list():
            assert by_id[intent.id][1] == intent.name  # quotes, backslash, emoji intact
            assert by_id[intent.id][2] == intent.status.value
            assert json.loads(by_id[intent.id][3]) == intent.metadata
        rels = target.query(
            "MATCH (a:Intent)-[r]->(b:Intent) RETURN a.id, type(r), b.id, r.weight"
        ).result_set
        assert sorted((a, t, b) for a, t, b, _ in rels) == sorted(
            (e.source, e.type.value, e.target) for e in graph.edges()
        )
        weights = {(a, b): w for a, t, b, w in rels if t == "DEPENDS_ON"}
        assert weights[("tag", "build")] == 0.25
    finally:
        falkordb_server.drop_graph(name)


def test_the_cypher_script_is_clean_for_neo4js_linter(graph: ig.IntentStorage) -> None:
    script = as_text(graph, "cypher")
    assert script.splitlines()[4] == CONSTRAINT
    found = lint(statements(script))
    assert all(f == [] for f in found), found


def test_graphml_loads_in_networkx_with_the_same_nodes_and_edges(
    graph: ig.IntentStorage, tmp_path: Path
) -> None:
    path = tmp_path / "g.graphml"
    summary = export(graph, "graphml", path)
    assert (summary.intents, summary.edges) == (6, 8)
    loaded = nx.read_graphml(path, force_multigraph=True)
    assert set(loaded.nodes) == {i.id for i in graph.list()}
    assert loaded.nodes["build"]["name"] == "build 'it' \\ now"
    assert loaded.nodes["build"]["priority"] == 3
    assert json.loads(loaded.nodes["build"]["metadata"]) == {"k": [1]}
    assert sorted((a, b, d["type"]) for a, b, d in loaded.edges(data=True)) == sorted(
        (e.source, e.target, e.type.value) for e in graph.edges()
    )


def test_dot_renders_to_a_png_with_graphviz(graph: ig.IntentStorage, tmp_path: Path) -> None:
    dot = need("dot", "graphviz")
    path = tmp_path / "g.dot"
    export(graph, "dot", path)
    png = tmp_path / "g.png"
    done = subprocess.run([dot, "-Tpng", str(path), "-o", str(png)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mermaid_gives_short_ids_status_classes_and_arrow_styles(graph: ig.IntentStorage) -> None:
    text = as_text(graph, "mermaid", root="release")
    lines = text.splitlines()
    assert lines[0] == "flowchart BT"
    assert '  n3["tag #quot;v1#quot; #lt;b#gt;<br/>pending"]:::pending' in lines
    assert "-.->|depends on|" in text and "<-.->|conflicts|" in text
    assert "elsewhere" not in text and "classDef completed" in text


def test_a_subtree_export_holds_the_subtree_and_what_it_depends_on(graph: ig.IntentStorage) -> None:
    text = as_text(graph, "graphml", root="release")
    loaded = nx.read_graphml(io.StringIO(text), force_multigraph=True)
    assert set(loaded.nodes) == {"release", "build", "tag", "docs", "infra"}
    assert loaded.nodes["infra"]["outside"] is True
    assert loaded.nodes["build"]["outside"] is False


def chromium_dump(page: Path) -> tuple[str, str]:
    browser = need("chromium", "chromium")
    with tempfile.TemporaryDirectory(prefix="ig-chromium-") as profile:
        done = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=2000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def test_the_html_page_draws_one_node_per_intent_in_chromium_without_console_errors(
    graph: ig.IntentStorage, tmp_path: Path
) -> None:
    page = tmp_path / "release.html"
    summary = export(graph, "html", page, root="release")
    assert summary.intents == 5
    text = page.read_text()
    assert "<script src" not in text and "https://" not in text.split("<script>", 1)[0]
    dom, log = chromium_dump(page)
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert 'data-rendered="5"' in dom  # Cytoscape holds one node per exported intent
    items = [line for line in dom.split("<li ") if line.startswith('class="intent')]
    assert len(items) == 5
    assert 'data-id="elsewhere"' not in dom


def test_the_html_page_refuses_more_than_it_can_draw(
    graph: ig.IntentStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import intentgraph.export as module

    monkeypatch.setattr(module, "HTML_MAX_NODES", 3)
    with pytest.raises(ig.errors.IntentGraphError, match="--root"):
        as_text(graph, "html")
    assert HTML_MAX_NODES == 5000


def test_the_vendored_library_is_the_npm_release_with_its_license() -> None:
    digest = hashlib.sha256((VENDOR / "cytoscape.min.js").read_bytes()).hexdigest()
    assert digest == CYTOSCAPE_SHA256
    assert "Permission is hereby granted" in (VENDOR / "cytoscape.LICENSE").read_text()
    assert "3.34.4" in (VENDOR / "README.md").read_text()
