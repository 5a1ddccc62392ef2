"""The SQLite backend under attack: an interrupt right after any statement, fork(), and a
hand-edited file whose subgoal edges form a cycle."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

import intentgraph as ig
from intentgraph.backends.sqlite import SqliteStore


def url(path: Path) -> str:
    return f"sqlite:///{path}"


class InterruptAfter:
    """Wraps a connection: the first statement starting with ``prefix`` runs, then raises."""

    def __init__(self, conn: sqlite3.Connection, prefix: str) -> None:
        self._conn = conn
        self._prefix = prefix
        self.fired = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        if not self.fired and sql.lstrip().startswith(self._prefix):
            self.fired = True
            raise KeyboardInterrupt(f"after {sql[:30]}")
        return cursor

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        cursor = self._conn.executemany(sql, rows)
        if not self.fired and sql.lstrip().startswith(self._prefix):
            self.fired = True
            raise KeyboardInterrupt(f"after {sql[:30]}")
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def nested_write(store: SqliteStore) -> None:
    with store.transaction():
        store.put(ig.Intent(id="x", name="x"))
        store.add_edge("x", "a", ig.EdgeType.DEPENDS_ON)


@pytest.mark.parametrize(
    "prefix", ["BEGIN IMMEDIATE", "SAVEPOINT", "INSERT", "UPDATE", "RELEASE", "COMMIT"]
)
def test_an_interrupt_right_after_any_statement_leaves_no_transaction_open(
    tmp_path: Path, prefix: str
) -> None:
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    store.put(ig.Intent(id="a", name="a"))
    flaky = InterruptAfter(store._conn, prefix)
    store._conn = flaky  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        nested_write(store)
    assert flaky.fired
    store._conn = flaky._conn
    assert not store._conn.in_transaction
    committed = store.exists("x")  # before or after, never half
    if committed:
        assert [d.id for d in store.dependencies("x")] == ["a"]
    else:
        assert store.edges() == []
    with SqliteStore(path, busy_timeout_ms=100) as other:  # no write lock is held
        other.put(ig.Intent(id="other", name="from another connection"))
    store.put(ig.Intent(id="next", name="the next write works"))
    store.close()
    with SqliteStore(path) as reopened:
        assert reopened.exists("x") == committed
        assert reopened.exists("next")


def test_a_forked_child_cannot_use_the_parents_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SqliteStore(path)
    store.put(ig.Intent(id="a", name="a"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            outcomes = []
            for call in (lambda: store.get("a"), lambda: store.put(ig.Intent(id="c", name="c"))):
                try:
                    call()
                    outcomes.append("worked")
                except ig.errors.StoreForked:
                    outcomes.append("refused")
            store.close()  # leaves the parent's connection alone
            with SqliteStore(path) as own:
                own.put(ig.Intent(id="from-child", name="through its own connection"))
            os.write(write, ",".join(outcomes).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100).decode() == "refused,refused"
    store.put(ig.Intent(id="b", name="the parent goes on"))
    assert sorted(i.id for i in store.list()) == ["a", "b", "from-child"]
    store.close()


def test_a_hand_edited_subgoal_cycle_gives_typed_errors_and_every_query_ends(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    with SqliteStore(path) as store:
        store.put_many(ig.Intent(id=i, name=i) for i in "abc")
        store.add_edge("a", "b", ig.EdgeType.IS_SUBGOAL_OF)
        store.add_edge("c", "a", ig.EdgeType.IS_SUBGOAL_OF)
    raw = sqlite3.connect(path)
    raw.execute(  # b -> a closes the cycle a -> b -> a
        "INSERT INTO edges (source, type, target, data) VALUES ('b', 'IS_SUBGOAL_OF', 'a', "
        "'{\"source\":\"b\",\"target\":\"a\",\"type\":\"IS_SUBGOAL_OF\",\"weight\":null,"
        "\"metadata\":{},\"created_at\":\"2024-01-01T00:00:00Z\"}')"
    )
    raw.commit()
    raw.close()
    started = time.monotonic()
    with SqliteStore(path) as store:
        with pytest.raises(ig.errors.StoreCorrupted, match="cycle"):
            store.ancestors("c")
        with pytest.raises(ig.errors.StoreCorrupted, match="cycle"):
            store.subtree("a")
        with pytest.raises((ig.errors.StoreCorrupted, ig.errors.CycleError)):
            store.plan("a")
        store.ready()
        store.blocked()
        store.set_status("a", ig.IntentStatus.SUSPENDED)
        with pytest.raises(ig.errors.StoreCorrupted):
            store.context("c")
    assert time.monotonic() - started < 10
