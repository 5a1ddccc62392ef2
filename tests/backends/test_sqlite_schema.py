"""SQLite-only: a damaged or hand-altered schema is refused at open and reported by health.

Every damaged file must raise ``StoreCorrupted`` (never ``StoreUnavailable``, so
``fallback=True`` never hides the data behind an empty memory store) and be left exactly
as it was.
"""

from __future__ import annotations

import os
import sqlite3
import timeit
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.backends._sqlite_schema import MIGRATIONS, SCHEMA_VERSION, schema_problems
from intentgraph.backends.sqlite import SqliteStore, _translate
from intentgraph.errors import StorageError, StoreCorrupted, StoreUnavailable
from intentgraph.models import EdgeType, Intent

Damage = Callable[[sqlite3.Connection], None]


def _reference_sql() -> dict[str, str]:
    with closing(sqlite3.connect(":memory:")) as conn:
        for migration in MIGRATIONS:
            for statement in migration:
                conn.execute(statement)
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


REFERENCE = _reference_sql()
INDEXES = sorted(n for n in REFERENCE if n.startswith("ix_"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A healthy store holding two intents and an edge."""
    path = tmp_path / "store.db"
    with SqliteStore(path) as store:
        store.put_many([Intent(id="a", name="a"), Intent(id="b", name="b")])
        store.add_edge("a", "b", EdgeType.DEPENDS_ON)
    return path


def damage(path: Path, *statements: str) -> None:
    """Run raw statements on the file, as a person with the sqlite3 shell would."""
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            raw.execute(statement)


def rebuild_without(table: str, column: str) -> list[str]:
    """Statements that rebuild ``table`` without ``column``, keeping the other objects."""
    lines = REFERENCE[table].splitlines()
    kept = [
        line
        for line in lines
        if line.strip().split(" ", 1)[0] != column
        and not (line.strip().startswith("CHECK") and column in line)
    ]
    assert len(kept) in (len(lines) - 1, len(lines) - 2)
    create = "\n".join(kept).replace(",\n        )", "\n        )")
    with closing(sqlite3.connect(":memory:")) as probe:
        probe.execute(create)  # still valid SQL
        columns = [r[1] for r in probe.execute(f"PRAGMA table_info({table})")]
    names = ", ".join(columns)
    indexes = [
        sql
        for name, sql in REFERENCE.items()
        if name.startswith("ix_") and f" {table}(" in sql and column not in sql
    ]
    return [
        "BEGIN",
        f"CREATE TABLE saved AS SELECT {names} FROM {table}",
        f"DROP TABLE {table}",
        create,
        f"INSERT INTO {table} ({names}) SELECT {names} FROM saved",
        "DROP TABLE saved",
        *indexes,
        "COMMIT",
    ]


def file_state(path: Path) -> tuple[bytes, list[str], list[tuple[str, ...]], int]:
    """The file's bytes, the files beside it, its schema and its user_version."""
    siblings = sorted(os.listdir(path.parent))
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
        master = raw.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        version = raw.execute("PRAGMA user_version").fetchone()[0]
    return path.read_bytes(), siblings, sorted(master), version


def assert_refused_and_untouched(path: Path, match: str) -> None:
    before = file_state(path)
    with pytest.raises(StoreCorrupted, match=match) as info:
        SqliteStore(path)
    assert not isinstance(info.value, StoreUnavailable)
    with pytest.raises(StoreCorrupted, match=match):
        ig.open_store(f"sqlite:///{path}", fallback=True)
    assert file_state(path) == before
    with pytest.raises(StoreCorrupted, match=match):
        SqliteStore(path, read_only=True)
    # A read-only connection to a WAL file leaves its empty -wal and -shm files behind.
    after = file_state(path)
    assert (after[0], *after[2:]) == (before[0], *before[2:])


# --- user_version ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", [-1, -(2**31), SCHEMA_VERSION + 1, 99, 2**31 - 1])
def test_an_impossible_or_newer_user_version_is_refused_at_open(db_path, version):
    damage(db_path, f"PRAGMA user_version = {version}")
    assert_refused_and_untouched(db_path, "schema version")


def test_a_negative_user_version_on_a_new_file_is_refused(tmp_path):
    path = tmp_path / "fresh.db"
    damage(path, "PRAGMA journal_mode = DELETE", "PRAGMA user_version = -1")
    assert_refused_and_untouched(path, "schema version -1")


def test_user_version_zero_with_our_tables_is_refused(db_path):
    damage(db_path, "PRAGMA user_version = 0")
    assert_refused_and_untouched(db_path, "schema version 0")


def test_user_version_zero_with_only_a_view_is_not_an_intentgraph_store(tmp_path):
    path = tmp_path / "view.db"
    damage(path, "CREATE VIEW intents AS SELECT 1 AS id")
    assert_refused_and_untouched(path, "intentgraph")


# --- altered objects ------------------------------------------------------------------------


@pytest.mark.parametrize("index", INDEXES)
def test_a_dropped_index_is_refused_at_open(db_path, index):
    damage(db_path, f"DROP INDEX {index}")
    assert_refused_and_untouched(db_path, f"index {index} is missing")


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("intents", "held"),
        ("intents", "search"),
        ("intents", "session_id"),
        ("edges", "data"),
        ("edges", "created_us"),
    ],
)
def test_a_dropped_column_is_refused_at_open(db_path, table, column):
    damage(db_path, *rebuild_without(table, column))
    with closing(sqlite3.connect(db_path)) as raw:
        assert column not in [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
    assert_refused_and_untouched(db_path, f"table {table} was altered")


def test_an_altered_ready_index_condition_is_refused_at_open(db_path):
    altered = REFERENCE["ix_intents_ready"].replace("held = 0", "held >= 0")
    assert altered != REFERENCE["ix_intents_ready"]
    damage(db_path, "DROP INDEX ix_intents_ready", altered)
    assert_refused_and_untouched(db_path, "index ix_intents_ready was altered")


def test_a_ready_index_without_its_condition_is_refused_at_open(db_path):
    whole = REFERENCE["ix_intents_ready"].split("WHERE")[0]
    damage(db_path, "DROP INDEX ix_intents_ready", whole)
    assert_refused_and_untouched(db_path, "index ix_intents_ready was altered")


def test_an_index_on_other_columns_is_refused_at_open(db_path):
    damage(
        db_path,
        "DROP INDEX ix_intents_name",
        "CREATE INDEX ix_intents_name ON intents(name)",
    )
    assert_refused_and_untouched(db_path, "index ix_intents_name was altered")


def test_a_renamed_table_is_refused_at_open(db_path):
    damage(db_path, "ALTER TABLE intents RENAME TO goals")
    assert_refused_and_untouched(db_path, "table intents is missing")


def test_a_table_replaced_by_a_view_is_refused_at_open(db_path):
    damage(db_path, "DROP TABLE edges", "CREATE VIEW edges AS SELECT 1 AS source")
    assert_refused_and_untouched(db_path, "edges is a view, not a table")


def test_an_added_column_is_refused_at_open(db_path):
    damage(db_path, "ALTER TABLE intents ADD COLUMN extra TEXT NOT NULL DEFAULT ''")
    assert_refused_and_untouched(db_path, "table intents was altered")


# --- what is not damage ---------------------------------------------------------------------


def test_an_index_a_user_added_is_accepted(db_path):
    damage(db_path, "CREATE INDEX my_own ON intents(status, priority)")
    with SqliteStore(db_path) as store:
        assert store.count() == 2
        assert store.health().ok


def test_the_same_schema_written_differently_is_accepted(db_path):
    # A table renamed away and back: SQLite rewrites its text with quoted names.
    damage(
        db_path,
        "ALTER TABLE edges RENAME TO e2",
        "ALTER TABLE e2 RENAME TO edges",
        "DROP INDEX ix_intents_ready",
        "create index IX_INTENTS_READY on intents ( priority desc , created_us , id ) "
        "where status='active' and unmet=0 and held=0 and open_subgoals=0",
    )
    assert schema_problems(sqlite3.connect(db_path)) == []
    with SqliteStore(db_path) as store:
        assert [i.id for i in store.ready()] == ["b"]
        assert store.health().ok


def test_a_new_file_is_created_with_no_problems(tmp_path):
    with SqliteStore(tmp_path / "new.db") as store:
        assert schema_problems(store._conn) == []


# --- damage after open ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["DROP INDEX ix_intents_ready", "DROP INDEX ix_edges_target", "PRAGMA user_version = 7"],
)
def test_health_reports_a_schema_damaged_after_open(db_path, statement):
    with SqliteStore(db_path) as store:
        assert store.health().ok
        damage(db_path, statement)
        health = store.health()
    assert health.ok is False
    assert "StoreCorrupted" in (health.reason or "")
    target = statement.split()[-1]
    assert target in (health.reason or "")


# --- error translation while opening --------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "no such table: intents",
        "no such column: held",
        "table intents already exists",
        "index ix_intents_name already exists",
        "database schema has changed",
    ],
)
def test_an_error_about_the_content_while_opening_is_corrupted(message):
    error = _translate(sqlite3.OperationalError(message), "x.db", opening=True)
    assert type(error) is StoreCorrupted


@pytest.mark.parametrize(
    "message",
    ["unable to open database file", "attempt to write a readonly database"],
)
def test_an_error_reaching_the_file_while_opening_is_unavailable(message):
    error = _translate(sqlite3.OperationalError(message), "x.db", opening=True)
    assert type(error) is StoreUnavailable


@pytest.mark.parametrize("message", ["disk I/O error", "database or disk is full"])
def test_an_io_error_while_opening_never_allows_the_fallback(message):
    error = _translate(sqlite3.OperationalError(message), "x.db", opening=True)
    assert type(error) is StorageError


def test_a_read_only_file_after_open_stays_a_storage_error():
    error = _translate(sqlite3.OperationalError("attempt to write a readonly database"), "x.db")
    assert type(error) is StorageError


def test_a_missing_directory_is_unavailable_and_a_directory_is_no_store_file(tmp_path):
    with pytest.raises(ig.errors.InvalidURL, match="directory"):
        SqliteStore(tmp_path)
    with pytest.raises(StoreUnavailable):
        SqliteStore(tmp_path / "missing" / "x.db")
    with ig.open_store(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", fallback=True) as store:
        assert store.backend == "memory" and store.degraded


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_directory_without_permission_is_unavailable(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        with pytest.raises(StoreUnavailable):
            SqliteStore(locked / "x.db")
    finally:
        locked.chmod(0o700)


# --- cost -----------------------------------------------------------------------------------


def test_checking_the_schema_costs_well_under_a_millisecond(db_path):
    with SqliteStore(db_path) as store:
        conn = store._conn
        best = min(timeit.repeat(lambda: schema_problems(conn), number=50, repeat=5)) / 50
    assert best < 0.001, f"schema_problems took {best * 1e6:.0f} µs"
