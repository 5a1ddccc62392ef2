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
from dataclasses import dataclass, field

__all__ = ["FALKORDB", "NEO4J", "Dialect", "load", "load_all", "statements"]

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

HOLD_SCHEMA_NODE = "MATCH (m:IntentGraphMeta {key: 'schema'}) RETURN m.version"


@dataclass(frozen=True)
class Dialect:
    """What one server's Cypher needs that the other's does not."""

    name: str
    # Schema: Neo4j 5 creates its constraint and named indexes with IF NOT EXISTS (the
    # statements of setup.cypher). FalkorDB has no IF NOT EXISTS and no index names: it
    # lists what exists (``CALL db.indexes()``), creates only what is missing, and makes the
    # unique constraint with a command (``GRAPH.CONSTRAINT CREATE``) once its exact-match
    # index exists; the executor does that part.
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
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


NEO4J = Dialect(
    name="neo4j",
    schema_in_files=True,
    sanitizes_nul=False,
    undo_in_graph=False,
    lock_query="lock",
    max_page=2**31 - 1,
)

FALKORDB = Dialect(
    name="falkordb",
    schema_in_files=False,
    sanitizes_nul=True,
    undo_in_graph=True,
    lock_query=None,
    max_page=2**31 - 1,
    # (label, properties) of each range index, as setup.cypher names them for Neo4j.
    indexes=(
        ("Intent", ("id",)),
        ("Intent", ("status",)),
        ("Intent", ("rp",)),
        ("Intent", ("unmet",)),
        ("Intent", ("held",)),
        ("IntentGraphMeta", ("key",)),
        ("IntentGraphUndo", ("seq",)),
    ),
)

# FalkorDB's undo log (see ``_cypher_falkordb``): every change inside a transaction is one
# query that also records how to undo it, so a crash never leaves a change without its record.
UNDO_PREFIX = "CREATE (:IntentGraphUndo {seq: $undo_seq, op: $undo_op}) WITH count(*) AS undo_n "
UNDO_AFTER = "MATCH (u:IntentGraphUndo) WHERE u.seq > $after RETURN u.seq, u.op ORDER BY u.seq DESC"
UNDO_PENDING = "MATCH (u:IntentGraphUndo) RETURN count(u)"
UNDO_DONE = "MATCH (u:IntentGraphUndo) WHERE u.seq >= $seq DELETE u"
UNDO_COMMIT = "MATCH (u:IntentGraphUndo) DELETE u"
