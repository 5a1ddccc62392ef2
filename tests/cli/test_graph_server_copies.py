"""``intentgraph copy``, ``backup``, ``restore`` and ``verify`` to and from the graph servers
(FalkorDB, and ArcadeDB over Bolt for the ``neo4j`` path), run as subprocesses: the same
records come out as went in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from tests.cli._run import data, run
from tests.conftest import SERVER_BACKENDS, url_for

E, S = ig.EdgeType, ig.IntentStatus
WHEN = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def fill(url: str) -> None:
    """A small graph with something of everything a record can hold: a lease, a failure with
    its reason, JSON fields, a weighted edge, a symmetric one, a NUL and non-ASCII text."""
    with ig.open_store(url) as store:
        store.put_many(
            [
                ig.Intent(id="launch", name="launch", goal="ship it \u2728", created_at=WHEN),
                ig.Intent(id="build", name="build", priority=3, metadata={"k": [1, 2.5]}),
                ig.Intent(id="docs", name="docs\x00draft", preferences={"tone": "plain"}),
                ig.Intent(id="review", name="review", session_id="s1"),
            ]
        )
        store.add_edge("build", "launch", E.IS_SUBGOAL_OF)
        store.add_edge("docs", "launch", E.IS_SUBGOAL_OF)
        store.add_edge("docs", "build", E.DEPENDS_ON, weight=1 / 3, metadata={"why": "api"})
        store.add_edge("review", "docs", E.CONFLICTS_WITH)
        store.claim("build", worker="w1", lease=600)
        store.set_status("review", S.FAILED, reason="no reviewer")


def records(url: str) -> tuple[list[Any], list[Any]]:
    with ig.open_store(url) as store:
        return store.list(order_by="id"), store.edges()


def folder(tmp_path: Path, name: str) -> Path:
    made = tmp_path / name
    made.mkdir()
    return made


@pytest.mark.parametrize("server", SERVER_BACKENDS)
def test_copy_to_a_graph_server_and_back_gives_the_same_records(
    server: str, tmp_path: Path
) -> None:
    source = url_for("sqlite", tmp_path)
    fill(source)
    graph = url_for(server, tmp_path)
    back = url_for("sqlite", folder(tmp_path, "back"))

    there = data("copy", source, graph)
    assert (there["written_intents"], there["written_edges"]) == (4, 4)
    checked = data("verify", "--store", graph)
    assert (checked["ok"], checked["intents"], checked["edges"]) == (True, 4, 4)
    home = data("copy", graph, back)
    assert (home["written_intents"], home["written_edges"]) == (4, 4)

    assert records(back) == records(source) == records(graph)
    with ig.open_store(graph) as copied, ig.open_store(source) as original:
        # The maintained state came along: launch waits for its subgoals, docs for build.
        for store in (copied, original):
            assert [(b.intent.id, len(b.subgoals)) for b in store.blocked()] == [
                ("launch", 2),
                ("docs", 0),
            ]


@pytest.mark.parametrize("server", SERVER_BACKENDS)
def test_a_backup_of_a_graph_server_restores_into_a_fresh_one(server: str, tmp_path: Path) -> None:
    source = url_for(server, tmp_path)
    fill(source)
    saved = tmp_path / "graph.jsonl.gz"
    summary = data("backup", str(saved), "--store", source)
    assert (summary["intents"], summary["edges"], summary["compressed"]) == (4, 4, True)
    target = url_for(server, tmp_path)
    restored = data("restore", str(saved), "--store", target)
    assert (restored["written_intents"], restored["written_edges"]) == (4, 4)
    assert records(target) == records(source)
    again = run("restore", str(saved), "--store", target, "--mode", "merge", "--json")
    assert again.returncode == 0, again.stderr  # merging the same records changes nothing
    assert records(target) == records(source)
