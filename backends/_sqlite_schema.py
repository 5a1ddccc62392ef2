"""The SQLite schema as an ordered list of migrations, applied on open.

``PRAGMA user_version`` records how many migrations a database has had. A migration is
never edited once released: a schema change appends a new one.
"""

from __future__ import annotations

import sqlite3

from intentgraph.errors import StoreCorrupted

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

# Each migration is a tuple of statements, run in order inside one transaction.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # A rowid table: rows carry the whole intent as JSON, often larger than the
        # 1/20-page size at which WITHOUT ROWID stops paying off.
        """
        CREATE TABLE intents (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            priority INTEGER NOT NULL,
            name TEXT NOT NULL,
            session_id TEXT,
            created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL,
            search TEXT NOT NULL,
            unmet INTEGER NOT NULL DEFAULT 0,
            held INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL
        )
        """,
        "CREATE INDEX ix_intents_created ON intents(created_us, id)",
        "CREATE INDEX ix_intents_updated ON intents(updated_us, id)",
        "CREATE INDEX ix_intents_status ON intents(status, created_us, id)",
        "CREATE INDEX ix_intents_priority ON intents(priority, created_us, id)",
        "CREATE INDEX ix_intents_session ON intents(session_id, created_us, id)",
        "CREATE INDEX ix_intents_name ON intents(name, id)",
        # ready() reads this index in order and stops after ``limit`` entries.
        """
        CREATE INDEX ix_intents_ready ON intents(priority DESC, created_us, id)
        WHERE status = 'active' AND unmet = 0 AND held = 0
        """,
        """
        CREATE TABLE edges (
            source TEXT NOT NULL REFERENCES intents(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            target TEXT NOT NULL REFERENCES intents(id) ON DELETE CASCADE,
            data TEXT NOT NULL,
            PRIMARY KEY (source, type, target)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX ix_edges_target ON edges(target, type, source)",
        "CREATE INDEX ix_edges_type ON edges(type, source, target)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` of a database this code has fully migrated."""


def user_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in the database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, path: str, *, read_only: bool) -> int:
    """Bring the database up to ``SCHEMA_VERSION``; return the version found on open.

    Runs inside one ``BEGIN IMMEDIATE`` transaction, so two processes opening a new file
    at once migrate it once. Idempotent.

    Raises:
        StoreCorrupted: the database was written by a newer intentgraph, or is not an
            intentgraph store.
        StorageError: a read-only store needs a migration.
    """
    found = user_version(conn)
    _check_not_newer(found, path)
    if found == SCHEMA_VERSION:
        return found
    if read_only:
        from intentgraph.errors import StorageError

        raise StorageError(
            f"{path} has schema version {found}, this intentgraph needs {SCHEMA_VERSION}; "
            "open it once without read_only to migrate it"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = user_version(conn)  # another process may have migrated meanwhile
        _check_not_newer(current, path)
        if current == 0 and _has_foreign_tables(conn):
            raise StoreCorrupted(f"{path} is an SQLite database but not an intentgraph store")
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found


def _check_not_newer(version: int, path: str) -> None:
    if version > SCHEMA_VERSION:
        raise StoreCorrupted(
            f"{path} has schema version {version}, newer than the {SCHEMA_VERSION} this "
            "intentgraph knows; upgrade intentgraph to open it"
        )


def _has_foreign_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()
    return bool(row[0])
