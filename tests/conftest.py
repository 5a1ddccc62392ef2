"""Shared fixtures: ``store`` is parametrised over every backend, so one contract suite
proves that every backend gives the same answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph._base import StoreBase

# Real graph servers (FalkorDB, ArcadeDB over Bolt, Neo4j), started only when a test asks.
pytest_plugins = ["tests.graph_fixtures"]

# Every backend the contract suite runs against; a new backend adds its name here.
# "falkordb" and "neo4j" are the Cypher store on the test servers (tests/graph_servers.py):
# FalkorDB, and ArcadeDB speaking Bolt to the neo4j driver.
BACKENDS = ["memory", "json", "sqlite", "falkordb", "neo4j"]
FILE_BACKENDS = ["json", "sqlite"]
SERVER_BACKENDS = ["falkordb", "neo4j"]


def url_for(kind: str, directory: Path) -> str:
    """Return a fresh store URL of ``kind`` inside ``directory`` (a new graph or database of
    the session's server, for the server backends)."""
    if kind == "memory":
        return "memory://"
    if kind == "json":
        return f"json:///{directory / 'store.json'}"
    if kind == "sqlite":
        return f"sqlite:///{directory / 'store.db'}"
    if kind in SERVER_BACKENDS:  # "neo4j": ArcadeDB speaking Bolt, the neo4j driver path
        from tests.graph_fixtures import fresh_url

        return fresh_url(kind)
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> str:
    return url_for(backend, tmp_path)


def release_url(url: str) -> None:
    """Say that every store on ``url`` (from ``url_for``) is closed: a graph server's database
    may then be emptied and handed out again (see ``graph_fixtures.recycle``)."""
    if url.startswith(("bolt://", "falkordb://")):
        from tests.graph_fixtures import recycle

        recycle(url)


@pytest.fixture
def store(store_url: str) -> Iterator[StoreBase]:
    """An open, empty store of each backend."""
    with ig.open_store(store_url) as opened:
        yield opened
    release_url(store_url)
