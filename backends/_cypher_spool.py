"""A snapshot of a graph server's store, spooled to a temporary file.

A graph server gives no read that stays one moment while a client pages through a whole
graph at its own pace (Neo4j reads committed data; FalkorDB has no multi-query
transaction). So the snapshot reads the graph quickly, checks the read saw no write (see
``_cypher_whole``), and keeps it in a temporary SQLite file, which hands the records out in
key order, batch by batch, in constant memory. SQLite compares text by its UTF-8 bytes, which
is the order of Python's ``str``.
"""

from __future__ import annotations

import builtins
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator

from intentgraph._codec import edge_from_json, intent_from_json
from intentgraph.errors import StoreClosed
from intentgraph.models import Edge, Intent

__all__ = ["Spool"]

_SCHEMA = (
    "CREATE TABLE intents (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE edges (source TEXT, target TEXT, type TEXT, data TEXT NOT NULL,"
    " PRIMARY KEY (source, target, type)) WITHOUT ROWID",
)


class Spool:
    """The records of one consistent read, handed out as a ``Snapshot``."""

    def __init__(self, batch_size: int) -> None:
        self._batch = max(int(batch_size), 1)
        self._dir: str | None = tempfile.mkdtemp(prefix="intentgraph-snapshot-")
        self._db: sqlite3.Connection | None = sqlite3.connect(
            os.path.join(self._dir, "spool.db"), isolation_level=None, check_same_thread=False
        )
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -8000"):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self.changes = 0
        """The change-feed position the records reflect (set by the reader)."""

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreClosed("the snapshot was used after its with block")
        return self._db

    def add_intents(self, rows: builtins.list[tuple[str, str]]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO intents VALUES (?, ?)", rows)

    def add_edges(self, rows: builtins.list[tuple[str, str, str, str]]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO edges VALUES (?, ?, ?, ?)", rows)

    def clear(self) -> None:
        """Forget what was read (a read that saw a write is made again)."""
        self._conn.execute("DELETE FROM intents")
        self._conn.execute("DELETE FROM edges")

    @property
    def intent_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM intents").fetchone()[0])

    @property
    def edge_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM edges").fetchone()[0])

    def _texts(self, sql: str) -> Iterator[builtins.list[str]]:
        cursor = self._conn.execute(sql)
        while True:
            rows = self._conn and cursor.fetchmany(self._batch)  # StoreClosed once closed
            if not rows:
                return
            yield [r[0] for r in rows]

    def intent_json(self) -> Iterator[builtins.list[str]]:
        yield from self._texts("SELECT data FROM intents ORDER BY id")

    def edge_json(self) -> Iterator[builtins.list[str]]:
        yield from self._texts("SELECT data FROM edges ORDER BY source, target, type")

    def intents(self) -> Iterator[builtins.list[Intent]]:
        for batch in self.intent_json():
            yield [intent_from_json(t) for t in batch]

    def edges(self) -> Iterator[builtins.list[Edge]]:
        for batch in self.edge_json():
            yield [edge_from_json(t) for t in batch]

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()
        folder, self._dir = self._dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
