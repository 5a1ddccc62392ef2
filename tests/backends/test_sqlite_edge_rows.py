"""SQLite schema 4: an edge with no weight and no metadata is kept as its key and created_us
(its record rebuilt from them), any other edge as its whole record; a file written with
schema 3 (every edge's JSON in ``data``) migrates to the same answers, once, or not at all.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import intentgraph as ig
from intentgraph._codec import edge_to_json
from intentgraph.backends import _sqlite_schema as schema
from intentgraph.backends._sqlite_query import (
    EDGE_COLUMNS,
    EDGE_TEXT,
    edge_from_row,
    edge_row,
    to_us,
)
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.models import ID_PATTERN
from tests.backends._schema_downgrades import downgrade_to_3

E = ig.EdgeType
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

IDS = ["a", "b", "c", "d", "é-ü", "日本", 'q"uote', "back\\slash", "emoji😀", "z"]


def graph() -> tuple[list[ig.Intent], list[ig.Edge]]:
    """Intents with unusual ids, and edges of every type and shape."""
    intents = [ig.Intent(id=i, name=f"n {i}", priority=k % 3) for k, i in enumerate(IDS)]
    intents[3].status = ig.IntentStatus.COMPLETED
    edges = [
        ig.Edge(source="b", target="a", type=E.IS_SUBGOAL_OF, created_at=T0),
        ig.Edge(source="c", target="a", type=E.IS_SUBGOAL_OF, created_at=T0.replace(second=1)),
        ig.Edge(source="é-ü", target="b", type=E.IS_SUBGOAL_OF),  # now: microseconds
        ig.Edge(source="a", target="d", type=E.DEPENDS_ON, weight=0.5),
        ig.Edge(source="b", target="日本", type=E.DEPENDS_ON, metadata={"why": "é", "n": 1}),
        ig.Edge(source="c", target='q"uote', type=E.BLOCKS, weight=2.0, metadata={"k": [1]}),
        ig.Edge(source='q"uote', target="back\\slash", type=E.DEPENDS_ON),
        ig.Edge(source="emoji😀", target="日本", type=E.ENABLES),
        ig.Edge(source="a", target="z", type=E.CONFLICTS_WITH),
        ig.Edge(source="z", target="c", type=E.RELATED_TO, weight=0.0),
        ig.Edge(source="d", target="z", type=E.TRIGGERED_BY, metadata={}),
        ig.Edge(
            source="back\\slash",
            target="z",
            type=E.DEPENDS_ON,
            created_at=datetime(1, 1, 1, tzinfo=UTC),
        ),
        ig.Edge(
            source="日本",
            target="z",
            type=E.RELATED_TO,
            created_at=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    ]
    return intents, edges


def fill(store: Any, intents: list[ig.Intent], edges: list[ig.Edge]) -> None:
    store.clock = lambda: T0  # the same updated_at on every store
    store.put_many(intents)
    store.add_edges(edges)
    store.set_status("c", ig.IntentStatus.SUSPENDED)


def schema_3_file(path: Path, *, odd: bool = False) -> tuple[Any, list[ig.Edge]]:
    """A schema-3 file holding ``graph()``; returns memory holding the same, and the edges."""
    intents, edges = graph()
    reference = ig.open_store("memory://")
    fill(reference, intents, edges)
    with SqliteStore(path) as store:
        fill(store, intents, edges)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("BEGIN")
        downgrade_to_3(raw, odd=odd)
        raw.execute("COMMIT")
        assert raw.execute("SELECT count(*) FROM edges WHERE data IS NULL").fetchone() == (0,)
    return reference, edges


def answers(store: Any, *, texts: bool = True) -> list[Any]:
    """Every answer that reads edges; a backup's edge texts as they are, or read back."""
    out: list[Any] = [
        store.edges(),
        store.stats().model_dump(exclude={"expired_leases"}),
        store.ready(),
        store.blocked(),
        store.list(order_by="id"),
        store.cycles(),
        store.subtree("a"),
    ]
    for intent_id in [i.id for i in store.list(order_by="id")]:
        out.append(store.edges(intent_id))
        for direction in ("out", "in"):
            out.append(store.edges(intent_id, direction=direction, type=E.DEPENDS_ON))
        out.append(store.dependencies(intent_id, transitive=True))
        out.append(store.dependents(intent_id, transitive=True))
        out.append(store.children(intent_id))
        out.append(store.parent(intent_id))
    out += [store.edges(type=t) for t in E]
    with store.snapshot() as view:
        found = [t for batch in view.edge_json() for t in batch]
        out.append(found if texts else [ig.Edge.model_validate_json(t) for t in found])
        out.append([e for batch in view.edges() for e in batch])
    return out


def edge_rows(path: Path) -> dict[tuple[str, str, str], tuple[Any, Any]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
        return {
            (s, t, k): (us, d)
            for s, t, k, us, d in raw.execute(f"SELECT {EDGE_COLUMNS} FROM edges")
        }


@pytest.mark.parametrize("odd", [False, True])
def test_a_schema_3_file_migrates_to_the_same_answers_as_memory(tmp_path: Path, odd: bool) -> None:
    path = tmp_path / "s.db"
    reference, edges = schema_3_file(path, odd=odd)
    with SqliteStore(path) as store:
        assert store.health().details["schema_version"] == schema.SCHEMA_VERSION
        assert schema.schema_problems(store._conn) == []
        assert schema.counter_problems(store._conn) == []
        assert store.check_integrity() == []
        # A record kept as it was is handed out as it was (its "+00:00" too).
        assert answers(store, texts=not odd) == answers(reference, texts=not odd)
    rows = edge_rows(path)
    for edge in edges:
        us, data = rows[(edge.source, edge.target, edge.type.value)]
        if (
            edge.weight is None
            and not edge.metadata
            and not (odd and edge.type is E.CONFLICTS_WITH)
        ):
            assert (us, data) == (to_us(edge.created_at), None), edge
        else:
            assert us is None and data is not None, edge
    # Writes go on as on any store, and still agree.
    with SqliteStore(path) as store:
        more = [
            ig.Edge(source="z", target="b", type=E.DEPENDS_ON, weight=1.5),
            ig.Edge(source="a", target="d", type=E.DEPENDS_ON),  # again: weight gone, when kept
        ]
        for s in (store, reference):
            s.add_edges(more)
            s.remove_edge("b", "a", E.IS_SUBGOAL_OF)
            s.delete("日本")
        assert answers(store, texts=not odd) == answers(reference, texts=not odd)
        assert rows[("a", "d", "DEPENDS_ON")][1] is not None
        assert edge_rows(path)[("a", "d", "DEPENDS_ON")][1] is None


def test_the_migration_runs_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    schema_3_file(path)
    SqliteStore(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (schema.SCHEMA_VERSION,)
        before = raw.execute("SELECT * FROM edges ORDER BY 1, 2, 3").fetchall()
        assert (
            schema.migrate(raw, str(path), read_only=False) == schema.SCHEMA_VERSION
        )  # nothing to do
        assert raw.execute("SELECT * FROM edges ORDER BY 1, 2, 3").fetchall() == before


def test_a_migration_that_fails_leaves_the_schema_3_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    schema_3_file(path)

    def dump() -> tuple[Any, ...]:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
            return (
                raw.execute("PRAGMA user_version").fetchone(),
                raw.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                raw.execute("SELECT * FROM edges ORDER BY 1, 2, 3").fetchall(),
                raw.execute("SELECT * FROM counters ORDER BY 1").fetchall(),
            )

    before = dump()

    def refuse(conn: sqlite3.Connection, path: str) -> None:
        # After every statement of the migration ran, before its COMMIT.
        assert conn.execute("SELECT count(*) FROM edges WHERE data IS NULL").fetchone()[0] > 0
        raise ig.errors.StoreCorrupted("refused for the test")

    monkeypatch.setattr(schema, "_verify", refuse)
    with pytest.raises(ig.errors.StoreCorrupted, match="refused for the test"):
        SqliteStore(path)
    assert dump() == before
    monkeypatch.undo()
    with SqliteStore(path) as store:
        assert store.check_integrity() == []


def test_a_dangling_edge_of_a_hand_edited_file_migrates_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    schema_3_file(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute(
            "INSERT INTO edges (source, type, target, data) VALUES ('a', 'ENABLES', 'gone', ?)",
            (edge_to_json(ig.Edge(source="a", target="gone", type=E.ENABLES, created_at=T0)),),
        )
    with SqliteStore(path) as store:
        problems = store.check_integrity()
    assert [p.kind for p in problems] == ["dangling_edge"], problems
    assert edge_rows(path)[("a", "gone", "ENABLES")] == (to_us(T0), None)


def test_a_row_that_is_neither_shape_is_an_integrity_problem(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        fill(store, *graph())
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA ignore_check_constraints = ON")
        raw.execute("UPDATE edges SET created_us = NULL WHERE source = 'b' AND target = 'a'")
        raw.execute("UPDATE edges SET type = 'NOPE' WHERE source = 'c' AND target = 'a'")
    with SqliteStore(path) as store:
        found = sorted(p.message for p in store.check_integrity() if p.kind == "invalid_record")
    assert len(found) == 2
    assert "'b' -IS_SUBGOAL_OF-> 'a'" in found[0]
    assert "'c' -NOPE-> 'a'" in found[1]


# --- the row <-> record conversions ------------------------------------------------------------

_ids = st.text(min_size=1, max_size=12).filter(
    lambda s: __import__("re").fullmatch(ID_PATTERN, s) is not None
)
_times = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda d: d.replace(tzinfo=UTC))


_SQL = sqlite3.connect(":memory:", check_same_thread=False)
_SQL.execute("CREATE TABLE edges (source, type, target, created_us, data)")


@given(source=_ids, target=_ids, etype=st.sampled_from(list(E)), when=_times)
def test_a_plain_row_rebuilds_the_record_the_codec_writes(
    source: str, target: str, etype: E, when: datetime
) -> None:
    edge = ig.Edge(source=source, target=target, type=etype, created_at=when)
    row = edge_row(edge)
    assert row[3:] == (to_us(when), None)
    assert edge_from_row(row[0], row[2], row[1], *row[3:]) == edge
    _SQL.execute("DELETE FROM edges")
    _SQL.execute("INSERT INTO edges VALUES (?, ?, ?, ?, ?)", row)
    assert _SQL.execute(f"SELECT {EDGE_TEXT} FROM edges").fetchone()[0] == edge_to_json(edge)


def test_a_row_with_neither_created_us_nor_data_or_past_9999_has_no_text() -> None:
    _SQL.execute("DELETE FROM edges")
    _SQL.execute("INSERT INTO edges VALUES ('a', 'ENABLES', 'b', NULL, NULL)")
    _SQL.execute("INSERT INTO edges VALUES ('a', 'ENABLES', 'c', ?, NULL)", (2**62,))  # after 9999
    assert _SQL.execute(f"SELECT {EDGE_TEXT} FROM edges").fetchall() == [(None,), (None,)]


def test_a_load_of_texts_keeps_plain_edges_as_their_key(tmp_path: Path) -> None:
    intents, edges = graph()
    with ig.open_store("memory://") as reference:
        fill(reference, intents, edges)
        with reference.snapshot() as view:
            intent_texts = [t for b in view.intent_json() for t in b]
            edge_texts = [t for b in view.edge_json() for t in b]
            expected = [e for b in view.edges() for e in b]
    edge_texts[0] = edge_texts[0].replace('Z"}', '+00:00"}')  # another spelling of UTC
    store = SqliteStore(tmp_path / "s.db")
    store.bulk_load_json(intent_texts, edge_texts)
    assert store.edges() == expected
    plain = store._conn.execute("SELECT count(*) FROM edges WHERE data IS NULL").fetchone()[0]
    assert plain == sum(1 for e in expected if e.weight is None and not e.metadata)
    store.close()
