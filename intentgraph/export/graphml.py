"""GraphML for Gephi, yEd, Cytoscape desktop and networkx (``networkx.read_graphml``).

Every intent field is a node attribute (JSON fields as JSON strings), every edge field an
edge attribute; edges have ids, so parallel edges of different types survive. Characters
XML 1.0 cannot hold (control characters other than tab and newline) become U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

from intentgraph.models import Edge, Intent

__all__ = ["GraphMLWriter"]

_NODE_KEYS = [
    ("name", "string"),
    ("goal", "string"),
    ("status", "string"),
    ("priority", "long"),
    ("session_id", "string"),
    ("original_request", "string"),
    ("constraints", "string"),
    ("preferences", "string"),
    ("success_criteria", "string"),
    ("metadata", "string"),
    ("reason", "string"),
    ("attempts", "long"),
    ("created_at", "string"),
    ("updated_at", "string"),
    ("version", "long"),
    ("outside", "boolean"),
]
_EDGE_KEYS = [
    ("type", "string"),
    ("weight", "double"),
    ("edge_metadata", "string"),
    ("edge_created_at", "string"),
]
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    text = _INVALID.sub("\ufffd", str(value))
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class GraphMLWriter:
    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._edge_number = 0
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns'
            ' http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
        )
        for name, kind in _NODE_KEYS:
            out.write(f'  <key id="{name}" for="node" attr.name="{name}" attr.type="{kind}"/>\n')
        for name, kind in _EDGE_KEYS:
            attr = name.removeprefix("edge_")
            out.write(f'  <key id="{name}" for="edge" attr.name="{attr}" attr.type="{kind}"/>\n')
        out.write('  <graph id="intentgraph" edgedefault="directed">\n')

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None:
        parts = []
        for intent in batch:
            values: dict[str, Any] = {
                "name": intent.name,
                "goal": intent.goal,
                "status": intent.status.value,
                "priority": intent.priority,
                "session_id": intent.session_id,
                "original_request": intent.original_request,
                "constraints": _json(intent.constraints),
                "preferences": _json(intent.preferences),
                "success_criteria": _json(intent.success_criteria),
                "metadata": _json(intent.metadata),
                "reason": intent.reason,
                "attempts": intent.attempts,
                "created_at": intent.created_at.isoformat(),
                "updated_at": intent.updated_at.isoformat(),
                "version": intent.version,
                "outside": "true" if outside else "false",
            }
            data = "".join(
                f'<data key="{k}">{_text(v)}</data>' for k, v in values.items() if v is not None
            )
            parts.append(f'    <node id="{_text(intent.id)}">{data}</node>\n')
        self._out.write("".join(parts))

    def edges(self, batch: list[Edge]) -> None:
        parts = []
        for edge in batch:
            data = f'<data key="type">{edge.type.value}</data>'
            if edge.weight is not None:
                data += f'<data key="weight">{edge.weight!r}</data>'
            data += f'<data key="edge_metadata">{_text(_json(edge.metadata))}</data>'
            data += f'<data key="edge_created_at">{edge.created_at.isoformat()}</data>'
            parts.append(
                f'    <edge id="e{self._edge_number}" source="{_text(edge.source)}"'
                f' target="{_text(edge.target)}">{data}</edge>\n'
            )
            self._edge_number += 1
        self._out.write("".join(parts))

    def end(self) -> None:
        self._out.write("  </graph>\n</graphml>\n")
