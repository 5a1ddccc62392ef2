"""Opening the graph backends from URLs: every scheme is known, a missing extra names itself,
a closed port is StoreUnavailable (or a loud memory fallback when allowed), and no password
shows anywhere."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

import intentgraph as ig
from intentgraph.errors import BackendNotInstalled, InvalidURL, StoreUnavailable
from tests.graph_servers import free_port

SECRET = "s3cr3t-Passw0rd"


@pytest.mark.parametrize(
    "scheme",
    ["neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc", "falkordb", "falkordbs"],
)
def test_every_graph_scheme_is_known_to_the_factory(scheme: str) -> None:
    assert scheme in ig.StorageFactory().schemes


def closed(scheme: str) -> str:
    port = free_port()  # nothing listens there
    if scheme == "falkordb":
        return f"falkordb://user:{SECRET}@127.0.0.1:{port}/goals?retry_timeout=0.5&timeout=1"
    return f"{scheme}://neo4j:{SECRET}@127.0.0.1:{port}?database=x&retry_timeout=0.5&timeout=1"


@pytest.mark.parametrize("scheme", ["bolt", "neo4j", "falkordb"])
def test_a_closed_port_is_store_unavailable_after_bounded_retries(scheme: str) -> None:
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as info:
        ig.open_store(closed(scheme))
    assert time.monotonic() - start < 10
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is not None  # the driver's error, kept


@pytest.mark.parametrize("scheme", ["bolt", "falkordb"])
def test_a_closed_port_falls_back_to_a_loud_degraded_memory_store_when_allowed(
    scheme: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="intentgraph"):
        store = ig.open_store(closed(scheme), fallback=True)
    with store:
        assert store.backend == "memory" and store.degraded
        health = store.health()
        assert health.degraded and "unavailable" in (health.reason or "")
        assert SECRET not in health.model_dump_json()
    assert "NOT persisted" in caplog.text
    assert SECRET not in caplog.text


MISSING = [("bolt", "neo4j", "neo4j"), ("falkordb", "falkordb", "falkordb")]


@pytest.mark.parametrize(("scheme", "module", "extra"), MISSING)
def test_a_missing_driver_names_the_extra_to_install(scheme: str, module: str, extra: str) -> None:
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "import intentgraph as ig\n"
        "try:\n"
        f"    ig.open_store({closed(scheme)!r})\n"
        "except ig.errors.BackendNotInstalled as exc:\n"
        "    print(exc.extra, '|', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"{extra} |"), out.stdout + out.stderr
    assert f"pip install 'intentgraph[{extra}]'" in out.stdout
    assert SECRET not in out.stdout
    assert BackendNotInstalled.__mro__  # the class the subprocess caught


def test_graph_urls_are_checked_before_anything_connects() -> None:
    with pytest.raises(InvalidURL, match="unknown option"):
        ig.open_store(f"bolt://neo4j:{SECRET}@127.0.0.1:1?databse=x")
    with pytest.raises(InvalidURL, match="database"):
        ig.open_store("bolt://127.0.0.1:1/goals")
    with pytest.raises(InvalidURL, match="single name"):
        ig.open_store("falkordb://127.0.0.1:1/a/b")
    with pytest.raises(InvalidURL, match="not a number of seconds"):
        ig.open_store("falkordb://127.0.0.1:1/g?lock_timeout=soon")


def test_an_open_graph_store_shows_no_password(bolt_server: object, falkordb_url: str) -> None:
    from tests.graph_servers import BoltServer

    assert isinstance(bolt_server, BoltServer)
    url = bolt_server.url_for(bolt_server.database)
    with ig.open_store(url) as store:
        shown = [store.url, repr(store), store.health().model_dump_json()]
        assert all(bolt_server.password not in text for text in shown)
        assert store.health().ok and store.backend == "neo4j"
    with ig.open_store(falkordb_url) as store:
        assert store.health().details["server"].startswith("FalkorDB")
