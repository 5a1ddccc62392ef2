"""A Cypher script that recreates the graph in Neo4j (Neo4j Browser, ``cypher-shell -f``).

Statements end with ``;``, one per batch of ``BATCH`` rows: ``UNWIND`` a list of maps, then
``MERGE`` on the id, so running the script twice changes nothing. Written in the Cypher
both Neo4j 5 and FalkorDB accept, but for its first statement, Neo4j's uniqueness
constraint (FalkorDB creates one with ``GRAPH.CONSTRAINT``: skip that statement there).
JSON fields (``constraints``, ``preferences``, ``success_criteria``, ``metadata``,
``lease``) are JSON strings, as graph properties cannot hold maps; timestamps are ISO 8601
strings in UTC.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

from intentgraph._codec import edge_fields, intent_fields
from intentgraph.models import Edge, EdgeType, Intent

__all__ = ["BATCH", "CONSTRAINT", "CypherWriter", "literal"]

BATCH = 500
CONSTRAINT = "CREATE CONSTRAINT intent_id IF NOT EXISTS FOR (i:Intent) REQUIRE i.id IS UNIQUE;"
_JSON = ("constraints", "preferences", "success_criteria", "metadata", "lease")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_SPECIAL = re.compile(r"[\\'\x00-\x1f\x7f]")
_MIN_INT64 = -(2**63)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def literal(value: Any) -> str:
    """Return ``value`` (None, bool, int, float, str) as a Cypher literal."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        # -2**63 written plainly is a minus applied to 2**63, which overflows.
        return f"({_MIN_INT64 + 1} - 1)" if value == _MIN_INT64 else str(value)
    if isinstance(value, float):
        return repr(value)
    return "'" + _SPECIAL.sub(_escape, str(value)) + "'"


def _map(fields: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{key}: {literal(value)}" for key, value in fields.items()) + "}"


def _intent_row(intent: Intent) -> dict[str, Any]:
    fields = intent_fields(intent)
    fields["lease"] = None if intent.lease is None else intent.lease.model_dump(mode="json")
    for key in _JSON:
        if fields[key] is not None:
            fields[key] = json.dumps(fields[key], ensure_ascii=False, separators=(",", ":"))
    for key in ("created_at", "updated_at"):
        fields[key] = getattr(intent, key).isoformat().replace("+00:00", "Z")
    return fields


class CypherWriter:
    """Writes the script as intents and edges come."""

    def __init__(self, out: IO[str], *, counts: tuple[int, int]) -> None:
        self._out = out
        self._rows: list[str] = []
        self._edges: dict[EdgeType, list[str]] = {}
        out.write(
            f"// intentgraph export: {counts[0]} intents, {counts[1]} edges.\n"
            "// Run it in Neo4j Browser, or: cypher-shell -f this-file.cypher\n"
            "// JSON fields are JSON strings; timestamps are ISO 8601 strings (UTC).\n"
            "// FalkorDB: skip the constraint (next statement); the rest runs as it is.\n"
            f"{CONSTRAINT}\n"
        )

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None:
        for intent in batch:
            self._rows.append(_map(_intent_row(intent)))
            if len(self._rows) >= BATCH:
                self._flush_intents()

    def _flush_intents(self) -> None:
        if self._rows:
            rows = ",\n  ".join(self._rows)
            self._out.write(
                f"UNWIND [\n  {rows}\n] AS row\nMERGE (i:Intent {{id: row.id}})\nSET i += row;\n"
            )
            self._rows = []

    def edges(self, batch: list[Edge]) -> None:
        self._flush_intents()
        for edge in batch:
            fields = edge_fields(edge)
            row = {
                "source": edge.source,
                "target": edge.target,
                "weight": fields["weight"],
                "metadata": json.dumps(
                    fields["metadata"], ensure_ascii=False, separators=(",", ":")
                ),
                "created_at": edge.created_at.isoformat().replace("+00:00", "Z"),
            }
            pending = self._edges.setdefault(edge.type, [])
            pending.append(_map(row))
            if len(pending) >= BATCH:
                self._flush_edges(edge.type)

    def _flush_edges(self, etype: EdgeType) -> None:
        rows = self._edges.pop(etype, [])
        if rows:
            joined = ",\n  ".join(rows)
            self._out.write(
                f"UNWIND [\n  {joined}\n] AS row\n"
                "MATCH (a:Intent {id: row.source})\n"
                "MATCH (b:Intent {id: row.target})\n"
                f"MERGE (a)-[r:{etype.value}]->(b)\n"
                "SET r.weight = row.weight, r.metadata = row.metadata,"
                " r.created_at = row.created_at;\n"
            )

    def end(self) -> None:
        self._flush_intents()
        for etype in list(self._edges):
            self._flush_edges(etype)
