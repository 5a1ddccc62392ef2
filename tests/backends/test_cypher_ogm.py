"""intentgraph.ogm: neomodel classes whose label, properties and relationship types are the
Cypher layer's, and which read a graph the store wrote (on the Bolt test server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import intentgraph as ig
from intentgraph.backends._cypher_rows import edge_props, intent_props

ogm = pytest.importorskip("intentgraph.ogm", reason="pip install 'intentgraph[neomodel]'")

E = ig.EdgeType


def test_the_node_class_has_the_cypher_layers_label_and_properties() -> None:
    node = ogm.IntentNode
    assert node.__label__ == "Intent"
    stored = {prop.get_db_property_name(name) for name, prop in node.defined_properties(
        aliases=False, rels=False).items()}  # fmt: skip
    written = set(intent_props(ig.Intent(id="x", name="x"), sanitize=False))
    assert stored == written


def test_the_relationship_class_has_the_cypher_layers_properties() -> None:
    stored = set(ogm.EdgeRel.defined_properties(aliases=False, rels=False))
    edge = ig.Edge(source="a", target="b", type=E.DEPENDS_ON)
    assert stored == set(edge_props(edge))


def test_there_is_one_relationship_per_edge_type_with_its_name() -> None:
    rels = ogm.IntentNode.defined_properties(aliases=False, properties=False)
    types = {name: rel.definition["relation_type"] for name, rel in rels.items()}
    assert set(ogm.EDGE_ATTRIBUTES) == {t.value for t in E}
    for etype, attribute in ogm.EDGE_ATTRIBUTES.items():
        assert types[attribute] == etype
    assert types["subgoals"] == "IS_SUBGOAL_OF"


@pytest.fixture
def written(bolt_url: str) -> Iterator[ig.IntentStorage]:
    with ig.open_store(bolt_url) as store:
        store.put_many(
            [
                ig.Intent(id="launch", name="launch", priority=5, metadata={"w": 1 / 3}),
                ig.Intent(id="build", name="build 🚀", goal='say "hi"\n'),
                ig.Intent(id="docs", name="docs"),
            ]
        )
        store.add_edge("build", "launch", E.IS_SUBGOAL_OF)
        store.add_edge("docs", "launch", E.IS_SUBGOAL_OF)
        store.add_edge("docs", "build", E.DEPENDS_ON, weight=0.1 + 0.2, metadata={"k": "v"})
        driver = ogm.connect(bolt_url)
        try:
            yield store
        finally:
            driver.close()


def test_the_classes_read_a_graph_the_store_wrote(written: ig.IntentStorage) -> None:
    launch = ogm.IntentNode.nodes.get(intent_id="launch")
    assert launch.to_intent() == written.get("launch")
    assert sorted(n.intent_id for n in launch.subgoals.all()) == ["build", "docs"]
    docs = ogm.IntentNode.nodes.get(intent_id="docs")
    [build] = docs.depends_on.all()
    assert build.to_intent() == written.get("build")
    rel = docs.depends_on.relationship(build)
    assert rel.to_edge() == written.edges("docs", type=E.DEPENDS_ON)[0]
    assert ogm.IntentNode.nodes.filter(status="active").__len__() == 3
