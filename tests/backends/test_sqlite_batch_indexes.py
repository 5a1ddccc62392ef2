"""A large put_many (at least INDEX_AFTER_ROWS intents, and no fewer than the store holds)
makes the intents' secondary indexes after its rows, and a large add_edges the ready index:
the same schema and answers as entry-by-entry indexing, full index pages, and a failed or
rolled-back batch leaves the indexes as they were."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph.backends import sqlite as sqlite_backend
from intentgraph.backends._sqlite_schema import counter_problems, schema_problems
from intentgraph.backends.sqlite import SqliteStore

E = ig.EdgeType
S = ig.IntentStatus


def intents(first: int, end: int) -> list[ig.Intent]:
    return [
        ig.Intent(
            id=f"i{k:05d}",
            name=f"n{(k * 7919) % 1000}",
            priority=k % 5,
            session_id=f"s{k % 3}",
            status=S.COMPLETED if k % 4 == 0 else S.ACTIVE,
        )
        for k in range(first, end)
    ]


def edges(first: int, end: int) -> list[ig.Edge]:
    out = [ig.Edge(source=f"i{k:05d}", target=f"i{k // 2:05d}", type=E.IS_SUBGOAL_OF)
           for k in range(max(first, 1), end)]  # fmt: skip
    out += [ig.Edge(source=f"i{k:05d}", target=f"i{k - 3:05d}", type=E.DEPENDS_ON)
            for k in range(max(first, 3), end, 3)]  # fmt: skip
    return out


def answers(store: Any) -> list[Any]:
    return [
        store.ready(),
        store.blocked(),
        store.stats().model_dump(exclude={"expired_leases"}),
        *(store.list(order_by=order) for order in ("created_at", "updated_at", "priority", "name")),
        store.list(status=[S.ACTIVE], limit=7),
        store.list(session_id="s1", limit=5),
        store.list(text="N1"),
    ]


def statements(store: SqliteStore) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    return seen


def schema(store: SqliteStore) -> list[Any]:
    return store._conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    ).fetchall()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_backend, "INDEX_AFTER_ROWS", 20)


@pytest.mark.usefixtures("small_batches")
def test_large_batches_make_indexes_after_with_the_same_answers(tmp_path: Path) -> None:
    reference = ig.open_store("memory://")
    with SqliteStore(tmp_path / "s.db") as store:
        before = schema(store)
        seen = statements(store)
        rows = intents(0, 160)
        for s in (store, reference):
            s.clock = lambda: rows[0].created_at
            s.put_many(rows[:60])  # into an empty store
            s.add_edges(edges(0, 60))
            s.put_many(rows[60:130])  # more than the store holds
            s.add_edges(edges(60, 130))
        assert sum("DROP INDEX" in q for q in seen) == 2 * 8 + 2  # 8 on intents, then ready
        assert sum(q.startswith("REINDEX") for q in seen) == 4
        assert schema(store) == before and schema_problems(store._conn) == []
        assert counter_problems(store._conn) == []
        assert answers(store) == answers(reference)
        seen.clear()
        for s in (store, reference):
            s.put_many(rows[130:])  # fewer than the store holds: indexed as it goes
            s.add_edges(edges(130, 160))
        assert not any("DROP INDEX" in q or q.startswith("REINDEX") for q in seen)
        assert answers(store) == answers(reference)


@pytest.mark.usefixtures("small_batches")
def test_a_large_batch_that_fails_leaves_the_indexes_as_they_were(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "s.db") as store:
        before = schema(store)
        with pytest.raises(ig.errors.IntentExists):
            store.put_many([*intents(0, 30), *intents(29, 30)])
        assert store.count() == 0 and schema(store) == before
        store.put_many(intents(0, 30))
        cycle = [*edges(0, 30), ig.Edge(source="i00000", target="i00029", type=E.DEPENDS_ON)]
        cycle.append(ig.Edge(source="i00029", target="i00000", type=E.DEPENDS_ON))
        with pytest.raises(ig.errors.CycleError):
            store.add_edges(cycle)
        assert store.edges() == [] and schema(store) == before
        with pytest.raises(RuntimeError), store.transaction():
            store.put_many(intents(30, 100))
            store.add_edges(edges(0, 100))
            assert len(store.ready(limit=1000)) > 0  # the ready index is back inside
            raise RuntimeError("undo")
        assert store.count() == 30 and schema(store) == before
        assert counter_problems(store._conn) == []


def index_space(path: Path) -> tuple[int, int]:
    """(unused bytes, bytes) of the intents' secondary indexes, from SQLite's dbstat."""
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return raw.execute(
            "SELECT sum(unused), sum(pgsize) FROM dbstat"
            " WHERE name LIKE 'ix_intents_%' AND name != 'ix_intents_lease'"
        ).fetchone()
    except sqlite3.OperationalError:  # an SQLite built without dbstat
        pytest.skip("no dbstat in this SQLite")
    finally:
        raw.close()


def test_indexes_made_after_a_large_put_many_are_smaller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = intents(0, 2 * sqlite_backend.INDEX_AFTER_ROWS)
    with SqliteStore(tmp_path / "after.db") as store:
        store.put_many(rows)
    monkeypatch.setattr(sqlite_backend, "INDEX_AFTER_ROWS", len(rows) + 1)
    with SqliteStore(tmp_path / "each.db") as store:
        store.put_many(rows)
    after, each = index_space(tmp_path / "after.db"), index_space(tmp_path / "each.db")
    assert after[1] < 0.93 * each[1] and after[0] < each[0] / 3, (after, each)
