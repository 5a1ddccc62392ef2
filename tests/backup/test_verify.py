"""verify() and migrate(): what each backend's damage looks like in the report, and that
repair rebuilds derived state only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase
from intentgraph.backends._sqlite_schema import SCHEMA_VERSION
from intentgraph.backends.jsonfile import FORMAT_VERSION
from intentgraph.verify import migrate, verify, verify_url
from tests.conftest import url_for

E = ig.EdgeType


def fill(store: StoreBase) -> None:
    store.put_many([ig.Intent(id=n, name=n) for n in ("a", "b", "c", "d")])
    store.add_edge("b", "a", E.IS_SUBGOAL_OF)
    store.add_edge("c", "b", E.DEPENDS_ON)
    store.set_status("a", ig.IntentStatus.SUSPENDED)


def test_a_clean_store_verifies_ok_with_its_counts_and_schema(store: StoreBase) -> None:
    fill(store)
    report = verify(store)
    assert report.ok and report.problems == []
    assert (report.intents, report.edges) == (4, 2)
    if store.backend == "sqlite":
        assert report.schema_version == report.schema_current == SCHEMA_VERSION
    if store.backend == "json":
        assert report.schema_current == 2


def damage_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    rows = [
        ("d", "DEPENDS_ON", "c"),  # c -> b... and d -> c -> d below: a dependency cycle
        ("c", "DEPENDS_ON", "d"),
        ("d", "IS_SUBGOAL_OF", "ghost"),  # dangling
        ("c", "IS_SUBGOAL_OF", "a"),
        ("c", "IS_SUBGOAL_OF", "d"),  # two parents
    ]
    for source, etype, target in rows:
        data = ig.Edge(source=source, target=target, type=etype).model_dump_json()
        conn.execute(
            "INSERT INTO edges (source, type, target, data) VALUES (?, ?, ?, ?)",
            (source, etype, target, data),
        )
    conn.execute("UPDATE intents SET held = 0 WHERE id = 'b'")  # b is held by a: drift
    conn.execute("UPDATE intents SET data = json_set(data, '$.status', 'bogus') WHERE id = 'd'")
    conn.commit()
    conn.close()


def test_verify_reports_each_kind_of_damage_in_sqlite_and_repair_fixes_derived_state(
    tmp_path: Path,
) -> None:
    url = url_for("sqlite", tmp_path)
    with ig.open_store(url) as store:
        fill(store)
    damage_sqlite(tmp_path / "store.db")
    report = verify_url(url)
    kinds = {p.kind for p in report.problems}
    assert {
        "dependency_cycle",
        "dangling_edge",
        "multiple_parents",
        "derived_state",
        "invalid_status",
    } <= kinds
    assert not report.ok
    cycle = next(p for p in report.problems if p.kind == "dependency_cycle")
    assert cycle.ids == ["c", "d"]
    repaired = verify_url(url, repair=True)
    assert repaired.repaired and repaired.repaired >= 1
    assert "derived_state" not in {p.kind for p in repaired.problems}
    assert [p.kind for p in repaired.repaired_problems] == ["derived_state"]
    # never user data: the damaged records are still there
    assert {p.kind for p in repaired.problems} == kinds - {"derived_state"}


def test_a_json_store_too_damaged_to_open_is_reported_not_raised(tmp_path: Path) -> None:
    url = url_for("json", tmp_path)
    with ig.open_store(url) as store:
        fill(store)
    path = tmp_path / "store.json"
    path.write_text(path.read_text().replace('"target":"a"', '"target":"ghost"'))
    report = verify_url(url)
    assert not report.ok
    assert report.problems[0].kind == "storage"
    assert "ghost" in report.problems[0].message


def test_a_damaged_journal_line_is_reported(tmp_path: Path) -> None:
    url = url_for("json", tmp_path)
    store = ig.open_store(url)
    fill(store)
    journal = tmp_path / "store.json.journal"
    data = bytearray(journal.read_bytes())
    data[20] ^= 0x01
    journal.write_bytes(bytes(data))
    problems = store.check_integrity()
    assert [p.kind for p in problems] == ["journal"]
    journal.write_bytes(b"")  # let close() fold cleanly
    store.close()


def test_migrate_is_a_no_op_on_a_current_store(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    ig.open_store(url).close()
    report = migrate(url)
    current = SCHEMA_VERSION
    assert (report.from_version, report.to_version, report.migrated) == (current, current, False)


@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_migrate_brings_an_old_store_to_the_current_version(kind: str, tmp_path: Path) -> None:
    url = url_for(kind, tmp_path)
    if kind == "sqlite":
        from intentgraph.backends._sqlite_schema import MIGRATIONS

        conn = sqlite3.connect(tmp_path / "store.db")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()
    else:
        (tmp_path / "store.json").write_text(
            '{"format": "intentgraph-json", "version": 1, "seq": 0, "intents": [], "edges": []}'
        )
    report = migrate(url)
    current = SCHEMA_VERSION if kind == "sqlite" else FORMAT_VERSION
    assert (report.from_version, report.to_version, report.migrated) == (1, current, True)
    assert migrate(url).migrated is False


def test_sqlite_counts_kept_by_triggers_are_checked_and_recounted_by_repair(
    tmp_path: Path,
) -> None:
    url = url_for("sqlite", tmp_path)
    with ig.open_store(url) as store:
        fill(store)
        before = store.stats()
    conn = sqlite3.connect(tmp_path / "store.db")
    conn.execute("UPDATE counters SET n = n + 5 WHERE name = 'status:active'")
    conn.execute("UPDATE counters SET n = n - 1 WHERE name = 'touched'")
    conn.commit()
    conn.close()
    report = verify_url(url)
    messages = [p.message for p in report.problems if p.kind == "derived_state"]
    assert any("status:active" in m for m in messages)
    assert any("touched" in m for m in messages)
    repaired = verify_url(url, repair=True)
    assert repaired.ok and repaired.repaired
    with ig.open_store(url) as store:
        assert store.stats() == before


@pytest.mark.parametrize("kind", ["memory", "json"])
def test_the_maintained_ready_state_of_memory_and_json_is_checked_and_rebuilt(
    kind: str, tmp_path: Path
) -> None:
    store = ig.open_store(url_for(kind, tmp_path))
    try:
        fill(store)
        assert [i.id for i in store.ready()] == ["d"]
        # Drift as a bug would leave it: c counted ready although it waits for b.
        store._unmet.pop("c")  # type: ignore[attr-defined]
        store._sync("c")  # type: ignore[attr-defined]
        assert [i.id for i in store.ready()] == ["c", "d"]
        problems = store.check_integrity()
        assert {p.kind for p in problems} == {"derived_state"}
        assert any("c" in p.ids for p in problems)
        assert store.rebuild_derived_state() >= 1
        assert store.check_integrity() == []
        assert [i.id for i in store.ready()] == ["d"]
    finally:
        store.close()
