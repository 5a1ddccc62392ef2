"""The query files of ``cypher/``, loaded at run time, and where Neo4j and FalkorDB differ.

The files in ``cypher/`` are written in Neo4j 5's Cypher, each runnable as it is in Neo4j
Browser; they are installed as package data (``intentgraph/cypher/``) and read from there, so
the store runs exactly what a person reads. Most of them are also valid on FalkorDB: the
queries keep to the subset both servers accept (pattern comprehensions instead of
``EXISTS {}``/``COUNT {}``, no ``elementId()`` or ``datetime()``). Every difference between
the two dialects is a member of ``Dialect`` below, with a comment saying why.

One trap every file avoids: two pattern comprehensions in one expression must not reuse a
variable name. FalkorDB 4.16 then answers the second one wrongly (``[(n)-[:A]->(d) | d.id] +
[(d)-[:B]->(n) | d.id]`` misses the B neighbours); Neo4j does not care.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass

__all__ = ["FALKORDB", "NEO4J", "Dialect", "load", "load_all", "prefix", "statements"]

_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)
_PARAM = re.compile(r"^\s*:param\b.*$", re.MULTILINE)


@functools.cache
def _text(name: str) -> str:
    package = importlib.resources.files("intentgraph.cypher")
    return (package / f"{name}.cypher").read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """Return the statements of ``cypher/<name>.cypher``: comments and ``:param`` lines
    (Neo4j Browser commands) dropped, split at a ``;`` that ends a line."""
    body = _PARAM.sub("", _COMMENT.sub("", _text(name)))
    parts = re.split(r";\s*$", body, flags=re.MULTILINE)
    return [" ".join(p.split()) for p in parts if p.strip()]


@functools.cache
def load(name: str) -> str:
    """Return the one query of ``cypher/<name>.cypher``."""
    found = statements(name)
    if len(found) != 1:
        raise ValueError(f"cypher/{name}.cypher holds {len(found)} statements, not one")
    return found[0]


def load_all() -> dict[str, list[str]]:
    """Return every query file's statements by name (for the linter and the docs)."""
    package = importlib.resources.files("intentgraph.cypher")
    names = sorted(p.name[:-7] for p in package.iterdir() if p.name.endswith(".cypher"))
    return {n: statements(n) for n in names}


MAX_LIMIT = 100_000
"""The largest LIMIT sent to a server (see ``Dialect.max_page``)."""


@dataclass(frozen=True)
class Dialect:
    """What one server's Cypher needs that the other's does not."""

    name: str
    # Schema: Neo4j 5 creates its constraint and named indexes with IF NOT EXISTS (the
    # statements of setup.cypher). FalkorDB has no IF NOT EXISTS and no index names: it
    # lists what exists (falkordb_indexes.cypher), creates only what is missing (the
    # statements of falkordb_setup.cypher), and makes the unique constraint with a command
    # (``GRAPH.CONSTRAINT CREATE``) once its exact-match index exists; the executor does that.
    schema_in_files: bool
    # FalkorDB's client writes parameters into the query text (a ``CYPHER k=v`` header), and
    # a NUL character ends that text: strings shown to people (name, goal...) lose their NULs
    # on FalkorDB (replaced by U+FFFD); the ``data`` JSON keeps them as ``\\u0000`` escapes.
    sanitizes_nul: bool
    # Neo4j has no savepoints or undo of its own inside a transaction, but rolls the whole
    # transaction back; FalkorDB has no multi-statement transaction at all, so it keeps its
    # undo log in the graph (IntentGraphUndo nodes), written by the same query as each change.
    undo_in_graph: bool
    # Neo4j serialises intentgraph's writers by writing one node first in each transaction
    # (lock.cypher: its write lock is held to the commit). FalkorDB runs one write query at a
    # time but cannot hold a lock across queries: a Redis key is the writer lock there.
    lock_query: str | None
    # The largest SKIP sent: FalkorDB keeps SKIP and LIMIT in 32 bits (LIMIT 2^32 returns
    # nothing, SKIP 2^32 skips nothing), and so does ArcadeDB over Bolt; Neo4j takes 64 bits,
    # but no store holds 2^31 intents, so both dialects skip within 32 bits. A larger LIMIT
    # than MAX_LIMIT is not sent at all (the rows are cut in Python): ArcadeDB fails an
    # ORDER BY with LIMIT 2^31 - 1, as if it made room for that many rows.
    max_page: int
    # A new intent's maintained state (nothing unmet, held or open; rp while actionable):
    # ArcadeDB sets one map far faster than a map and four more properties (3 s against 7-9 s
    # for 6,000 intents), so the Neo4j dialect sends it in the rows (put_intents.cypher).
    # FalkorDB's client writes every parameter into the query text, where four more values
    # per row cost more than setting them in the query (falkordb_put_intents.cypher: about
    # 10% less encoding and server time).
    state_in_rows: bool


NEO4J = Dialect(
    name="neo4j",
    schema_in_files=True,
    sanitizes_nul=False,
    undo_in_graph=False,
    lock_query="lock",
    max_page=2**31 - 1,
    state_in_rows=True,
)

FALKORDB = Dialect(
    name="falkordb",
    schema_in_files=False,
    sanitizes_nul=True,
    undo_in_graph=True,
    lock_query=None,
    max_page=2**31 - 1,
    state_in_rows=False,
)


@functools.cache
def prefix(name: str) -> str:
    """Return the query of ``cypher/<name>.cypher`` without its closing ``RETURN x``: the
    start of a longer query (the file itself stays runnable as it is)."""
    query = load(name)
    head, _, tail = query.rpartition(" RETURN ")
    if not head or " " in tail.strip():
        raise ValueError(f"cypher/{name}.cypher does not end with RETURN <variable>")
    return head + " "
