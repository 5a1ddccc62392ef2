"""Mermaid flowcharts, which GitHub and most markdown viewers render: statuses as class
colours, edge types as arrow styles (``-->`` subgoal of, ``-.->`` depends on, ``==>``
blocks, ``<-.->`` conflicts with...). Intents get short ids (``n0``, ``n1``...): Mermaid
ids cannot hold every character an intent id can."""

from __future__ import annotations

from typing import IO

from intentgraph.export._style import STATUS_COLOURS
from intentgraph.models import Edge, EdgeType, Intent

__all__ = ["MermaidWriter", "label"]

_ARROWS = {
    EdgeType.IS_SUBGOAL_OF: "-->",
    EdgeType.DEPENDS_ON: "-.->|depends on|",
    EdgeType.BLOCKS: "==>|blocks|",
    EdgeType.CONFLICTS_WITH: "<-.->|conflicts|",
    EdgeType.ENABLES: "-->|enables|",
    EdgeType.RELATED_TO: "---|related|",
    EdgeType.TRIGGERED_BY: "-.->|triggered by|",
}


def label(text: str) -> str:
    """Return ``text`` as the inside of a quoted Mermaid label."""
    out = (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )
    return out.replace("\r\n", "\n").replace("\n", "<br/>")


class MermaidWriter:
    def __init__(self, out: IO[str], *, fenced: bool = False) -> None:
        self._out = out
        self._fenced = fenced
        self._ids: dict[str, str] = {}
        if fenced:
            out.write("```mermaid\n")
        out.write("flowchart BT\n")

    def _id(self, intent_id: str) -> str:
        short = self._ids.get(intent_id)
        if short is None:
            short = self._ids[intent_id] = f"n{len(self._ids)}"
        return short

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None:
        lines = []
        for intent in batch:
            text = label(f"{intent.name}\n{intent.status.value}")
            shape = f'(["{text}"])' if outside else f'["{text}"]'
            lines.append(f"  {self._id(intent.id)}{shape}:::{intent.status.value}\n")
        self._out.write("".join(lines))

    def edges(self, batch: list[Edge]) -> None:
        self._out.write(
            "".join(
                f"  {self._id(e.source)} {_ARROWS[e.type]} {self._id(e.target)}\n" for e in batch
            )
        )

    def end(self) -> None:
        for status, (fill, border) in STATUS_COLOURS.items():
            self._out.write(f"  classDef {status} fill:{fill},stroke:{border},color:#222\n")
        if self._fenced:
            self._out.write("```\n")
