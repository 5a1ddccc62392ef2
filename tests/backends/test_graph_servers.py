"""The graph-server fixtures work: each server answers, each test gets an empty graph of its
own, and a stopped (or orphaned) server leaves no process behind."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import graph_servers
from tests.graph_servers import BoltServer, FalkorDBServer, GraphServerError, pids_alive

ROOT = Path(__file__).resolve().parents[2]


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((graph_servers.HOST, port)) != 0


def gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while pids_alive(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not pids_alive(pids)


# --- FalkorDB --------------------------------------------------------------------------


def test_falkordb_server_answers_a_graph_query(falkordb_server: FalkorDBServer) -> None:
    graph = falkordb_server.client().select_graph(falkordb_server.fresh_graph())
    assert graph.query("RETURN 1 + 1").result_set == [[2]]
    assert falkordb_server.version.count(".") == 2
    graph.delete()


def test_falkordb_url_names_the_local_server_and_a_graph_of_its_own(
    falkordb_url: str, falkordb_server: FalkorDBServer
) -> None:
    prefix = f"falkordb://127.0.0.1:{falkordb_server.port}/"
    assert falkordb_url.startswith(prefix)
    graph = falkordb_url.removeprefix(prefix)
    assert not falkordb_server.client().connection.exists(graph)


def test_two_fresh_falkordb_graphs_do_not_see_each_other(falkordb_server: FalkorDBServer) -> None:
    client = falkordb_server.client()
    names = [falkordb_server.fresh_graph(), falkordb_server.fresh_graph()]
    assert names[0] != names[1]
    first, second = (client.select_graph(name) for name in names)
    first.query("CREATE (:Intent {id: 'a'})")
    second.query("CREATE (:Intent {id: 'b'}), (:Intent {id: 'c'})")
    assert first.query("MATCH (i) RETURN collect(i.id)").result_set == [[["a"]]]
    assert second.query("MATCH (i) RETURN count(i)").result_set == [[2]]
    falkordb_server.drop_graph(names[0])
    falkordb_server.drop_graph(names[1])
    assert not client.connection.exists(*names)


def test_a_stopped_falkordb_server_leaves_no_process_no_port_and_no_files() -> None:
    server = graph_servers.start_falkordb()
    pid, port, workdir = server.pid, server.port, server.workdir
    server.stop()
    assert pids_alive([pid]) == []
    assert refuses_connections(port)
    assert not workdir.exists()


def test_a_server_dies_with_the_test_process_that_started_it() -> None:
    # SIGKILL runs no finally and no atexit: only PR_SET_PDEATHSIG ends the server.
    code = (
        "from tests import graph_servers as gs; s = gs.start_falkordb(); "
        "print(s.pid, flush=True); import time; time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    server_pid = int(parent.stdout.readline())
    assert pids_alive([server_pid]) == [server_pid]
    parent.kill()
    parent.wait()
    assert gone_within([server_pid], 5.0)


# --- ArcadeDB over Bolt ----------------------------------------------------------------


def test_bolt_server_answers_return_1_through_the_neo4j_driver(bolt_server: BoltServer) -> None:
    with bolt_server.driver() as driver:
        records, _, _ = driver.execute_query("RETURN 1 AS one", database_=bolt_server.database)
        assert records[0]["one"] == 1
        assert "ArcadeDB" in driver.get_server_info().agent


def test_bolt_url_carries_the_credentials_and_an_empty_database_of_its_own(
    bolt_url: str, bolt_server: BoltServer
) -> None:
    import neo4j

    uri, auth, database = graph_servers.driver_args(bolt_url)
    assert uri == f"bolt://127.0.0.1:{bolt_server.port}"
    assert database is not None and database != bolt_server.database
    with neo4j.GraphDatabase.driver(uri, auth=auth) as driver:
        records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n", database_=database)
    assert records[0]["n"] == 0


def test_two_fresh_bolt_databases_do_not_see_each_other(bolt_server: BoltServer) -> None:
    names = [bolt_server.fresh_database(), bolt_server.fresh_database()]
    try:
        with bolt_server.driver() as driver:
            driver.execute_query("CREATE (:Intent {id: 'a'})", database_=names[0])
            records, _, _ = driver.execute_query(
                "MATCH (i:Intent) RETURN count(i) AS n", database_=names[1]
            )
            assert records[0]["n"] == 0
    finally:
        for name in names:
            bolt_server.drop_database(name)


def test_a_killed_bolt_server_restarts_with_its_data_and_a_stopped_one_leaves_nothing() -> None:
    server = graph_servers.start_bolt_server()
    try:
        with server.driver() as driver:
            driver.execute_query("CREATE (:Intent {id: 'kept'})", database_=server.database)
        first_pid = server.pid
        server.kill()
        assert pids_alive([first_pid]) == []
        server.restart()
        assert server.pid != first_pid
        with server.driver() as driver:
            records, _, _ = driver.execute_query(
                "MATCH (i:Intent) RETURN i.id AS id", database_=server.database
            )
        assert [r["id"] for r in records] == ["kept"]
    finally:
        pid, port, workdir = server.pid, server.port, server.workdir
        server.stop()
    assert pids_alive([pid]) == []
    assert refuses_connections(port)
    assert not workdir.exists()


# --- Neo4j, and the helpers ----------------------------------------------------------------


def test_neo4j_url_answers_return_1(neo4j_url: str) -> None:
    graph_servers.wait_for_bolt(neo4j_url, timeout=5)


def test_an_intentgraph_neo4j_url_splits_into_the_driver_arguments() -> None:
    url = "neo4j://neo4j:p%40ss@localhost:7687?database=goals"
    assert graph_servers.driver_args(url) == (
        "neo4j://localhost:7687",
        ("neo4j", "p@ss"),
        "goals",
    )


def test_a_missing_server_package_is_an_error_that_names_the_install_command() -> None:
    with pytest.raises(GraphServerError, match=r"pip install -e '\.\[test\]'"):
        graph_servers._package_dir("no-such-package", "no_such_module_for_intentgraph")


def test_a_server_that_never_answers_is_an_error_and_is_stopped() -> None:
    server = FalkorDBServer(command=["sleep", "30"], workdir=graph_servers._workdir("falkordb"))

    def never_ready() -> None:
        raise ConnectionError("not yet")

    with pytest.raises(GraphServerError, match="did not answer within"):
        graph_servers._start(server, never_ready, 0.3, "a server that never answers")
    assert pids_alive([server.pid]) == []
    assert not server.workdir.exists()
