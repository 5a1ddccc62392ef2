"""SQLite schema 5: a change row keeps its op, edge type and status as small integers, and
the intents some edge touches are counted without a table of degrees; a file written with
schema 4 migrates to the same change feed and counts."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import intentgraph as ig
from intentgraph.backends import _sqlite_schema as schema
from intentgraph.backends.sqlite import SqliteStore
from tests.backends._schema_downgrades import downgrade_to_4

E = ig.EdgeType
S = ig.IntentStatus


def busy_store(store: Any) -> None:
    """Every kind of change: puts, updates, edges of several types, removals, a delete."""
    store.put_many([ig.Intent(id=x, name=x) for x in "abcdef"])
    store.add_edges(
        [
            ig.Edge(source="b", target="a", type=E.IS_SUBGOAL_OF),
            ig.Edge(source="c", target="a", type=E.DEPENDS_ON),
            ig.Edge(source="d", target="c", type=E.BLOCKS),
            ig.Edge(source="e", target="d", type=E.CONFLICTS_WITH),
            ig.Edge(source="f", target="a", type=E.RELATED_TO, weight=0.5),
        ]
    )
    store.set_status("a", S.COMPLETED)
    store.set_status("e", S.SUSPENDED)
    store.remove_edge("e", "d", E.CONFLICTS_WITH)
    store.delete("d")


def feed(store: Any) -> Any:
    return store.changes(0, limit=None)


def test_change_rows_are_small_integers_and_read_back_as_names(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    reference = ig.open_store("memory://")
    with SqliteStore(path) as store:
        for s in (store, reference):
            busy_store(s)
        assert feed(store) == feed(reference)
    with closing(sqlite3.connect(path)) as raw:
        kinds = raw.execute(
            "SELECT DISTINCT typeof(op), typeof(type), typeof(status) FROM changes ORDER BY 1, 2, 3"
        ).fetchall()
    assert kinds == [
        ("integer", "integer", "null"),
        ("integer", "null", "integer"),
        ("integer", "null", "null"),
    ]


def test_a_schema_4_file_migrates_to_the_same_feed_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        busy_store(store)
        before, stats = feed(store), store.stats()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("BEGIN")
        downgrade_to_4(raw)
        raw.execute("COMMIT")
        assert raw.execute("SELECT DISTINCT typeof(op) FROM changes").fetchall() == [("text",)]
    with SqliteStore(path) as store:
        assert store.health().details["schema_version"] == schema.SCHEMA_VERSION
        assert schema.schema_problems(store._conn) == []
        assert schema.counter_problems(store._conn) == []
        assert feed(store) == before and store.stats() == stats
        store.add_edge("f", "b", E.DEPENDS_ON)  # the feed goes on from its number
        assert [c.seq for c in store.changes(before.seq).changes] == [before.seq + 1]
        assert schema.counter_problems(store._conn) == []


def test_a_feed_emptied_by_a_load_keeps_its_number_through_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        busy_store(store)
        store.bulk_load([ig.Intent(id="z", name="z")], [], replace=True)
        mark = feed(store).seq
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("BEGIN")
        downgrade_to_4(raw)
        raw.execute("COMMIT")
    with SqliteStore(path) as store:
        assert feed(store).seq == mark and feed(store).changes == []
        store.put(ig.Intent(id="y", name="y"))
        assert [c.seq for c in store.changes(mark).changes] == [mark + 1]


def test_the_touched_count_follows_edits_made_with_plain_sql(tmp_path: Path) -> None:
    """The triggers, not intentgraph, keep it: moved, deleted and cascaded edges too."""
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.put_many([ig.Intent(id=x, name=x) for x in "abcdef"])
        store.add_edges(
            [
                ig.Edge(source="b", target="a", type=E.DEPENDS_ON),
                ig.Edge(source="c", target="a", type=E.DEPENDS_ON),
                ig.Edge(source="c", target="b", type=E.RELATED_TO),
            ]
        )
    edits = [
        "UPDATE edges SET target = 'd' WHERE source = 'c' AND type = 'RELATED_TO'",
        "UPDATE edges SET source = 'e', target = 'f' WHERE source = 'b'",
        "UPDATE edges SET type = 'ENABLES' WHERE source = 'c' AND target = 'a'",
        "DELETE FROM edges WHERE source = 'e'",
        "INSERT INTO edges (source, type, target, created_us) VALUES ('e', 'ENABLES', 'e', 0)",
        "INSERT INTO edges (source, type, target, created_us) VALUES ('f', 'ENABLES', 'e', 0)",
        "DELETE FROM edges WHERE source = 'e' AND target = 'e'",
        "DELETE FROM intents WHERE id = 'c'",
    ]
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA foreign_keys = ON")
        for edit in edits:
            raw.execute(edit)
            assert schema.counter_problems(raw) == [], edit
