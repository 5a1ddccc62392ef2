"""Turn a file this intentgraph wrote back into one an older intentgraph wrote, as the
migration tests start from."""

from __future__ import annotations

import sqlite3

from intentgraph._codec import edge_to_json
from intentgraph.backends import _sqlite_schema as schema
from intentgraph.backends._sqlite_query import EDGE_COLUMNS, edge_from_row


def downgrade_to_3(raw: sqlite3.Connection, *, odd: bool = False) -> None:
    """Put the edge table back as schema 3 wrote it: each edge's record in ``data``, and
    ix_edges_type. ``odd``: one record's created_at spelled "+00:00" (a restored text)."""
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
