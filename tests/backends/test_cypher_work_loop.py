"""What the Cypher store builds for the work loop and the whole-store operations on the
servers themselves: claims across connections, the server's clock, the change feed kept in
the graph, snapshots that never show a transaction's uncommitted writes, and FalkorDB's bulk
loads through a staging graph."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph.backends import cypher
from tests.conftest import SERVER_BACKENDS, url_for
from tests.graph_servers import FalkorDBServer

E, S = ig.EdgeType, ig.IntentStatus


@pytest.fixture(params=SERVER_BACKENDS)
def graph_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return url_for(str(request.param), tmp_path)


def with_option(url: str, option: str) -> str:
    return url + ("&" if "?" in url else "?") + option


@pytest.fixture
def graph(graph_url: str) -> Iterator[ig.IntentStorage]:
    with ig.open_store(graph_url) as store:
        yield store


def test_workers_on_their_own_connections_never_claim_one_intent_twice(graph_url: str) -> None:
    with ig.open_store(graph_url) as setup:
        setup.put_many(ig.Intent(id=f"job{n:02}", name=f"job {n}") for n in range(24))
    claimed: list[str] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            # ArcadeDB lets writers overlap and fails the later commit: retried for longer.
            with ig.open_store(with_option(graph_url, "retry_timeout=60")) as store:
                while (job := store.claim_next(worker=name, lease=60)) is not None:
                    claimed.append(job.id)
                    store.release(job.id, name, token=job.lease.token)  # type: ignore[union-attr]
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f"w{k}",)) for k in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    assert not errors, errors
    assert sorted(claimed) == [f"job{n:02}" for n in range(24)]  # each exactly once
    with ig.open_store(graph_url) as store:
        assert store.count(status=S.COMPLETED) == 24
        assert all(i.attempts == 1 for i in store.list())


def test_the_clock_is_the_servers_and_a_write_transaction_has_one_time(
    graph: ig.IntentStorage,
) -> None:
    before = graph.now()  # type: ignore[attr-defined]
    assert before.microsecond % 1000 == 0  # the server counts milliseconds
    with graph.transaction():
        # Stamped before the transaction's time: a put keeps the caller's timestamps, and
        # one taken from this machine's clock can fall later within the server's
        # millisecond, which the claim would then keep (updated_at never goes back).
        graph.put(ig.Intent(id="a", name="a", created_at=before, updated_at=before))
        first = graph.claim("a", worker="w", lease=10)
        time.sleep(0.01)
        again = graph.heartbeat("a", "w")
    assert first.lease is not None and again.lease is not None
    assert first.lease.claimed_at == first.updated_at
    assert again.lease.expires_at == first.lease.expires_at  # read once, at the lock
    assert graph.now() >= first.updated_at >= before  # type: ignore[attr-defined]
    assert graph.health().details["clock"].startswith("the server's")


def test_the_change_feed_keeps_the_last_changes_only(
    graph: ig.IntentStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cypher, "CHANGE_HISTORY", 5)
    monkeypatch.setattr(cypher, "TRIM_EVERY", 2)
    for n in range(12):
        graph.put(ig.Intent(id=f"i{n:02}", name="x"))
    latest = graph.changes(limit=0).latest
    assert latest == 12
    assert not graph.changes(0).complete  # the first ones were dropped
    kept = graph.changes(latest - 5)
    assert kept.complete and [c.intent_id for c in kept.changes] == [
        f"i{n:02}" for n in range(7, 12)
    ]


def test_a_rolled_back_write_leaves_no_change_and_its_numbers_are_used_again(
    graph: ig.IntentStorage,
) -> None:
    graph.put(ig.Intent(id="a", name="a"))
    with pytest.raises(KeyError), graph.transaction():
        graph.put(ig.Intent(id="b", name="b"))
        with graph.transaction():
            graph.add_edge("b", "a", E.DEPENDS_ON)
        raise KeyError("roll back")
    assert graph.changes(0).latest == 1
    graph.put(ig.Intent(id="c", name="c"))
    assert [(c.seq, c.intent_id) for c in graph.changes(0).changes] == [(1, "a"), (2, "c")]


def test_a_snapshot_never_shows_a_transactions_uncommitted_writes(graph_url: str) -> None:
    writer, reader = ig.open_store(graph_url), ig.open_store(graph_url)
    started, done = threading.Event(), threading.Event()

    def write_then_roll_back() -> None:
        with pytest.raises(KeyError), writer.transaction():
            writer.put(ig.Intent(id="draft", name="never committed"))
            started.set()
            time.sleep(0.5)
            raise KeyError("roll back")
        done.set()

    try:
        reader.put(ig.Intent(id="kept", name="committed"))
        thread = threading.Thread(target=write_then_roll_back)
        thread.start()
        started.wait(10)
        with reader.snapshot() as view:
            ids = [i.id for batch in view.intents() for i in batch]
        thread.join(10)
        assert done.is_set()
        assert ids == ["kept"]
    finally:
        writer.close()
        reader.close()


def test_an_interrupted_falkordb_bulk_load_leaves_the_graph_and_no_staging_graph(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    graph_name = falkordb_url.rsplit("/", 1)[1]
    client = falkordb_server.client().connection

    def intents() -> Iterator[ig.Intent]:
        yield ig.Intent(id="x", name="x", version=1)
        assert client.exists(f"{graph_name}::staging")  # built beside the live graph
        raise KeyboardInterrupt

    with ig.open_store(falkordb_url) as store:
        store.put(ig.Intent(id="a", name="a"))
        with pytest.raises(KeyboardInterrupt):
            store.bulk_load(intents(), [], replace=True)
        assert [i.id for i in store.list()] == ["a"]
        assert not client.exists(f"{graph_name}::staging")
        store.bulk_load([ig.Intent(id="b", name="b", version=4)], [], replace=True)
        assert [(i.id, i.version) for i in store.list()] == [("b", 4)]
        store.put(ig.Intent(id="c", name="c"))  # the renamed graph has the schema
        with pytest.raises(ig.errors.IntentExists):
            store.put(ig.Intent(id="c", name="c"))
        assert store.check_integrity() == []


def test_a_read_only_store_reads_a_snapshot_but_cannot_bulk_load(graph_url: str) -> None:
    with ig.open_store(graph_url) as writer:
        writer.put(ig.Intent(id="a", name="a"))
    with ig.open_store(with_option(graph_url, "read_only=1")) as reader:
        with reader.snapshot() as view:
            assert view.intent_count == 1
        with pytest.raises(ig.errors.ReadOnlyStore):
            reader.bulk_load([], [])



def test_the_question_after_a_failed_write_is_asked_under_the_lock_about_that_write(
    graph: ig.IntentStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails with an answer (here: a lease not held) asks whether another
    writer overlapped it, after its transaction let the lock go. Threads share the store's
    driver session: asked without the lock, that question ran on it beside another
    thread's transaction (a hang, or that transaction cut as if interrupted)."""
    executor = graph._x  # type: ignore[attr-defined]
    lock = graph._lock  # type: ignore[attr-defined]
    asked: list[tuple[bool, int]] = []
    begun: list[int | None] = []
    real_overlapped, real_begin = executor.overlapped, executor.begin

    def overlapped(began_at: int) -> bool:
        asked.append((lock._is_owned(), began_at))
        return bool(real_overlapped(began_at))

    def begin() -> None:
        real_begin()
        begun.append(executor.began_at)

    monkeypatch.setattr(executor, "overlapped", overlapped)
    monkeypatch.setattr(executor, "begin", begin)
    graph.put(ig.Intent(id="a", name="a"))
    graph.put(ig.Intent(id="b", name="b"))  # a later write: its own count
    begun.clear()
    with pytest.raises(ig.errors.LeaseLost):
        graph.release("a", "w1", token=1)
    if executor.began_at is None:  # FalkorDB: writers never overlap, nothing to ask
        assert asked == []
        return
    assert asked, "the failed write never asked"
    assert all(owned for owned, _ in asked)
    assert [began for _, began in asked] == begun[: len(asked)]
