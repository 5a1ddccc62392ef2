"""The SQLite schema as an ordered list of migrations, applied on open.

``PRAGMA user_version`` records how many migrations a database has had. A migration is
never edited once released: a schema change appends a new one.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3

from intentgraph.errors import StorageError, StoreCorrupted

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "check_schema",
    "counter_problems",
    "migrate",
    "schema_problems",
]

# Each migration is a tuple of statements, run in order inside one transaction.
_MIGRATIONS_1_TO_3: tuple[tuple[str, ...], ...] = (
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
    (
        # The work loop: subgoals hold their parent, claims carry leases, and a change feed.
        "ALTER TABLE intents ADD COLUMN open_subgoals INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE intents ADD COLUMN lease_expires_us INTEGER",
        """
        UPDATE intents SET data = json_set(data, '$.lease', json('null'), '$.attempts', 0,
                                            '$.reason', json('null'))
        WHERE json_type(data, '$.attempts') IS NULL
        """,
        """
        UPDATE intents SET open_subgoals = (
            SELECT count(*) FROM edges e JOIN intents c ON c.id = e.source
            WHERE e.target = intents.id AND e.type = 'IS_SUBGOAL_OF'
              AND c.status NOT IN ('completed', 'archived'))
        """,
        "DROP INDEX ix_intents_ready",
        """
        CREATE INDEX ix_intents_ready ON intents(priority DESC, created_us, id)
        WHERE status = 'active' AND unmet = 0 AND held = 0 AND open_subgoals = 0
        """,
        # reclaim_expired() reads the expired leases in expiry order and stops.
        """
        CREATE INDEX ix_intents_lease ON intents(lease_expires_us)
        WHERE lease_expires_us IS NOT NULL
        """,
        """
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            op TEXT NOT NULL,
            intent_id TEXT NOT NULL,
            target TEXT,
            type TEXT,
            status TEXT
        )
        """,
    ),
    (
        # Counts stats() reads instead of scanning: intents by status, edges by type, the
        # intents some edge touches (a degree per intent), and a token that changes with
        # every change of a blocking edge (random, so a rolled-back write leaves none
        # behind that a later write could repeat). Triggers keep them, whoever writes.
        "CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE TABLE degrees (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO counters SELECT 'status:' || status, count(*) FROM intents GROUP BY status",
        "INSERT INTO counters SELECT 'edges:' || type, count(*) FROM edges GROUP BY type",
        """
        INSERT INTO degrees SELECT id, count(*) FROM (
            SELECT source AS id FROM edges UNION ALL SELECT target FROM edges
        ) GROUP BY id
        """,
        """
        INSERT INTO counters VALUES
            ('touched', (SELECT count(*) FROM degrees)), ('blocking', random())
        """,
        """
        CREATE TRIGGER tg_intents_insert AFTER INSERT ON intents BEGIN
            INSERT INTO counters VALUES ('status:' || new.status, 1)
                ON CONFLICT (name) DO UPDATE SET n = n + 1;
        END
        """,
        """
        CREATE TRIGGER tg_intents_delete AFTER DELETE ON intents BEGIN
            UPDATE counters SET n = n - 1 WHERE name = 'status:' || old.status;
        END
        """,
        """
        CREATE TRIGGER tg_intents_status AFTER UPDATE OF status ON intents
        WHEN old.status IS NOT new.status BEGIN
            UPDATE counters SET n = n - 1 WHERE name = 'status:' || old.status;
            INSERT INTO counters VALUES ('status:' || new.status, 1)
                ON CONFLICT (name) DO UPDATE SET n = n + 1;
        END
        """,
        """
        CREATE TRIGGER tg_edges_insert AFTER INSERT ON edges BEGIN
            INSERT INTO counters VALUES ('edges:' || new.type, 1)
                ON CONFLICT (name) DO UPDATE SET n = n + 1;
            INSERT INTO degrees VALUES (new.source, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
            INSERT INTO degrees VALUES (new.target, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
            UPDATE counters SET n = random()
            WHERE name = 'blocking' AND new.type IN ('DEPENDS_ON', 'BLOCKS');
        END
        """,
        """
        CREATE TRIGGER tg_edges_delete AFTER DELETE ON edges BEGIN
            UPDATE counters SET n = n - 1 WHERE name = 'edges:' || old.type;
            UPDATE degrees SET n = n - 1 WHERE id = old.source;
            UPDATE degrees SET n = n - 1 WHERE id = old.target;
            DELETE FROM degrees WHERE id IN (old.source, old.target) AND n <= 0;
            UPDATE counters SET n = random()
            WHERE name = 'blocking' AND old.type IN ('DEPENDS_ON', 'BLOCKS');
        END
        """,
        # intentgraph never moves an edge (it deletes and inserts); anyone else who does
        # is counted as if they had.
        """
        CREATE TRIGGER tg_edges_move AFTER UPDATE OF source, type, target ON edges
        WHEN old.source IS NOT new.source OR old.type IS NOT new.type
            OR old.target IS NOT new.target BEGIN
            UPDATE counters SET n = n - 1 WHERE name = 'edges:' || old.type;
            UPDATE degrees SET n = n - 1 WHERE id = old.source;
            UPDATE degrees SET n = n - 1 WHERE id = old.target;
            DELETE FROM degrees WHERE id IN (old.source, old.target) AND n <= 0;
            INSERT INTO counters VALUES ('edges:' || new.type, 1)
                ON CONFLICT (name) DO UPDATE SET n = n + 1;
            INSERT INTO degrees VALUES (new.source, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
            INSERT INTO degrees VALUES (new.target, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
            UPDATE counters SET n = random() WHERE name = 'blocking';
        END
        """,
        """
        CREATE TRIGGER tg_degrees_insert AFTER INSERT ON degrees BEGIN
            UPDATE counters SET n = n + 1 WHERE name = 'touched';
        END
        """,
        """
        CREATE TRIGGER tg_degrees_delete AFTER DELETE ON degrees BEGIN
            UPDATE counters SET n = n - 1 WHERE name = 'touched';
        END
        """,
    ),
)

# The triggers migration 3 made on edges, made again on schema 4's edge table (dropping a
# table drops its triggers).
_EDGE_TRIGGERS = tuple(
    statement
    for statement in _MIGRATIONS_1_TO_3[2]
    if re.search(r"CREATE TRIGGER \w+ AFTER [^;]*\bON edges\b", statement)
)
assert len(_EDGE_TRIGGERS) == 3

# ``c``: a stored edge record's created_at as pydantic writes it ("2026-11-22T10:29:38.335865Z",
# or without the fraction when it is 0); _CREATED_US: the microseconds it holds.
_CREATED_US = """(
    CAST(strftime('%s', substr(c, 1, 19)) AS INTEGER) * 1000000
    + CASE WHEN length(c) = 27 THEN CAST(substr(c, 21, 6) AS INTEGER) ELSE 0 END
)"""
# A record the migration replaces by its key and created_us: exactly the text the store
# writes of an edge with no weight and no metadata, so that reading the row back rebuilds
# the same text. Anything else (an id json_quote spells otherwise, a hand edit) keeps it.
_PLAIN_RECORD = """(
    c GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*'
    AND (length(c) = 20 AND substr(c, 20) = 'Z'
         OR length(c) = 27 AND substr(c, 20) GLOB '.[0-9][0-9][0-9][0-9][0-9][0-9]Z'
            AND substr(c, 21, 6) != '000000')
    AND strftime('%Y-%m-%dT%H:%M:%S', substr(c, 1, 19)) = substr(c, 1, 19)
    AND data = '{"source":' || json_quote(source) || ',"target":' || json_quote(target)
        || ',"type":' || json_quote(type) || ',"weight":null,"metadata":{},"created_at":"'
        || c || '"}'
)"""

# Schema 5's change rows: each op, edge type and status as its position here. Only ever
# appended to: a stored number must keep its meaning.
CHANGE_OPS = ("put", "update", "delete", "add_edge", "remove_edge")
CHANGE_TYPES = (
    "IS_SUBGOAL_OF",
    "DEPENDS_ON",
    "BLOCKS",
    "CONFLICTS_WITH",
    "ENABLES",
    "RELATED_TO",
    "TRIGGERED_BY",
)
CHANGE_STATUSES = (
    "pending",
    "active",
    "executing",
    "completed",
    "failed",
    "suspended",
    "archived",
)


def _code(column: str, names: tuple[str, ...]) -> str:
    """SQL giving ``column``'s position in ``names``; a value not there stays as it is."""
    whens = " ".join(f"WHEN '{name}' THEN {k}" for k, name in enumerate(names))
    return f"CASE {column} {whens} ELSE {column} END"


# Schema 5: the intents an edge touches counted without a degree per intent. An end is newly
# touched when the inserted edge is its only one, and no longer touched when no edge is left;
# a moved edge (never by intentgraph) counts its new ends that were not among its old ones.
# One statement per end, each an index probe or two that writes the counter only when it
# moves (a self-loop, which only a hand edit makes, has one end).


def _only_edge(end: str) -> str:
    """SQL: the edge ``new`` is the only edge at ``end``."""
    return f"""NOT EXISTS (SELECT 1 FROM edges WHERE source = {end}
                    AND NOT (type = new.type AND target = new.target))
        AND NOT EXISTS (SELECT 1 FROM edges WHERE target = {end}
                        AND NOT (source = new.source AND type = new.type))"""


def _no_edge(end: str) -> str:
    """SQL: no edge is left at ``end``."""
    return f"""NOT EXISTS (SELECT 1 FROM edges WHERE source = {end})
        AND NOT EXISTS (SELECT 1 FROM edges WHERE target = {end})"""


_TOUCH = "UPDATE counters SET n = n {} 1 WHERE name = 'touched' AND {};"
# Each end of an inserted edge that has no other edge; each end of a removed one left with
# none (the insert and the delete trigger; the move trigger takes both sides).
_TOUCH_NEW_SOURCE = _TOUCH.format("+", _only_edge("new.source"))
_TOUCH_NEW_TARGET = _TOUCH.format(
    "+", "new.target IS NOT new.source AND " + _only_edge("new.target")
)
_UNTOUCH_OLD_SOURCE = _TOUCH.format("-", _no_edge("old.source"))
_UNTOUCH_OLD_TARGET = _TOUCH.format(
    "-", "old.target IS NOT old.source AND " + _no_edge("old.target")
)
_MOVED_SOURCE = _TOUCH.format(
    "+", "new.source NOT IN (old.source, old.target) AND " + _only_edge("new.source")
)
_MOVED_TARGET = _TOUCH.format(
    "+",
    "new.target IS NOT new.source AND new.target NOT IN (old.source, old.target) AND "
    + _only_edge("new.target"),
)
_EDGE_TRIGGERS_5 = (
    f"""
    CREATE TRIGGER tg_edges_insert AFTER INSERT ON edges BEGIN
        INSERT INTO counters VALUES ('edges:' || new.type, 1)
            ON CONFLICT (name) DO UPDATE SET n = n + 1;
        {_TOUCH_NEW_SOURCE}
        {_TOUCH_NEW_TARGET}
        UPDATE counters SET n = random()
        WHERE name = 'blocking' AND new.type IN ('DEPENDS_ON', 'BLOCKS');
    END
    """,
    f"""
    CREATE TRIGGER tg_edges_delete AFTER DELETE ON edges BEGIN
        UPDATE counters SET n = n - 1 WHERE name = 'edges:' || old.type;
        {_UNTOUCH_OLD_SOURCE}
        {_UNTOUCH_OLD_TARGET}
        UPDATE counters SET n = random()
        WHERE name = 'blocking' AND old.type IN ('DEPENDS_ON', 'BLOCKS');
    END
    """,
    f"""
    CREATE TRIGGER tg_edges_move AFTER UPDATE OF source, type, target ON edges
    WHEN old.source IS NOT new.source OR old.type IS NOT new.type
        OR old.target IS NOT new.target BEGIN
        UPDATE counters SET n = n - 1 WHERE name = 'edges:' || old.type;
        INSERT INTO counters VALUES ('edges:' || new.type, 1)
            ON CONFLICT (name) DO UPDATE SET n = n + 1;
        {_MOVED_SOURCE}
        {_MOVED_TARGET}
        {_UNTOUCH_OLD_SOURCE}
        {_UNTOUCH_OLD_TARGET}
        UPDATE counters SET n = random() WHERE name = 'blocking';
    END
    """,
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    *_MIGRATIONS_1_TO_3,
    (
        # Issue 10 (file size): an edge with no weight and no metadata (most edges) keeps
        # its key and created_us alone, and its record is rebuilt from them; data holds the
        # whole record of the others. ix_edges_type is gone: every query by type alone
        # reads all edges of a type, as fast by a scan of this narrower table.
        """
        CREATE TABLE edges_v4 (
            source TEXT NOT NULL REFERENCES intents(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            target TEXT NOT NULL REFERENCES intents(id) ON DELETE CASCADE,
            created_us INTEGER,
            data TEXT,
            PRIMARY KEY (source, type, target),
            CHECK ((created_us IS NULL) != (data IS NULL))
        ) WITHOUT ROWID
        """,
        # Materialized: each expression once per row (flattened, json_extract ran for
        # every use of c).
        f"""
        WITH records AS MATERIALIZED (
            SELECT source, type, target, data,
                   CASE WHEN json_valid(data) THEN json_extract(data, '$.created_at') END AS c
            FROM edges
        ), rows AS MATERIALIZED (
            SELECT source, type, target, data, coalesce({_PLAIN_RECORD}, 0) AS plain,
                   {_CREATED_US} AS us
            FROM records
        )
        INSERT INTO edges_v4 (source, type, target, created_us, data)
        SELECT source, type, target, CASE WHEN plain THEN us END,
               CASE WHEN plain THEN NULL ELSE data END
        FROM rows
        """,
        "DROP TABLE edges",  # its indexes and triggers with it
        "ALTER TABLE edges_v4 RENAME TO edges",
        "CREATE INDEX ix_edges_target ON edges(target, type, source)",
        *_EDGE_TRIGGERS,
    ),
    (
        # Issue 10 again (the file at most twice its records, 2.15x when built by writes).
        # degrees (3.7 MB at 100k intents) only counted the intents some edge touches: the
        # edge triggers now ask the edge table and its target index whether an end has
        # another edge (two probes of a few rows), and the table goes.
        "DROP TRIGGER tg_edges_insert",
        "DROP TRIGGER tg_edges_delete",
        "DROP TRIGGER tg_edges_move",
        "DROP TABLE degrees",  # and its two triggers
        *_EDGE_TRIGGERS_5,
        # A change row keeps its op, edge type and status as small integers (positions in
        # CHANGE_OPS, CHANGE_TYPES, CHANGE_STATUSES): 8.5 -> 6.6 MB for 100,000 changes.
        # The sequence keeps its number (sqlite_sequence is keyed by the table's name).
        """
        CREATE TABLE changes_v5 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            op INTEGER NOT NULL,
            intent_id TEXT NOT NULL,
            target TEXT,
            type INTEGER,
            status INTEGER
        )
        """,
        f"""
        INSERT INTO changes_v5 (seq, op, intent_id, target, type, status)
        SELECT seq, {_code("op", CHANGE_OPS)}, intent_id, target, {_code("type", CHANGE_TYPES)},
               {_code("status", CHANGE_STATUSES)}
        FROM changes
        """,
        "DELETE FROM sqlite_sequence WHERE name = 'changes_v5'",
        "UPDATE sqlite_sequence SET name = 'changes_v5' WHERE name = 'changes'",
        "DROP TABLE changes",
        "ALTER TABLE changes_v5 RENAME TO changes",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` of a database this code has fully migrated."""


def user_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in the database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def schema_problems(conn: sqlite3.Connection) -> list[str]:
    """Return how the database differs from the schema this code relies on (empty: none).

    Compares ``user_version`` and, by name, every table and index ``MIGRATIONS`` creates
    (columns, constraints, indexed columns, the ready index's WHERE clause) with a fresh
    database migrated in memory. Objects a user added (an extra index) are not problems.
    """
    problems = []
    version = user_version(conn)
    if version != SCHEMA_VERSION:
        problems.append(f"schema version is {version}, not {SCHEMA_VERSION}")
    present = {
        name.lower(): (kind, sql)
        for kind, name, sql in conn.execute("SELECT type, name, sql FROM sqlite_master")
    }
    for name, (kind, sql) in _reference_schema().items():
        found = present.get(name)
        if found is None:
            problems.append(f"{kind} {name} is missing")
        elif found[0] != kind:
            problems.append(f"{name} is a {found[0]}, not a {kind}")
        elif found[1] is None or _normalise(found[1]) != sql:
            problems.append(f"{kind} {name} was altered: {found[1]!r}")
    return problems


_COUNTS = (
    "SELECT 'status:' || status, count(*) FROM intents GROUP BY status",
    "SELECT 'edges:' || type, count(*) FROM edges GROUP BY type",
)
_TOUCHED = (
    "SELECT 'touched', count(*) FROM (SELECT source FROM edges UNION SELECT target FROM edges)"
)
_RECOUNTS = (*_COUNTS, _TOUCHED)


RECOUNT = (
    "DELETE FROM counters WHERE name != 'blocking'",
    *(f"INSERT INTO counters {sql}" for sql in _RECOUNTS),
    "UPDATE counters SET n = random() WHERE name = 'blocking'",
)
"""Statements that recount what the triggers keep (``verify --repair``)."""


def counter_problems(conn: sqlite3.Connection) -> list[str]:
    """Return where the counts the triggers keep differ from a recount (empty: none).

    Writes keep them exact; a file someone edited with the triggers dropped may not be.
    """
    kept = dict(conn.execute("SELECT name, n FROM counters WHERE name != 'blocking'"))
    counted: dict[str, int] = {}
    for sql in _RECOUNTS:
        counted.update(conn.execute(sql).fetchall())
    return [
        f"counter {name} is {kept.get(name, 0)}, the data has {counted.get(name, 0)}"
        for name in sorted(kept.keys() | counted.keys())
        if kept.get(name, 0) != counted.get(name, 0)
    ]


def check_schema(conn: sqlite3.Connection, path: str) -> int:
    """Refuse, by reading only, a database this code must not open; return its version.

    A database at ``SCHEMA_VERSION`` must have the whole schema; one at 0 must be empty
    (a new file); one in between is left to ``migrate``.

    Raises:
        StoreCorrupted: the version is impossible or newer than this code, the file holds
            other tables, or the schema was damaged or altered.
    """
    found = user_version(conn)
    if found < 0:
        raise StoreCorrupted(f"{path} has schema version {found}, which no intentgraph writes")
    if found > SCHEMA_VERSION:
        raise StoreCorrupted(
            f"{path} has schema version {found}, newer than the {SCHEMA_VERSION} this "
            "intentgraph knows; upgrade intentgraph to open it"
        )
    if found == 0:
        names = {r[0].lower() for r in conn.execute(_USER_OBJECTS)}
        if names & _reference_schema().keys():
            raise StoreCorrupted(
                f"{path} holds intentgraph tables but schema version 0: its user_version was reset"
            )
        if names:
            raise StoreCorrupted(f"{path} is an SQLite database but not an intentgraph store")
    elif found == SCHEMA_VERSION:
        _verify(conn, path)
    return found


def migrate(conn: sqlite3.Connection, path: str, *, read_only: bool) -> int:
    """Bring the database up to ``SCHEMA_VERSION``; return the version found on open.

    Runs inside one ``BEGIN IMMEDIATE`` transaction, so two processes opening a new file
    at once migrate it once, and the result is verified before it commits: a refused
    database is left as it was. Idempotent.

    Raises:
        StoreCorrupted: see ``check_schema``; or the migrated schema is not the expected
            one.
        StorageError: a read-only store needs a migration.
    """
    found = check_schema(conn, path)
    if found == SCHEMA_VERSION:
        return found
    if read_only:
        raise StorageError(
            f"{path} has schema version {found}, this intentgraph needs {SCHEMA_VERSION}; "
            "open it once without read_only to migrate it"
        )
    # Off while a migration copies a table into a new one (SQLite's own procedure for
    # changing a table): no lookup per copied row, no implicit DELETE when the old table is
    # dropped, and a file whose edges a hand edit left dangling still migrates (and
    # check_integrity still names them). It can only change outside a transaction.
    keys = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = check_schema(conn, path)  # another process may have migrated meanwhile
            if current != SCHEMA_VERSION:
                for version in range(current, SCHEMA_VERSION):
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                _verify(conn, path)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"PRAGMA foreign_keys = {int(keys)}")
    return found


def _verify(conn: sqlite3.Connection, path: str) -> None:
    problems = schema_problems(conn)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise StoreCorrupted(
            f"{path} does not have the intentgraph schema: {'; '.join(problems[:3])}{more}"
        )


_USER_OBJECTS = "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"

# SQLite keeps each CREATE statement's text as written, and ALTER TABLE ... RENAME quotes
# the names it rewrites. Compare the text case-folded and with runs of blanks folded,
# identifiers unquoted, and string literals (the ready index's 'active') kept verbatim.
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"((?:[^"]|"")*)"|`([^`]*)`|\[([^\]]*)\]|([^'"`\[]+)""")
_BLANKS = re.compile(r"\s+")
_AROUND = re.compile(r" ?([(),=<>]) ?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@functools.lru_cache(maxsize=256)  # the same few texts come back at every open
def _normalise(sql: str) -> str:
    out = []
    for match in _TOKENS.finditer(sql.strip()):
        quoted = next((g for g in match.groups()[:3] if g is not None), None)
        if match.group(4) is not None:
            out.append(_AROUND.sub(r"\1", _BLANKS.sub(" ", match.group(4))).lower())
        elif quoted is not None and _IDENTIFIER.fullmatch(quoted):
            out.append(quoted.lower())
        else:
            out.append(match.group(0))
    return "".join(out)


def set_aside_for_load(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Drop this schema's secondary indexes and triggers on ``intents`` and ``edges``
    (inside the caller's transaction) and return the statements that make them again, as
    stored, each with its table.

    For a load into empty tables: building an index once over the loaded rows is several
    times cheaper than a B-tree insert per row (at 100k rows: 4.2 s with them, 1.3 s with
    them made again after), and what the triggers count is recounted (``RECOUNT``). Objects
    a user added stay and work as always; the primary keys (upserts, foreign keys) stay.
    """
    return set_aside(conn, ("intents", "edges"), ("index", "trigger"))


def set_aside(
    conn: sqlite3.Connection, tables: tuple[str, ...], kinds: tuple[str, ...], *, only: str = ""
) -> list[tuple[str, str]]:
    """Drop this schema's objects of ``kinds`` on ``tables`` (``only``: the one so named)
    and return the statements that make them again, each with its table."""
    ours = _reference_schema()
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND type IN (SELECT value FROM json_each(?)) AND tbl_name IN"
        " (SELECT value FROM json_each(?))",
        (json.dumps(kinds), json.dumps(tables)),
    ).fetchall()
    mine = [row for row in rows if row[1].lower() in ours and only in ("", row[1].lower())]
    for kind, name, _, _ in mine:
        conn.execute(f'DROP {kind.upper()} "{name}"')  # our own names: plain identifiers
    return [(table, sql) for _, _, table, sql in mine]


@functools.cache
def _reference_schema() -> dict[str, tuple[str, str]]:
    """Name → (type, normalised SQL) of every object ``MIGRATIONS`` creates."""
    conn = sqlite3.connect(":memory:")
    try:
        for migration in MIGRATIONS:
            for statement in migration:
                conn.execute(statement)
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return {name.lower(): (kind, _normalise(sql)) for kind, name, sql in rows}
