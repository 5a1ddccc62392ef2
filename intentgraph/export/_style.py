"""How statuses and edge types look in every picture: one palette for DOT, Mermaid and
the HTML page."""

from __future__ import annotations

from intentgraph.models import EdgeType

# fill, border: light fills so that the name stays readable
STATUS_COLOURS = {
    "pending": ("#e3f2fd", "#1e88e5"),
    "active": ("#e0f7fa", "#00838f"),
    "executing": ("#fff8e1", "#f9a825"),
    "completed": ("#e8f5e9", "#2e7d32"),
    "failed": ("#ffebee", "#c62828"),
    "suspended": ("#f3e5f5", "#8e24aa"),
    "archived": ("#eeeeee", "#9e9e9e"),
}

# (line style, colour, label) per edge type
EDGE_STYLES = {
    EdgeType.IS_SUBGOAL_OF: ("solid", "#37474f", "subgoal of"),
    EdgeType.DEPENDS_ON: ("dashed", "#1565c0", "depends on"),
    EdgeType.BLOCKS: ("dashed", "#c62828", "blocks"),
    EdgeType.CONFLICTS_WITH: ("dotted", "#ef6c00", "conflicts with"),
    EdgeType.ENABLES: ("solid", "#2e7d32", "enables"),
    EdgeType.RELATED_TO: ("dotted", "#757575", "related to"),
    EdgeType.TRIGGERED_BY: ("dashed", "#6a1b9a", "triggered by"),
}
