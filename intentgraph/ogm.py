"""neomodel classes for the graph the Cypher store writes: browse and query it from Python.

Needs ``pip install 'intentgraph[neomodel]'``. The store's own writes stay raw Cypher; these
classes are for reading (and for people who already use neomodel). Write through intentgraph:
it keeps the invariants and the maintained blocked state that a write through the OGM would
not.

Example (with a running Neo4j)::

    from intentgraph import ogm

    ogm.connect("bolt://neo4j:secret@localhost:7687?database=neo4j")
    root = ogm.IntentNode.nodes.get(intent_id="launch")
    for child in root.subgoals.all():
        print(child.name, child.status, child.to_intent().metadata)
"""

from __future__ import annotations

from typing import Any

from neomodel import (
    FloatProperty,
    IntegerProperty,
    RelationshipFrom,
    RelationshipTo,
    StringProperty,
    StructuredNode,
    StructuredRel,
    db,
    get_config,
)

from intentgraph._url import parse_url
from intentgraph.errors import InvalidURL
from intentgraph.models import Edge, Intent

__all__ = ["EDGE_ATTRIBUTES", "EdgeRel", "IntentNode", "connect"]


class EdgeRel(StructuredRel):
    """An edge: its relationship type is the ``EdgeType`` name; ``data`` is the edge's JSON."""

    data = StringProperty(required=True)
    weight = FloatProperty()
    created_at = StringProperty()
    metadata = StringProperty()

    def to_edge(self) -> Edge:
        """Return the intentgraph ``Edge`` this relationship stores."""
        return Edge.model_validate_json(self.data)


class IntentNode(StructuredNode):
    """An ``(:Intent)`` node. ``intent_id`` is the node's ``id`` property (neomodel keeps the
    attribute name ``id`` for itself)."""

    __label__ = "Intent"

    intent_id = StringProperty(db_property="id", required=True, unique_index=True)
    name = StringProperty()
    goal = StringProperty()
    status = StringProperty()
    priority = IntegerProperty()
    session_id = StringProperty()
    version = IntegerProperty()
    created_at = StringProperty()
    updated_at = StringProperty()
    metadata = StringProperty()
    data = StringProperty(required=True)
    lease_us = IntegerProperty()  # when the lease runs out (microseconds), absent without one
    # The maintained blocked state and the sort keys (see docs/exploring.md).
    unmet = IntegerProperty()
    held = IntegerProperty()
    open_subgoals = IntegerProperty()
    rp = IntegerProperty()
    created_us = IntegerProperty()
    updated_us = IntegerProperty()
    ik = StringProperty()
    nk = StringProperty()
    search = StringProperty()

    # One relationship per edge type, outgoing, as the store writes them.
    is_subgoal_of = RelationshipTo("IntentNode", "IS_SUBGOAL_OF", model=EdgeRel)
    depends_on = RelationshipTo("IntentNode", "DEPENDS_ON", model=EdgeRel)
    blocks = RelationshipTo("IntentNode", "BLOCKS", model=EdgeRel)
    conflicts_with = RelationshipTo("IntentNode", "CONFLICTS_WITH", model=EdgeRel)
    enables = RelationshipTo("IntentNode", "ENABLES", model=EdgeRel)
    related_to = RelationshipTo("IntentNode", "RELATED_TO", model=EdgeRel)
    triggered_by = RelationshipTo("IntentNode", "TRIGGERED_BY", model=EdgeRel)
    # And the subgoals, the other way along IS_SUBGOAL_OF.
    subgoals = RelationshipFrom("IntentNode", "IS_SUBGOAL_OF", model=EdgeRel)

    def to_intent(self) -> Intent:
        """Return the intentgraph ``Intent`` this node stores (read from ``data``)."""
        return Intent.model_validate_json(self.data)


EDGE_ATTRIBUTES: dict[str, str] = {
    "IS_SUBGOAL_OF": "is_subgoal_of",
    "DEPENDS_ON": "depends_on",
    "BLOCKS": "blocks",
    "CONFLICTS_WITH": "conflicts_with",
    "ENABLES": "enables",
    "RELATED_TO": "related_to",
    "TRIGGERED_BY": "triggered_by",
}
"""The ``IntentNode`` attribute of each edge type."""


def connect(url: str) -> Any:
    """Point neomodel at the graph of an intentgraph Bolt URL; return the driver it uses.

    Raises:
        InvalidURL: not a ``neo4j://``/``bolt://`` URL (``+s``, ``+ssc`` included).
    """
    import neo4j

    parsed = parse_url(url)
    if not parsed.scheme.startswith(("neo4j", "bolt")) or parsed.address is None:
        raise InvalidURL(f"{parsed.redacted}: neomodel needs a neo4j:// or bolt:// URL")
    auth = None if parsed.username is None else (parsed.username, parsed.password or "")
    driver = neo4j.GraphDatabase.driver(f"{parsed.scheme}://{parsed.address}", auth=auth)
    get_config().database_name = parsed.query.get("database") or None
    db.set_connection(driver=driver)
    return driver
