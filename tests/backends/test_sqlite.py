"""SQLite-only behaviour: file format, migrations, error translation, blocked state."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph._codec import edge_to_json, intent_to_json
from intentgraph._queries import ready_key
from intentgraph.backends._sqlite_schema import SCHEMA_VERSION
from intentgraph.backends.memory import MemoryStore
from intentgraph.backends.sqlite import SqliteStore
from intentgraph.errors import (
    IntentExists,
    IntentGraphError,
    InvalidURL,
    ReadOnlyStore,
    StorageError,
    StoreCorrupted,
    StoreUnavailable,
)
from intentgraph.models import (
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    Edge,
    EdgeType,
    Intent,
    IntentStatus,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
_EDGE_TYPES = [
    EdgeType.DEPENDS_ON,
    EdgeType.BLOCKS,
    EdgeType.IS_SUBGOAL_OF,
    EdgeType.CONFLICTS_WITH,
]


def _intent(i: int, **fields: Any) -> Intent:
    at = T0 + timedelta(seconds=i)
    return Intent(id=f"i{i:03d}", name=f"Intent {i}", created_at=at, updated_at=at, **fields)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


def test_new_store_uses_wal_and_records_the_schema_version(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        details = store.health().details
    assert details["journal_mode"] == "wal"
    assert details["schema_version"] == SCHEMA_VERSION
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    raw.close()


def test_a_new_file_has_8k_pages_and_an_existing_file_keeps_its_own(tmp_path: Path) -> None:
    new, old = tmp_path / "new.db", tmp_path / "old.db"
    with SqliteStore(new) as store:
        assert store._conn.execute("PRAGMA page_size").fetchone() == (8192,)
    raw = sqlite3.connect(old)
    raw.execute("PRAGMA page_size = 4096")
    raw.execute("PRAGMA journal_mode = WAL")  # writes the header: the size is fixed
    raw.close()
    for path in (old, new):  # each reopened (and the old one written) at its own size
        with SqliteStore(path) as store:
            store.put(_intent(1))
            found = store._conn.execute("PRAGMA page_size").fetchone()[0]
            assert found == (4096 if path == old else 8192)
            assert store.check_integrity() == []


def test_reopening_keeps_data_and_does_not_migrate_again(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.put(_intent(1))
    for _ in range(2):
        with SqliteStore(db_path) as store:
            assert [i.id for i in store.list()] == ["i001"]
            assert store.health().details["schema_version"] == SCHEMA_VERSION


def test_open_store_url_accepts_options_and_rejects_unknown_ones(db_path: Path) -> None:
    with ig.open_store(f"sqlite:///{db_path}?busy_timeout=100") as store:
        assert store.backend == "sqlite"
    with pytest.raises(InvalidURL):
        ig.open_store(f"sqlite:///{db_path}?nope=1")
    with pytest.raises(InvalidURL):
        ig.open_store(f"sqlite:///{db_path}?busy_timeout=soon")


def test_newer_schema_version_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    with pytest.raises(StoreCorrupted, match="newer"):
        SqliteStore(db_path)


def test_file_that_is_not_a_database_raises_corrupted(db_path: Path) -> None:
    db_path.write_bytes(b"this is not an sqlite database at all, just text" * 100)
    with pytest.raises(StoreCorrupted) as info:
        SqliteStore(db_path)
    assert not isinstance(info.value.__cause__, type(None))
    assert not isinstance(info.value, sqlite3.Error)


def test_foreign_sqlite_database_is_refused(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("CREATE TABLE other (x)")
    raw.close()
    with pytest.raises(StoreCorrupted, match="not an intentgraph store"):
        SqliteStore(db_path)


def test_uncreatable_path_raises_unavailable(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("a regular file, not a directory")
    with pytest.raises(StoreUnavailable):
        SqliteStore(afile / "x.db")
    with pytest.raises(StoreUnavailable):
        ig.open_store(f"sqlite:///{afile / 'x.db'}")


def test_unavailable_store_can_fall_back_to_memory(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    store = ig.open_store(f"sqlite:///{afile / 'x.db'}", fallback=True)
    assert store.backend == "memory" and store.degraded


def test_locked_database_raises_storage_error_not_sqlite_error(db_path: Path) -> None:
    store = SqliteStore(db_path, busy_timeout_ms=50)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            store.put(_intent(1))
        assert not isinstance(info.value, sqlite3.Error)
        assert isinstance(info.value.__cause__, sqlite3.Error)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.put(_intent(1))
    assert store.count() == 1
    store.close()


def test_failed_put_many_leaves_the_store_unchanged(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.put(_intent(2))
        with pytest.raises(IntentExists) as info:
            store.put_many([_intent(1), _intent(2), _intent(3)])
        assert info.value.intent_id == "i002"
        with pytest.raises(IntentExists):
            store.put_many([_intent(4), _intent(4)])
        assert [i.id for i in store.list()] == ["i002"]


def test_nested_transaction_rolls_back_to_its_savepoint(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        with store.transaction():
            store.put(_intent(1))
            with pytest.raises(RuntimeError), store.transaction():
                store.put(_intent(2))
                raise RuntimeError("inner fails")
            store.put(_intent(3))
        assert [i.id for i in store.list()] == ["i001", "i003"]
        with pytest.raises(RuntimeError), store.transaction():
            store.put(_intent(4))
            raise RuntimeError("outer fails")
        assert store.count() == 2


def test_read_only_store_reads_and_refuses_writes(db_path: Path) -> None:
    with SqliteStore(db_path) as store:
        store.put(_intent(1))
    with ig.open_store(f"sqlite:///{db_path}?read_only=1") as ro:
        assert ro.get("i001").name == "Intent 1"
        with pytest.raises(ReadOnlyStore):
            ro.put(_intent(2))


def test_closed_store_raises_intentgraph_errors(db_path: Path) -> None:
    store = SqliteStore(db_path)
    store.close()
    store.close()
    with pytest.raises(IntentGraphError):
        store.get("x")


def _random_ops(store: Any, rng: random.Random, steps: int) -> list[str]:
    """Apply random writes; return the outcome of each (result or error) as text."""
    outcomes = []
    ids: list[str] = []
    for step in range(steps):
        op = rng.random()
        try:
            if op < 0.25 or len(ids) < 3:
                intent = _intent(
                    step,
                    priority=rng.randint(0, 3),
                    status=rng.choice([IntentStatus.ACTIVE, IntentStatus.PENDING]),
                    metadata={"n": step % 3},
                )
                store.put(intent)
                ids.append(intent.id)
                outcomes.append(f"put {intent.id}")
            elif op < 0.5:
                intent_id = rng.choice(ids)
                status = rng.choice(list(IntentStatus))
                got = store.set_status(intent_id, status)
                outcomes.append(f"status {got.id} {got.status} {got.version}")
            elif op < 0.8:
                etype = rng.choice(_EDGE_TYPES)
                a, b = rng.sample(ids, 2)
                edge = Edge(source=a, target=b, type=etype, created_at=T0, weight=step)
                got_edge = store.add_edges([edge])[0]
                outcomes.append(f"edge {got_edge.key}")
            elif op < 0.92:
                edges = store.edges()
                if edges:
                    e = rng.choice(edges)
                    store.remove_edge(e.target, e.source, e.type) if e.type.symmetric else (
                        store.remove_edge(e.source, e.target, e.type)
                    )
                    outcomes.append(f"unedge {e.key}")
            else:
                intent_id = rng.choice(ids)
                store.delete(intent_id, detach=rng.random() < 0.7)
                ids.remove(intent_id)
                outcomes.append(f"delete {intent_id}")
        except IntentGraphError as exc:
            outcomes.append(f"{type(exc).__name__}: {exc} {getattr(exc, 'cycle', '')}")
    return outcomes


def _expected_ready(store: SqliteStore) -> list[Intent]:
    hits = [
        i
        for i in store.list(status="active")
        if all(d.status is IntentStatus.COMPLETED for d in store.dependencies(i.id))
        and all(c.status in FINISHED_SUBGOAL for c in store.children(i.id))
        and not any(a.status in HOLDING_STATUSES for a in store.ancestors(i.id))
    ]
    return sorted(hits, key=ready_key)


@pytest.mark.parametrize("seed", range(4))
def test_blocked_state_matches_a_recomputation_after_random_writes(
    db_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    with SqliteStore(db_path) as store:
        for _ in range(6):
            _random_ops(store, rng, 40)
            assert store.ready() == _expected_ready(store)
            assert store.ready(limit=3) == _expected_ready(store)[:3]


def _dump(value: Any) -> Any:
    """Drop ``updated_at``: update() stamps the wall clock, which differs per store."""
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, Intent):
        return value.model_dump(exclude={"updated_at"})
    if hasattr(value, "model_dump"):
        return _dump_dict(value.model_dump())
    return value


def _dump_dict(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _dump_dict(v) for k, v in value.items() if k != "updated_at"}
    if isinstance(value, list):
        return [_dump_dict(v) for v in value]
    return value


@pytest.mark.parametrize("seed", range(3))
def test_sqlite_gives_the_same_answers_as_memory(db_path: Path, seed: int) -> None:
    sqlite_store = SqliteStore(db_path)
    memory = MemoryStore()
    assert _random_ops(sqlite_store, random.Random(seed), 150) == _random_ops(
        memory, random.Random(seed), 150
    )
    for query in (
        lambda s: s.ready(),
        lambda s: s.blocked(),
        lambda s: s.cycles(),
        lambda s: s.stats(),
        lambda s: s.edges(),
        lambda s: s.list(order_by="priority", descending=True, limit=7, offset=2),
        lambda s: s.list(metadata={"n": 1}, order_by="name"),
        lambda s: s.list(metadata={"n": True}, text="INTENT 1"),
        lambda s: s.count(status=("active", "completed")),
    ):
        assert _dump(query(sqlite_store)) == _dump(query(memory))
    for intent in memory.list():
        for query in (
            lambda s, i=intent.id: s.subtree(i),
            lambda s, i=intent.id: s.ancestors(i),
            lambda s, i=intent.id: s.dependencies(i, transitive=True),
            lambda s, i=intent.id: s.dependents(i, transitive=True),
            lambda s, i=intent.id: s.dependents(i),
            lambda s, i=intent.id: s.edges(i, direction="in"),
            lambda s, i=intent.id: s.edges(i, direction="out"),
            lambda s, i=intent.id: s.conflicts(i),
            lambda s, i=intent.id: s.parent(i),
            lambda s, i=intent.id: s.context(i),
        ):
            assert _dump(query(sqlite_store)) == _dump(query(memory))
    sqlite_store.close()


def test_an_sqlite_library_older_than_needed_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(ig.errors.StoreUnavailable, match=r"3\.31\.1.*3\.35\.0"):
        ig.open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert not (tmp_path / "s.db").exists()


def test_compact_gives_space_back_after_deletes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.put_many(Intent(id=f"i{n:05d}", name="x", goal="y" * 500) for n in range(3000))
        for n in range(3000):
            store.delete(f"i{n:05d}")
        before = path.stat().st_size + (tmp_path / "s.db-wal").stat().st_size
        store.compact()
        after = path.stat().st_size + (tmp_path / "s.db-wal").stat().st_size
        assert after < before / 4
        with store.transaction(), pytest.raises(ig.errors.TransactionError, match="inside"):
            store.compact()


def test_a_load_the_caller_checked_keeps_foreign_keys_on_for_every_other_write(
    tmp_path: Path,
) -> None:
    # A load with graph_checked skips the foreign-key lookups; the connection's own writes
    # (a delete cascading to the edges) rely on them afterwards, whether the load went
    # through or was refused.
    texts = [intent_to_json(Intent(id=i, name=i, version=1)) for i in ("a", "b")]
    link = [edge_to_json(ig.Edge(source="a", target="b", type=EdgeType.DEPENDS_ON))]

    def refuse() -> None:
        raise ValueError("no")

    with SqliteStore(tmp_path / "s.db") as store:
        with pytest.raises(ValueError):
            store.bulk_load_json(texts, link, graph_checked=True, confirm=refuse)
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        store.bulk_load_json(texts, link, graph_checked=True)
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        store.delete("b")
        assert store.edges() == [] and store.check_integrity() == []


# --- the write-ahead log ---------------------------------------------------------------------


def test_a_bulk_write_leaves_no_large_write_ahead_log(tmp_path: Path, monkeypatch: Any) -> None:
    from intentgraph.backends import sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "BULK_ROWS", 500)
    path = tmp_path / "s.db"
    wal = tmp_path / "s.db-wal"
    with SqliteStore(path) as store:
        assert store._conn.execute("PRAGMA journal_size_limit").fetchone()[0] == (
            sqlite_backend.WAL_LIMIT
        )
        store.put_many([Intent(id=f"i{k}", name="x" * 200) for k in range(499)])
        small = wal.stat().st_size  # below BULK_ROWS: the log is left to SQLite
        assert small > 0
        store.put_many([Intent(id=f"j{k}", name="x" * 200) for k in range(600)])
        assert wal.stat().st_size == 0
        assert store.count() == 1099


def test_a_reader_on_the_log_does_not_hold_up_a_bulk_write(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import time

    from intentgraph.backends import sqlite as sqlite_backend

    monkeypatch.setattr(sqlite_backend, "BULK_ROWS", 100)
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.put(Intent(id="first", name="first"))
        reader = sqlite3.connect(path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM intents").fetchone()[0] == 1
            start = time.monotonic()
            store.put_many([Intent(id=f"i{k}", name="x") for k in range(200)])
            assert time.monotonic() - start < 5  # the busy timeout is 30 s
            assert reader.execute("SELECT count(*) FROM intents").fetchone()[0] == 1
            reader.execute("COMMIT")
        finally:
            reader.close()
        assert store.count() == 201
