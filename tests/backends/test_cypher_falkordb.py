"""What only the FalkorDB side of the Cypher store has: its transactions made of a writer lock
and an undo log, what a reader sees meanwhile, and the server's quirks the store works around."""

from __future__ import annotations

import pytest

import intentgraph as ig
from intentgraph.errors import StorageError, StoreCorrupted
from tests.graph_servers import FalkorDBServer

E, S = ig.EdgeType, ig.IntentStatus


def graph_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def query(server: FalkorDBServer, url: str, cypher: str) -> list[list[object]]:
    return list(server.client().select_graph(graph_of(url)).query(cypher).result_set)


def kill_connection(store: ig.IntentStorage) -> None:
    """Close the store's server connection from outside, as the kernel does for a SIGKILLed
    process: its client id disappears from CLIENT LIST."""
    executor = store._x  # type: ignore[attr-defined]
    client_id = executor._client_id()
    import redis

    other = redis.Redis(host="127.0.0.1", port=executor._redis.connection.port)
    other.execute_command("CLIENT", "KILL", "ID", client_id)
    other.close()


def test_the_schema_is_a_unique_constraint_and_indexes_and_a_version_node(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    with ig.open_store(falkordb_url) as store:
        store.put(ig.Intent(id="a", name="a"))
    rows = query(
        falkordb_server,
        falkordb_url,
        "CALL db.constraints() YIELD type, label, properties, status "
        "RETURN type, label, properties, status",
    )
    assert ["UNIQUE", "Intent", ["id"], "OPERATIONAL"] in rows
    indexed = query(
        falkordb_server,
        falkordb_url,
        "CALL db.indexes() YIELD label, properties RETURN label, properties",
    )
    props = {p for label, ps in indexed if label == "Intent" for p in ps}  # type: ignore[attr-defined]
    assert {"id", "status", "rp", "unmet", "held"} <= props
    meta = query(falkordb_server, falkordb_url, "MATCH (m:IntentGraphMeta) RETURN m.key, m.version")
    assert meta == [["schema", 1]]


def test_opening_twice_creates_nothing_twice(falkordb_url: str, falkordb_server: FalkorDBServer):
    for _ in range(2):
        ig.open_store(falkordb_url).close()
    assert query(falkordb_server, falkordb_url, "MATCH (m:IntentGraphMeta) RETURN count(m)") == [
        [1]
    ]


def test_a_graph_with_a_newer_schema_is_refused(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    ig.open_store(falkordb_url).close()
    query(falkordb_server, falkordb_url, "MATCH (m:IntentGraphMeta) SET m.version = 99")
    with pytest.raises(StoreCorrupted, match="schema 99"):
        ig.open_store(falkordb_url)


def test_a_nul_character_is_kept_in_data_and_shown_as_a_replacement_character(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    with ig.open_store(falkordb_url) as store:
        store.put(ig.Intent(id="n", name="a\x00b", goal="\x00", metadata={"k": "\x00"}))
        assert store.get("n").name == "a\x00b"
        assert [i.id for i in store.list(text="a\x00b")] == ["n"]
    shown = query(falkordb_server, falkordb_url, "MATCH (i:Intent) RETURN i.name, i.goal")
    assert shown == [["a\ufffdb", "\ufffd"]]


def test_floats_come_back_with_all_their_digits_though_the_server_prints_fifteen(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    third = 1 / 3
    with ig.open_store(falkordb_url) as store:
        store.put_many([ig.Intent(id="a", name="a"), ig.Intent(id="b", name="b")])
        store.add_edge("a", "b", E.RELATED_TO, weight=third, metadata={"w": 5e-324})
        edge = store.edges("a")[0]
        assert (edge.weight, edge.metadata) == (third, {"w": 5e-324})
    printed = query(falkordb_server, falkordb_url, "MATCH ()-[r]->() RETURN r.weight")[0][0]
    assert printed != third  # what FalkorDB returns for the property itself
    assert abs(float(printed) - third) < 1e-14  # type: ignore[arg-type]


def test_a_reader_sees_an_open_transactions_writes_read_uncommitted(falkordb_url: str) -> None:
    writer, reader = ig.open_store(falkordb_url), ig.open_store(falkordb_url)
    try:
        with pytest.raises(KeyError), writer.transaction():
            writer.put(ig.Intent(id="draft", name="not committed"))
            assert reader.exists("draft")  # documented: no isolation for lock-free readers
            raise KeyError("roll back")
        assert not reader.exists("draft")
        assert "uncommitted" in reader.health().details["isolation"]
    finally:
        writer.close()
        reader.close()


def test_a_second_writer_waits_for_the_first_and_gives_up_after_lock_timeout(
    falkordb_url: str,
) -> None:
    first = ig.open_store(falkordb_url)
    second = ig.open_store(falkordb_url + "?lock_timeout=0.3")
    try:
        with first.transaction():
            first.put(ig.Intent(id="a", name="a"))
            with pytest.raises(StorageError, match="locked by another intentgraph writer"):
                second.put(ig.Intent(id="b", name="b"))
        second.put(ig.Intent(id="b", name="b"))  # free again after the commit
        assert [i.id for i in second.list(order_by="id")] == ["a", "b"]
    finally:
        first.close()
        second.close()


def test_a_dead_writers_transaction_is_rolled_back_by_the_next_writer(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    setup = ig.open_store(falkordb_url)
    setup.put_many([ig.Intent(id="a", name="a"), ig.Intent(id="b", name="b")])
    setup.add_edge("b", "a", E.DEPENDS_ON)
    before = [i.id for i in setup.ready()]
    setup.close()
    dying = ig.open_store(falkordb_url)
    txn = dying.transaction()
    txn.__enter__()
    dying.put(ig.Intent(id="c", name="half a transaction"))
    dying.set_status("a", S.COMPLETED)
    dying.delete("b")
    kill_connection(dying)  # its lock now names a connection that is gone
    undo = query(falkordb_server, falkordb_url, "MATCH (u:IntentGraphUndo) RETURN count(u)")
    assert undo[0][0] > 0
    with ig.open_store(falkordb_url) as survivor:
        # Opening found the dead writer's lock, took it over and rolled its changes back.
        assert [i.id for i in survivor.list(order_by="id")] == ["a", "b"]
        assert survivor.get("a").status is S.ACTIVE
        assert [d.id for d in survivor.dependencies("b")] == ["a"]
        assert [i.id for i in survivor.ready()] == before
        survivor.put(ig.Intent(id="d", name="the lock is free"))
    assert query(falkordb_server, falkordb_url, "MATCH (u:IntentGraphUndo) RETURN count(u)") == [
        [0]
    ]
    with pytest.raises(StorageError):  # the dead writer's own transaction is lost
        dying.put(ig.Intent(id="e", name="e"))
    with pytest.raises(StorageError):
        txn.__exit__(None, None, None)
    dying.close()


def test_skip_and_limit_beyond_32_bits_are_never_sent(falkordb_url: str) -> None:
    with ig.open_store(falkordb_url) as store:
        store.put_many([ig.Intent(id=f"i{n}", name="x") for n in range(3)])
        assert len(store.list(limit=2**40)) == 3
        assert store.list(offset=2**32) == []
        assert len(store.ready(limit=2**40)) == 3


@pytest.mark.parametrize(
    "extra",
    [
        "MATCH (a:Intent {id: 'a'}), (b:Intent {id: 'b'}) CREATE (a)-[:IS_SUBGOAL_OF]->(b)",
        "MATCH (r:Intent {id: 'r'}), (b:Intent {id: 'b'}) CREATE (b)-[:IS_SUBGOAL_OF]->(r)",
    ],
    ids=["cycle", "second parent"],
)
def test_subtree_over_subgoal_edges_written_by_hand_that_are_no_tree_raises_store_corrupted(
    falkordb_url: str, falkordb_server: FalkorDBServer, extra: str
) -> None:
    with ig.open_store(falkordb_url) as store:
        store.put_many([ig.Intent(id=i, name=i) for i in ("r", "a", "b")])
        store.add_edges(
            [
                ig.Edge(source="a", target="r", type=E.IS_SUBGOAL_OF),
                ig.Edge(source="b", target="a", type=E.IS_SUBGOAL_OF),
            ]
        )
        assert [(n.intent.id, n.depth, n.parent_id) for n in store.subtree("r")] == [
            ("r", 0, None),
            ("a", 1, "r"),
            ("b", 2, "a"),
        ]
        query(falkordb_server, falkordb_url, extra)
        with pytest.raises(StoreCorrupted, match="below 'r'"):
            store.subtree("r")


def test_the_rows_of_a_create_query_are_written_as_the_clients_encoder_writes_them() -> None:
    from falkordb.helpers import stringify_param_value  # type: ignore[import-untyped]

    from intentgraph.backends._cypher_falkordb import _typed_rows_text
    from intentgraph.backends._cypher_rows import typed_row

    ids = ['a"b', "c\\d", 'e\\"f', "\\", '"', "ü€😀", "'`"]
    texts = ["x\u0000y", "new\nline", "\\u0000", *ids]
    edges = [
        ig.Edge(source=s, target=t, type=kind, weight=w, metadata=m)
        for s, t, x in zip(ids, ids[1:] + ids[:1], texts, strict=False)
        for kind in (E.IS_SUBGOAL_OF, E.DEPENDS_ON)
        for w, m in ((None, {}), (0.1, {x: t}), (-1e-300, {"k": [x, 2.5, None, {"n": s}]}))
    ]
    seqs = list(range(2**40, 2**40 + len(edges)))
    rows = [typed_row(e, s) for e, s in zip(edges, seqs, strict=True)]
    assert _typed_rows_text(edges, seqs) == stringify_param_value(rows)
    assert _typed_rows_text([], []) == stringify_param_value([])
