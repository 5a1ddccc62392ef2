"""Graphviz DOT (``dot -Tpng graph.dot -o graph.png``): statuses as fill colours, edge
types as line styles and colours, a legend of both; subgoals drawn below their parent."""

from __future__ import annotations

from typing import IO

from intentgraph.export._style import EDGE_STYLES, STATUS_COLOURS
from intentgraph.models import Edge, EdgeType, Intent

__all__ = ["DotWriter", "quote"]


def quote(text: str) -> str:
    """Return ``text`` as a DOT double-quoted string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{escaped}"'


def _short(text: str, size: int = 40) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


class DotWriter:
    def __init__(self, out: IO[str], *, title: str = "intentgraph") -> None:
        self._out = out
        out.write(
            "digraph intentgraph {\n"
            f'  graph [rankdir=BT, fontname="Helvetica", labelloc=t,'
            f" label={quote(_short(title, 80))}];\n"
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];\n'
            '  edge [fontname="Helvetica", fontsize=9];\n'
        )

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None:
        lines = []
        for intent in batch:
            fill, border = STATUS_COLOURS[intent.status.value]
            label = f"{_short(intent.name)}\n{intent.status.value}"
            extra = ', style="rounded,filled,dashed"' if outside else ""
            lines.append(
                f'  {quote(intent.id)} [label={quote(label)}, fillcolor="{fill}",'
                f' color="{border}", tooltip={quote(intent.id)}{extra}];\n'
            )
        self._out.write("".join(lines))

    def edges(self, batch: list[Edge]) -> None:
        lines = []
        for edge in batch:
            style, colour, label = EDGE_STYLES[edge.type]
            attrs = f'style={style}, color="{colour}", fontcolor="{colour}"'
            if edge.type is not EdgeType.IS_SUBGOAL_OF:
                attrs += f", label={quote(label)}"
            if edge.type.symmetric or edge.type is EdgeType.RELATED_TO:
                attrs += ", dir=none, constraint=false"
            elif edge.type is not EdgeType.IS_SUBGOAL_OF:
                attrs += ", constraint=false"
            lines.append(f"  {quote(edge.source)} -> {quote(edge.target)} [{attrs}];\n")
        self._out.write("".join(lines))

    def end(self) -> None:
        legend = [
            '  subgraph cluster_legend {\n    label="legend"; fontsize=10; color="#bbbbbb";\n'
        ]
        for status, (fill, border) in STATUS_COLOURS.items():
            legend.append(
                f'    "legend:{status}" [label="{status}", fillcolor="{fill}", color="{border}"];\n'
            )
        legend.append("  }\n}\n")
        self._out.write("".join(legend))
