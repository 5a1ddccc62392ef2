"""From a store URL to a connected executor: the URL schemes of the Cypher store and their
options. Imported only when such a URL is opened, so a missing driver is reported then
(``BackendNotInstalled`` names the extra to install)."""

from __future__ import annotations

from typing import Any

from intentgraph._url import ParsedURL, check_query, query_flag
from intentgraph.backends._cypher_exec import Executor
from intentgraph.errors import BackendNotInstalled, InvalidURL

__all__ = ["BOLT_SCHEMES", "FALKORDB_SCHEMES", "open_executor"]

BOLT_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
FALKORDB_SCHEMES = ("falkordb", "falkordbs")
_COMMON = {"timeout", "retry_timeout", "read_only"}


def _seconds(url: ParsedURL, name: str, default: float) -> float:
    raw = url.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InvalidURL(f"{url.redacted}: {name}={raw!r} is not a number of seconds")
    return value


def open_executor(url: ParsedURL) -> tuple[Executor, dict[str, Any]]:
    """Return a connected executor for ``url`` and the store's options.

    Options: ``timeout`` (seconds to connect, default 5), ``retry_timeout`` (seconds to keep
    retrying transient errors, default 5), ``read_only``; Bolt URLs take ``database``,
    FalkorDB URLs name the graph as their path and take ``lock_timeout`` (seconds a writer
    waits for another's transaction, default 30).
    """
    if url.host is None:
        raise InvalidURL(f"{url.redacted}: no host; write {url.scheme}://host:port/...")
    timeout = _seconds(url, "timeout", 5.0)
    options: dict[str, Any] = {
        "retry_seconds": _seconds(url, "retry_timeout", 5.0),
        "read_only": query_flag(url, "read_only"),
    }
    if url.scheme in BOLT_SCHEMES:
        try:
            import tenacity

            from intentgraph.backends._cypher_neo4j import Neo4jExecutor
        except ImportError as exc:
            raise BackendNotInstalled(url.scheme, "neo4j", exc.name or "neo4j") from exc
        check_query(url, _COMMON | {"database"})
        if url.path not in ("", "/"):
            raise InvalidURL(
                f"{url.redacted}: name the database with ?database=name, not in the path"
            )
        database = url.query.get("database") or None
        auth = None
        if url.username is not None:
            auth = (url.username, url.password or "")
        where = f"{url.scheme}://{url.address}" + (f" database {database!r}" if database else "")
        executor: Executor = Neo4jExecutor(
            f"{url.scheme}://{url.address or ''}",
            auth=auth,
            database=database,
            where=where,
            timeout=timeout,
        )
        return executor, {**options, "backend": "neo4j"}
    if url.scheme in FALKORDB_SCHEMES:
        try:
            import tenacity  # noqa: F401 - the retries need it

            from intentgraph.backends._cypher_falkordb import FalkorDBExecutor
        except ImportError as exc:
            raise BackendNotInstalled(url.scheme, "falkordb", exc.name or "falkordb") from exc
        check_query(url, _COMMON | {"lock_timeout"})
        graph = url.path_name() or "intentgraph"
        where = f"{url.scheme}://{url.address} graph {graph!r}"
        executor = FalkorDBExecutor.connect(
            retry_seconds=options["retry_seconds"],
            host=url.host,
            port=url.port or 6379,
            graph=graph,
            username=url.username or None,
            password=url.password,
            tls=url.scheme == "falkordbs",
            timeout=timeout,
            lock_timeout=_seconds(url, "lock_timeout", 30.0),
            where=where,
        )
        return executor, {**options, "backend": "falkordb"}
    raise InvalidURL(f"{url.redacted}: not a Neo4j or FalkorDB URL")
