"""What stats() reads instead of scanning — counts by status and edge type, orphans, and the
top blockers kept per version of the blocking edges — always equals a computation from the
data: after random writes, failed writes and rolled-back transactions, across connections,
and after a migration from an older SQLite schema."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph._queries import GraphQueries
from intentgraph.backends._sqlite_schema import SCHEMA_VERSION, counter_problems
from intentgraph.backends.sqlite import SqliteStore
from tests.backends._random_writes import random_writes
from tests.backends._schema_downgrades import downgrade_to_3, downgrade_to_4
from tests.conftest import url_for

E = ig.EdgeType


def computed(store: Any) -> tuple[Any, Any]:
    """(counts, top blockers) by the generic scans every backend inherits."""
    return GraphQueries._counts(store), GraphQueries._top_blockers(store)


def kept(store: Any) -> tuple[Any, Any]:
    return store._counts(), store._top_blockers()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["memory", "json", "sqlite"])
def test_counts_and_top_blockers_equal_a_scan_after_random_writes(
    tmp_path: Path, kind: str, seed: int
) -> None:
    with ig.open_store(url_for(kind, tmp_path)) as store:
        for step, _ in random_writes(store, random.Random(seed), steps=250):
            if step % 10 == 0:
                assert kept(store) == computed(store), f"step {step}"
        assert kept(store) == computed(store)
        if kind == "sqlite":
            assert counter_problems(store._conn) == []


def test_a_second_connection_sees_the_blocking_edges_another_wrote(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as first, SqliteStore(path) as second:
        first.put_many([ig.Intent(id=x, name=x) for x in "abcd"])
        first.add_edge("b", "a", E.DEPENDS_ON)
        assert second.stats().top_blockers == [("a", 1)]
        first.add_edge("c", "b", E.DEPENDS_ON)
        first.add_edge("d", "c", E.BLOCKS)  # d blocks c: c waits for d too
        assert second.stats().top_blockers == [("a", 2), ("b", 1), ("d", 1)]
        first.set_status("a", ig.IntentStatus.COMPLETED)  # no edge changed: status still read
        assert second.stats().top_blockers == [("b", 1), ("d", 1)]
        first.remove_edge("c", "b", E.DEPENDS_ON)
        assert second.stats().top_blockers == [("d", 1)]


def test_a_rolled_back_edge_leaves_no_stale_top_blockers(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        store.put_many([ig.Intent(id=x, name=x) for x in "abc"])
        assert store.stats().top_blockers == []
        with pytest.raises(RuntimeError), store.transaction():
            store.add_edge("b", "a", E.DEPENDS_ON)
            assert store.stats().top_blockers == [("a", 1)]  # seen inside, then undone
            raise RuntimeError("undo")
        assert store.stats().top_blockers == []
        store.add_edge("c", "a", E.DEPENDS_ON)
        assert store.stats().top_blockers == [("a", 1)]


def test_counters_a_raw_edit_broke_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.put_many([ig.Intent(id=x, name=x) for x in "ab"])
        store.add_edge("b", "a", E.DEPENDS_ON)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        assert counter_problems(raw) == []
        raw.execute("UPDATE counters SET n = n + 1 WHERE name = 'status:active'")
        raw.execute("UPDATE counters SET n = 5 WHERE name = 'touched'")
        assert counter_problems(raw) == [
            "counter status:active is 3, the data has 2",
            "counter touched is 5, the data has 2",
        ]


# --- migration from an older schema ----------------------------------------------------------


def downgrade_to_2(raw: sqlite3.Connection) -> None:
    """Undo migrations 5, 4 and 3, as a file written by intentgraph with schema version 2 was."""
    downgrade_to_3(raw)
    for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        raw.execute(f"DROP TRIGGER {name}")
    raw.execute("DROP TABLE counters")
    raw.execute("DROP TABLE degrees")
    raw.execute("PRAGMA user_version = 2")


def downgrade_to_1(raw: sqlite3.Connection) -> None:
    """Undo migration 2 as well."""
    downgrade_to_2(raw)
    raw.execute("DROP INDEX ix_intents_ready")
    raw.execute("DROP INDEX ix_intents_lease")
    raw.execute("DROP TABLE changes")
    raw.execute("DELETE FROM sqlite_sequence")
    raw.execute("ALTER TABLE intents DROP COLUMN open_subgoals")
    raw.execute("ALTER TABLE intents DROP COLUMN lease_expires_us")
    raw.execute("UPDATE intents SET data = json_remove(data, '$.lease', '$.attempts', '$.reason')")
    raw.execute(
        "CREATE INDEX ix_intents_ready ON intents(priority DESC, created_us, id)"
        " WHERE status = 'active' AND unmet = 0 AND held = 0"
    )
    raw.execute("PRAGMA user_version = 1")


@pytest.mark.parametrize(
    "downgrade", [downgrade_to_1, downgrade_to_2, downgrade_to_3, downgrade_to_4]
)
def test_an_older_file_migrates_to_the_same_answers(tmp_path: Path, downgrade: Any) -> None:
    path = tmp_path / "s.db"
    reference = ig.open_store("memory://")
    intents = [ig.Intent(id=f"i{k}", name=f"n{k}", priority=k % 3) for k in range(12)]
    edges = [ig.Edge(source=f"i{k}", target=f"i{k // 2}", type=E.DEPENDS_ON) for k in (3, 5)]
    edges += [ig.Edge(source=f"i{k}", target="i0", type=E.IS_SUBGOAL_OF) for k in range(7, 10)]
    with SqliteStore(path) as store:
        for s in (store, reference):
            s.clock = lambda: intents[0].created_at  # the same updated_at in both
            s.put_many(intents)
            s.add_edges(edges)
            s.set_status("i1", ig.IntentStatus.COMPLETED)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA foreign_keys = OFF")
        downgrade(raw)
    with SqliteStore(path) as store:
        assert counter_problems(store._conn) == []
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        for query in (
            lambda s: s.stats().model_dump(exclude={"expired_leases"}),
            lambda s: s.ready(),
            lambda s: s.blocked(),
            lambda s: s.list(order_by="id"),
            lambda s: s.edges(),
        ):
            assert query(store) == query(reference)


def _schema(store: SqliteStore) -> list[tuple[str, str, str]]:
    return store._conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    ).fetchall()


@pytest.mark.parametrize("replace", [False, True])
def test_a_load_into_empty_tables_builds_the_indexes_after_and_recounts(
    tmp_path: Path, replace: bool
) -> None:
    # Into empty tables (a new store, or replace), a load sets the secondary indexes and
    # triggers aside and makes them again after: the same schema, counts equal to a scan,
    # and the triggers at work for the next write.
    with SqliteStore(tmp_path / "s.db") as store:
        schema = _schema(store)
        if replace:
            store.put_many([ig.Intent(id=f"old{k}", name="old") for k in range(5)])
            store.add_edge("old1", "old0", E.DEPENDS_ON)
        intents = [ig.Intent(id=f"i{k}", name=f"i{k}", priority=k % 3) for k in range(40)]
        intents[3].status = ig.IntentStatus.COMPLETED
        edges = [ig.Edge(source=f"i{k}", target=f"i{k // 2}", type=E.IS_SUBGOAL_OF)
                 for k in range(1, 20)]  # fmt: skip
        edges += [ig.Edge(source=f"i{k}", target=f"i{k - 1}", type=E.DEPENDS_ON)
                  for k in range(21, 40)]  # fmt: skip
        store.bulk_load(intents, edges, replace=replace)
        assert _schema(store) == schema
        assert counter_problems(store._conn) == []
        assert kept(store) == computed(store)
        store.put(ig.Intent(id="late", name="late"))
        store.add_edge("late", "i39", E.DEPENDS_ON)
        assert counter_problems(store._conn) == []
        assert kept(store) == computed(store)
    with SqliteStore(tmp_path / "s.db") as again:  # the schema check at open agrees
        assert again.count() == 41


def test_a_load_that_fails_into_empty_tables_leaves_the_indexes_and_triggers(
    tmp_path: Path,
) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        schema = _schema(store)
        cycle = [
            ig.Edge(source="a", target="b", type=E.IS_SUBGOAL_OF),
            ig.Edge(source="b", target="a", type=E.IS_SUBGOAL_OF),
        ]
        with pytest.raises(ig.errors.InvalidEdge):
            store.bulk_load([ig.Intent(id=x, name=x) for x in "ab"], cycle)
        assert _schema(store) == schema
        assert store.count() == 0
        store.put(ig.Intent(id="c", name="c"))
        assert counter_problems(store._conn) == []
        assert store.stats().by_status["active"] == 1
