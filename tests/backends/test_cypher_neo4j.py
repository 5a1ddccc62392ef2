"""What only the Bolt side of the Cypher store has (the neo4j driver, tested on ArcadeDB's Bolt
server, and on a real Neo4j when one is given): its schema, credentials, and where ArcadeDB
deviates from Neo4j (each deviation marked)."""

from __future__ import annotations

import threading
import urllib.parse

import pytest

import intentgraph as ig
from intentgraph.errors import StorageError, StoreCorrupted
from tests.graph_servers import BoltServer

E, S = ig.EdgeType, ig.IntentStatus


def database_of(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["database"][0]


def run(server: BoltServer, url: str, cypher: str) -> list[list[object]]:
    with server.driver() as driver, driver.session(database=database_of(url)) as session:
        return [list(r.values()) for r in session.run(cypher)]


def test_the_schema_is_a_unique_constraint_and_indexes_and_a_version_node(
    bolt_url: str, bolt_server: BoltServer
) -> None:
    ig.open_store(bolt_url).close()
    constraints = run(bolt_server, bolt_url, "SHOW CONSTRAINTS YIELD name RETURN name")
    assert ["intentgraph_intent_id"] in constraints
    meta = run(bolt_server, bolt_url, "MATCH (m:IntentGraphMeta) RETURN m.key, m.version")
    assert meta == [["schema", 1]]


def test_a_graph_with_a_newer_schema_is_refused(bolt_url: str, bolt_server: BoltServer) -> None:
    ig.open_store(bolt_url).close()
    run(bolt_server, bolt_url, "MATCH (m:IntentGraphMeta) SET m.version = 99")
    with pytest.raises(StoreCorrupted, match="schema 99"):
        ig.open_store(bolt_url)


def test_a_wrong_password_is_a_storage_error_that_shows_no_secret(
    bolt_server: BoltServer,
) -> None:
    secret = "Wr0ng-s3cret-Pa55"
    # A user that does not exist: ArcadeDB (as Neo4j) locks a user out after a few failed
    # logins, and the session's other tests log in as root.
    url = f"bolt://nobody:{secret}@127.0.0.1:{bolt_server.port}?database=intentgraph"
    with pytest.raises(StorageError, match="refused the credentials") as info:
        ig.open_store(url + "&retry_timeout=0")
    assert not isinstance(info.value, ig.errors.StoreUnavailable)  # never a fallback
    for text in (str(info.value), repr(info.value)):
        assert secret not in text
    with pytest.raises(StorageError):
        ig.open_store(url + "&retry_timeout=0", fallback=True)


def test_writers_take_turns_so_no_update_is_lost(bolt_url: str) -> None:
    # Neo4j makes the second writer wait for the lock node. Deviation: ArcadeDB fails the
    # later commit instead ("concurrent change", a transient error). A store's own write is
    # then retried; a caller's transaction cannot be re-run, so it raises StorageError and
    # lands nothing. Either way, every increment that returned is there: none was lost.
    stores = [ig.open_store(bolt_url + "&retry_timeout=30") for _ in range(3)]
    stores[0].put(ig.Intent(id="counter", name="counter", metadata={"n": 0}))
    landed: list[int] = []

    def bump(store: ig.IntentStorage) -> None:
        for _ in range(5):
            try:
                with store.transaction():
                    current = store.get("counter")
                    n = current.metadata["n"]
                    assert isinstance(n, int)
                    store.update(current.model_copy(update={"metadata": {"n": n + 1}}))
                landed.append(1)
            except StorageError:
                pass

    threads = [threading.Thread(target=bump, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[0].get("counter").metadata["n"] == len(landed) > 0
    for store in stores:
        store.close()


def test_limits_beyond_32_bits_are_never_sent(bolt_url: str) -> None:
    # Deviation: ArcadeDB keeps SKIP/LIMIT in 32 bits (Neo4j takes 64); the store pages
    # within 2^31 - 1 on every server, and leaves LIMIT out when there is none.
    with ig.open_store(bolt_url) as store:
        store.put_many([ig.Intent(id=f"i{n}", name="x") for n in range(3)])
        assert len(store.list(limit=2**40)) == 3
        assert store.list(offset=2**32) == []
        assert len(store.ready()) == 3


def test_a_real_neo4j_answers_like_memory(neo4j_url: str) -> None:
    """On a real Neo4j (INTENTGRAPH_NEO4J_URL, or Docker): a short tour, then cleaned up."""
    with ig.open_store(neo4j_url) as store, ig.open_store("memory://") as ref:
        for s in (store, ref):
            s.put_many([ig.Intent(id=f"neo{n}", name=f"n{n}", priority=n) for n in range(4)])
            s.add_edge("neo1", "neo0", E.DEPENDS_ON)
            s.add_edge("neo2", "neo0", E.IS_SUBGOAL_OF)
            s.set_status("neo0", S.SUSPENDED)
        try:
            for call in (
                lambda s: [i.id for i in s.ready()],
                lambda s: [(b.intent.id, len(b.blocked_by), len(b.held_by)) for b in s.blocked()],
                lambda s: [n.intent.id for n in s.subtree("neo0")],
            ):
                assert call(store) == call(ref)
        finally:
            for n in range(4):
                store.delete(f"neo{n}")


def test_a_schema_node_deleted_under_an_open_store_is_a_typed_error_and_writes_nothing(
    bolt_url: str, bolt_server: BoltServer
) -> None:
    # Every write begins on the schema node (lock.cypher). A database emptied under an open
    # store answers it with no row: after the store's retries, a StorageError that says so,
    # never an IndexError, and nothing written.
    with ig.open_store(bolt_url + "&retry_timeout=0.3") as store:
        store.put(ig.Intent(id="a", name="a"))
        run(bolt_server, bolt_url, "MATCH (m:IntentGraphMeta) DELETE m")
        with pytest.raises(StorageError, match="schema node"):
            store.put(ig.Intent(id="b", name="b"))
        with pytest.raises(StorageError, match="schema node"):
            store.changes(since=0)
        assert [i.id for i in store.list()] == ["a"]
    with ig.open_store(bolt_url) as again:  # opening sets the schema node up again
        again.put(ig.Intent(id="b", name="b"))
        assert again.count() == 2
