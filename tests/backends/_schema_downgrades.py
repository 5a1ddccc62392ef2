"""Turn a file this intentgraph wrote back into one an older intentgraph wrote, as the
migration tests start from."""

from __future__ import annotations

import sqlite3

from intentgraph._codec import edge_to_json
from intentgraph.backends import _sqlite_schema as schema
from intentgraph.backends._sqlite_query import EDGE_COLUMNS, edge_from_row


def downgrade_to_4(raw: sqlite3.Connection) -> None:
    """Undo migration 5: the degrees table and its triggers, the edge triggers that kept it,
    and change rows with their op, type and status as text."""
    for name in ("tg_edges_insert", "tg_edges_delete", "tg_edges_move"):
        raw.execute(f"DROP TRIGGER {name}")
    for statement in schema.MIGRATIONS[2]:
        if "degrees" in statement and not statement.lstrip().startswith("INSERT INTO counters"):
            raw.execute(statement)  # the table, its rows, the triggers on edges and on it
    rows = raw.execute("SELECT seq, op, intent_id, target, type, status FROM changes").fetchall()
    mark = raw.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
    raw.execute("DROP TABLE changes")
    raw.execute(next(s for s in schema.MIGRATIONS[1] if "CREATE TABLE changes" in s))
    raw.executemany(
        "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                seq,
                schema.CHANGE_OPS[op],
                intent_id,
                target,
                None if etype is None else schema.CHANGE_TYPES[etype],
                None if status is None else schema.CHANGE_STATUSES[status],
            )
            for seq, op, intent_id, target, etype, status in rows
        ],
    )
    raw.execute("DELETE FROM sqlite_sequence WHERE name = 'changes'")
    if mark is not None:
        raw.execute("INSERT INTO sqlite_sequence VALUES ('changes', ?)", mark)
    raw.execute("PRAGMA user_version = 4")


def downgrade_to_3(raw: sqlite3.Connection, *, odd: bool = False) -> None:
    """Put the edge table back as schema 3 wrote it: each edge's record in ``data``, and
    ix_edges_type. ``odd``: one record's created_at spelled "+00:00" (a restored text)."""
    downgrade_to_4(raw)
    rows = raw.execute(f"SELECT {EDGE_COLUMNS} FROM edges").fetchall()
    raw.execute("DROP TABLE edges")
    for statement in schema.MIGRATIONS[0]:
        if "edges" in statement:  # the table and its two indexes
            raw.execute(statement)
    raw.executemany(
        "INSERT INTO edges (source, type, target, data) VALUES (?, ?, ?, ?)",
        [(s, k, t, edge_to_json(edge_from_row(s, t, k, us, d))) for s, t, k, us, d in rows],
    )
    if odd:
        raw.execute(
            "UPDATE edges SET data = replace(data, 'Z\"}', '+00:00\"}')"
            " WHERE source = 'a' AND type = 'CONFLICTS_WITH'"
        )
    for statement in schema._EDGE_TRIGGERS:
        raw.execute(statement)
    raw.execute("PRAGMA user_version = 3")
