"""Contract: the graph queries, on hand-made graphs whose answers are written out here."""

from __future__ import annotations

import json
import threading

import pytest

import intentgraph as ig
from intentgraph import errors

from ._support import at, ids, put

E = ig.EdgeType
S = ig.IntentStatus


def tree_rows(nodes):
    return [(n.intent.id, n.depth, n.parent_id) for n in nodes]


# --- the tree ---------------------------------------------------------------------------------
#
#   root
#   ├── m
#   │   ├── a
#   │   │   └── x
#   │   └── z
#   └── k
#       └── q
#
# Ids are chosen so that "depth then id" differs from "parent order then id".


@pytest.fixture
def tree(store):
    for intent_id in ("root", "m", "k", "a", "z", "q", "x", "loner"):
        put(store, intent_id)
    for child, parent in (("m", "root"), ("k", "root"), ("a", "m"), ("z", "m"), ("q", "k")):
        store.add_edge(child, parent, E.IS_SUBGOAL_OF)
    store.add_edge("x", "a", E.IS_SUBGOAL_OF)
    return store


def test_children_are_the_direct_subgoals_by_id(tree):
    assert ids(tree.children("root")) == ["k", "m"]
    assert ids(tree.children("m")) == ["a", "z"]
    assert tree.children("x") == []


def test_subtree_lists_depth_then_id_with_parent_ids(tree):
    assert tree_rows(tree.subtree("root")) == [
        ("root", 0, None),
        ("k", 1, "root"),
        ("m", 1, "root"),
        ("a", 2, "m"),
        ("q", 2, "k"),
        ("z", 2, "m"),
        ("x", 3, "a"),
    ]


def test_subtree_of_an_inner_node_starts_at_depth_zero(tree):
    assert tree_rows(tree.subtree("m")) == [
        ("m", 0, None),
        ("a", 1, "m"),
        ("z", 1, "m"),
        ("x", 2, "a"),
    ]


def test_subtree_of_a_leaf_is_the_leaf(tree):
    assert tree_rows(tree.subtree("x")) == [("x", 0, None)]


def test_subtree_stops_at_max_depth(tree):
    assert tree_rows(tree.subtree("root", max_depth=0)) == [("root", 0, None)]
    assert tree_rows(tree.subtree("root", max_depth=1)) == [
        ("root", 0, None),
        ("k", 1, "root"),
        ("m", 1, "root"),
    ]
    assert [n.intent.id for n in tree.subtree("root", max_depth=2)] == [
        "root", "k", "m", "a", "q", "z",
    ]  # fmt: skip
    assert len(tree.subtree("root", max_depth=10)) == 7


def test_subtree_nodes_carry_the_full_intent(tree):
    node = tree.subtree("root")[0]
    assert isinstance(node, ig.TreeNode)
    assert node.intent == tree.get("root")


def test_ancestors_go_from_the_nearest_parent_to_the_root(tree):
    assert ids(tree.ancestors("x")) == ["a", "m", "root"]
    assert ids(tree.ancestors("q")) == ["k", "root"]
    assert tree.ancestors("root") == []
    assert tree.ancestors("loner") == []


def test_parent_is_the_intent_this_one_is_a_subgoal_of(tree):
    assert tree.parent("x").id == "a"
    assert tree.parent("m").id == "root"
    assert tree.parent("root") is None
    assert tree.parent("loner") is None


# --- dependencies and dependents --------------------------------------------------------------
#
#   top -> l -> base -> floor          (-> reads "depends on")
#   top -> r -> base                    r -> base is stated as "base BLOCKS r"
#   chain: m -> k -> z -> a


@pytest.fixture
def deps(store):
    for intent_id in ("top", "l", "r", "base", "floor", "m", "k", "z", "a"):
        put(store, intent_id)
    store.add_edge("top", "l", E.DEPENDS_ON)
    store.add_edge("top", "r", E.DEPENDS_ON)
    store.add_edge("l", "base", E.DEPENDS_ON)
    store.add_edge("base", "r", E.BLOCKS)
    store.add_edge("base", "floor", E.DEPENDS_ON)
    store.add_edge("m", "k", E.DEPENDS_ON)
    store.add_edge("k", "z", E.DEPENDS_ON)
    store.add_edge("z", "a", E.DEPENDS_ON)
    store.add_edge("top", "floor", E.RELATED_TO)  # not a dependency
    return store


def test_direct_dependencies_by_id(deps):
    assert ids(deps.dependencies("top")) == ["l", "r"]
    assert ids(deps.dependencies("r")) == ["base"]  # via BLOCKS
    assert deps.dependencies("floor") == []


def test_transitive_dependencies_by_distance_then_id(deps):
    assert ids(deps.dependencies("top", transitive=True)) == ["l", "r", "base", "floor"]
    assert ids(deps.dependencies("m", transitive=True)) == ["k", "z", "a"]


def test_transitive_distance_is_the_shortest_one(deps):
    deps.add_edge("top", "base", E.DEPENDS_ON)
    assert ids(deps.dependencies("top", transitive=True)) == ["base", "l", "r", "floor"]


def test_direct_dependents_by_id(deps):
    assert ids(deps.dependents("base")) == ["l", "r"]
    assert ids(deps.dependents("floor")) == ["base"]
    assert deps.dependents("top") == []


def test_transitive_dependents_by_distance_then_id(deps):
    assert ids(deps.dependents("floor", transitive=True)) == ["base", "l", "r", "top"]
    assert ids(deps.dependents("a", transitive=True)) == ["z", "k", "m"]


def test_transitive_closures_take_the_shortest_distance_over_depends_on_and_blocks(store):
    # c4 -> c3 -> c2 -> c1 -> s (depends on), but s BLOCKS c3: c3 is one step from s.
    # After the chain, c4 BLOCKS w and w2 depends on w.
    for intent_id in ("s", "c1", "c2", "c3", "c4", "w", "w2"):
        put(store, intent_id)
    store.add_edges(
        [
            ig.Edge(source="c1", target="s", type=E.DEPENDS_ON),
            ig.Edge(source="c2", target="c1", type=E.DEPENDS_ON),
            ig.Edge(source="c3", target="c2", type=E.DEPENDS_ON),
            ig.Edge(source="c4", target="c3", type=E.DEPENDS_ON),
            ig.Edge(source="s", target="c3", type=E.BLOCKS),
            ig.Edge(source="c4", target="w", type=E.BLOCKS),
            ig.Edge(source="w2", target="w", type=E.DEPENDS_ON),
        ]
    )
    assert ids(store.dependents("s", transitive=True)) == ["c1", "c3", "c2", "c4", "w", "w2"]
    assert ids(store.dependencies("w2", transitive=True)) == ["w", "c4", "c3", "c2", "s", "c1"]


def test_closures_follow_blocks_edges_added_after_a_read_and_again_after_one_went(store):
    # The graph servers walk BLOCKS steps only in a graph that has had a BLOCKS edge.
    for intent_id in ("a", "b", "c", "d"):
        put(store, intent_id)
    store.add_edge("b", "a", E.DEPENDS_ON)
    store.add_edge("d", "c", E.DEPENDS_ON)
    assert ids(store.dependents("a", transitive=True)) == ["b"]
    assert ids(store.dependencies("d", transitive=True)) == ["c"]
    store.add_edge("b", "c", E.BLOCKS)  # c waits for b
    assert ids(store.dependents("a", transitive=True)) == ["b", "c", "d"]
    assert ids(store.dependencies("d", transitive=True)) == ["c", "b", "a"]
    store.remove_edge("b", "c", E.BLOCKS)
    assert ids(store.dependents("a", transitive=True)) == ["b"]
    store.add_edge("a", "d", E.BLOCKS)
    assert ids(store.dependents("a", transitive=True)) == ["b", "d"]
    assert ids(store.dependencies("d", transitive=True)) == ["a", "c"]


def test_transitive_closures_over_a_chain_of_diamonds_with_thousands_of_paths(store):
    # b00 <- l01, r01 <- b01 <- l02, r02 <- b02 ... (<- reads "is depended on by"):
    # 2^30 paths from b00 to b30, each intent at one distance. A walk that listed every
    # path (FalkorDB's variable-length patterns do) would not finish.
    stages = 30
    for k in range(stages + 1):
        put(store, f"b{k:02}")
    edges = []
    for k in range(1, stages + 1):
        for side in ("l", "r"):
            put(store, f"{side}{k:02}")
            edges.append(ig.Edge(source=f"{side}{k:02}", target=f"b{k - 1:02}", type=E.DEPENDS_ON))
            edges.append(ig.Edge(source=f"b{k:02}", target=f"{side}{k:02}", type=E.DEPENDS_ON))
    store.add_edges(edges)
    up = [i for k in range(1, stages + 1) for i in (f"l{k:02}", f"r{k:02}", f"b{k:02}")]
    down = [i for k in range(stages, 0, -1) for i in (f"l{k:02}", f"r{k:02}", f"b{k - 1:02}")]
    assert ids(store.dependents("b00", transitive=True)) == up
    assert ids(store.dependencies(f"b{stages:02}", transitive=True)) == down


def test_conflicts_are_listed_by_id(deps):
    deps.add_edge("z", "top", E.CONFLICTS_WITH)
    deps.add_edge("top", "a", E.CONFLICTS_WITH)
    assert ids(deps.conflicts("top")) == ["a", "z"]
    assert ids(deps.conflicts("z")) == ["top"]
    assert deps.conflicts("l") == []


def test_cycles_is_empty_on_a_dag(deps):
    assert deps.cycles() == []


def test_cycles_is_empty_on_an_empty_store(store):
    assert store.cycles() == []


@pytest.mark.parametrize(
    "query",
    [
        lambda s: s.children("ghost"),
        lambda s: s.subtree("ghost"),
        lambda s: s.ancestors("ghost"),
        lambda s: s.parent("ghost"),
        lambda s: s.dependencies("ghost"),
        lambda s: s.dependents("ghost", transitive=True),
        lambda s: s.conflicts("ghost"),
        lambda s: s.plan("ghost"),
        lambda s: s.context("ghost"),
    ],
    ids=[
        "children", "subtree", "ancestors", "parent", "dependencies", "dependents",
        "conflicts", "plan", "context",
    ],
)  # fmt: skip
def test_a_graph_query_about_a_missing_intent_raises_not_found(store, query):
    with pytest.raises(errors.IntentNotFound):
        query(store)


# --- ready and blocked ------------------------------------------------------------------------

# id: (status, priority, created minute, parent, dependencies)
WORK = {
    "r1": ("active", 0, 5, None, []),
    "r2": ("active", 5, 9, None, []),
    "r3": ("active", 5, 1, None, []),
    "r4": ("active", 5, 1, None, []),
    "w": ("active", 1, 0, None, ["done"]),
    "t": ("active", -1, 0, None, []),  # done BLOCKS t
    "done": ("completed", 0, 0, None, []),
    "p": ("pending", 0, 0, None, []),
    "x": ("executing", 9, 0, None, []),
    "v": ("active", 3, 0, None, ["done", "r1", "p"]),
    "s": ("active", 2, 0, None, []),  # r1 BLOCKS s
    "u": ("active", 2, 3, None, ["ar"]),
    "h": ("suspended", 0, 0, None, []),
    "h1": ("active", 4, 0, "h", []),
    "h2": ("active", 4, 1, "h1", []),
    "hb": ("active", 4, 2, "h", ["r2"]),
    "hh": ("suspended", 0, 0, "h", []),
    "hh1": ("active", 1, 1, "hh", []),
    "f": ("failed", 0, 0, None, []),
    "f1": ("active", 0, 1, "f", []),
    "ar": ("archived", 0, 0, None, []),
    "ar1": ("active", 0, 2, "ar", []),
    "pp": ("pending", 0, 0, None, []),
    "pp1": ("active", 0, 2, "pp", []),
    "cc": ("completed", 0, 0, None, []),
    "cc1": ("active", 0, 5, "cc", []),
}


@pytest.fixture
def work(store):
    for intent_id, (status, priority, minute, _, _) in WORK.items():
        put(store, intent_id, status=status, priority=priority, created_at=at(minute))
    for intent_id, (_, _, _, parent, needs) in WORK.items():
        if parent:
            store.add_edge(intent_id, parent, E.IS_SUBGOAL_OF)
        for dep in needs:
            store.add_edge(intent_id, dep, E.DEPENDS_ON)
    store.add_edge("done", "t", E.BLOCKS)
    store.add_edge("r1", "s", E.BLOCKS)
    return store


READY = ["r3", "r4", "r2", "w", "pp1", "cc1", "r1", "t"]


def test_ready_lists_active_intents_with_completed_dependencies_and_free_ancestors(work):
    assert ids(work.ready()) == READY


def test_ready_honours_limit(work):
    assert ids(work.ready(limit=3)) == ["r3", "r4", "r2"]
    assert work.ready(limit=0) == []
    assert ids(work.ready(limit=100)) == READY


def test_ready_with_a_limit_follows_priorities_that_rise_and_fall_between_calls(store):
    for n, priority in enumerate((5, 5, 5, 1, 1, 1)):
        put(store, f"i{n}", priority=priority, created_at=at(n))
    assert ids(store.ready(limit=3)) == ["i0", "i1", "i2"]
    store.set_status("i0", S.COMPLETED)
    store.set_status("i1", S.COMPLETED)
    assert ids(store.ready(limit=3)) == ["i2", "i3", "i4"]
    store.patch("i5", priority=9)
    assert ids(store.ready(limit=3)) == ["i5", "i2", "i3"]
    store.patch("i2", priority=0)
    store.patch("i5", priority=1)
    assert ids(store.ready(limit=3)) == ["i3", "i4", "i5"]


def test_ready_of_an_empty_store_is_empty(store):
    assert store.ready() == []
    assert store.blocked() == []


def test_ready_follows_status_changes(work):
    work.claim("r1")
    work.set_status("r1", S.COMPLETED)
    work.set_status("h", S.ACTIVE)
    work.set_status("p", S.ACTIVE)
    # h and h1 are active now but wait for their subgoals (h2, and hb, hh, h1 for h)
    assert ids(work.ready()) == [
        "r3", "r4", "r2", "h2", "s", "w", "p", "pp1", "cc1", "t",
    ]  # fmt: skip


def test_blocked_lists_what_holds_each_actionable_intent(work):
    got = [
        (b.intent.id, ids(b.blocked_by), ids(b.subgoals), ids(b.held_by)) for b in work.blocked()
    ]
    assert got == [
        ("h1", [], ["h2"], ["h"]),
        ("h2", [], [], ["h"]),
        ("hb", ["r2"], [], ["h"]),
        ("v", ["p", "r1"], [], []),  # waits: pending and active work can still finish
        ("s", ["r1"], [], []),
        ("u", ["ar"], [], ["ar"]),  # an archived dependency never completes: held
        ("hh1", [], [], ["hh", "h"]),  # nearest first
        ("f1", [], [], ["f"]),
        ("ar1", [], [], ["ar"]),
    ]
    assert all(isinstance(b, ig.BlockedIntent) for b in work.blocked())
    assert [b.intent.id for b in work.blocked() if b.held] == [
        "h1",
        "h2",
        "hb",
        "u",
        "hh1",
        "f1",
        "ar1",
    ]


def test_ready_and_blocked_split_the_active_intents(work):
    active = {i.id for i in work.list(status="active")}
    ready = set(ids(work.ready()))
    blocked = {b.intent.id for b in work.blocked()}
    assert ready | blocked == active
    assert ready & blocked == set()


def test_cycles_is_empty_on_the_work_graph(work):
    assert work.cycles() == []


def test_intents_returned_by_graph_queries_are_copies(work):
    work.add_edge("w", "r1", E.CONFLICTS_WITH)
    returned = [
        *work.ready(),
        *[b.intent for b in work.blocked()],
        *[i for b in work.blocked() for i in (*b.blocked_by, *b.held_by)],
        *[n.intent for n in work.subtree("h")],
        *work.ancestors("hh1"),
        *work.children("h"),
        *work.dependencies("v", transitive=True),
        *work.dependents("r1", transitive=True),
        *work.conflicts("w"),
        *work.plan("h"),
        work.parent("h1"),
        work.context("v").focus,
        *work.context("v").dependencies,
    ]
    for intent in returned:
        intent.metadata["touched"] = True
        intent.goal = "mutated"
    assert work.list(text="mutated") == []
    assert all("touched" not in i.metadata for i in work.list())


# --- plan -------------------------------------------------------------------------------------
#
#   root: a (p0, t1), b (p5, t2), c (p0, t3); a: a1 (p0, t4), a2 (p9, t5)
#   c DEPENDS_ON a, a2 DEPENDS_ON b, a1 BLOCKS a2, b DEPENDS_ON ext (outside the subtree)


@pytest.fixture
def project(store):
    for intent_id, priority, minute in (
        ("root", 0, 0), ("a", 0, 1), ("b", 5, 2), ("c", 0, 3), ("a1", 0, 4), ("a2", 9, 5),
        ("ext", 0, 6),
    ):  # fmt: skip
        put(store, intent_id, priority=priority, created_at=at(minute))
    for child, parent in (("a", "root"), ("b", "root"), ("c", "root"), ("a1", "a"), ("a2", "a")):
        store.add_edge(child, parent, E.IS_SUBGOAL_OF)
    store.add_edge("c", "a", E.DEPENDS_ON)
    store.add_edge("a2", "b", E.DEPENDS_ON)
    store.add_edge("a1", "a2", E.BLOCKS)
    store.add_edge("b", "ext", E.DEPENDS_ON)
    return store


def test_plan_puts_dependencies_and_subgoals_first(project):
    # b waits for ext (outside the subtree, ordered but not listed), so a1 goes first
    assert ids(project.plan("root")) == ["a1", "b", "a2", "a", "c", "root"]


def test_plan_of_an_inner_node_covers_only_its_subtree(project):
    assert ids(project.plan("a")) == ["a1", "a2", "a"]


def test_plan_of_a_leaf_is_the_leaf(project):
    assert ids(project.plan("c")) == ["c"]


def test_plan_breaks_ties_on_priority_then_created_at_then_id(store):
    for intent_id, priority, minute in (
        ("top", 0, 0), ("x", 1, 3), ("y", 1, 2), ("z", 1, 2), ("w", 2, 9), ("v", 0, 0),
    ):  # fmt: skip
        put(store, intent_id, priority=priority, created_at=at(minute))
        if intent_id != "top":
            store.add_edge(intent_id, "top", E.IS_SUBGOAL_OF)
    assert ids(store.plan("top")) == ["w", "y", "z", "x", "v", "top"]


# --- context ----------------------------------------------------------------------------------
#
#   gg <- g <- p <- f (focus) <- c1, c2        (<- reads "is the parent of")
#   f -> d1 -> d2 -> d3                         (-> reads "depends on")
#   n2 -> n1 -> f
#   f conflicts with x and with p (p is already an ancestor)


@pytest.fixture
def hood(store):
    put(store, "f", name="Fokus — été", goal="reach the goal", priority=3)
    for intent_id in ("p", "g", "gg", "d2", "d3", "c1", "c2", "n1", "n2", "x"):
        put(store, intent_id)
    put(store, "d1", status=S.COMPLETED)
    for child, parent in (("f", "p"), ("p", "g"), ("g", "gg"), ("c1", "f"), ("c2", "f")):
        store.add_edge(child, parent, E.IS_SUBGOAL_OF)
    for a, b in (("f", "d1"), ("d1", "d2"), ("d2", "d3"), ("n1", "f"), ("n2", "n1")):
        store.add_edge(a, b, E.DEPENDS_ON)
    store.add_edge("f", "x", E.CONFLICTS_WITH)
    store.add_edge("p", "f", E.CONFLICTS_WITH)
    return store


def sections(ctx):
    return {
        "focus": ctx.focus.id,
        "ancestors": ids(ctx.ancestors),
        "dependencies": ids(ctx.dependencies),
        "children": ids(ctx.children),
        "dependents": ids(ctx.dependents),
        "conflicts": ids(ctx.conflicts),
        "truncated": ctx.truncated,
    }


def test_context_gathers_the_neighbourhood_within_two_hops_by_default(hood):
    assert sections(hood.context("f")) == {
        "focus": "f",
        "ancestors": ["p", "g"],
        "dependencies": ["d1", "d2"],
        "children": ["c1", "c2"],
        "dependents": ["n1", "n2"],
        "conflicts": ["x"],  # p is listed once, as an ancestor
        "truncated": False,
    }


def test_context_with_one_hop(hood):
    assert sections(hood.context("f", hops=1)) == {
        "focus": "f",
        "ancestors": ["p"],
        "dependencies": ["d1"],
        "children": ["c1", "c2"],
        "dependents": ["n1"],
        "conflicts": ["x"],
        "truncated": False,
    }


def test_context_with_three_hops_reaches_further(hood):
    got = sections(hood.context("f", hops=3))
    assert (got["ancestors"], got["dependencies"]) == (["p", "g", "gg"], ["d1", "d2", "d3"])


def test_context_counts_the_focus_in_max_nodes_and_flags_truncation(hood):
    assert sections(hood.context("f", max_nodes=10))["truncated"] is False
    assert sections(hood.context("f", max_nodes=9)) == {
        "focus": "f",
        "ancestors": ["p", "g"],
        "dependencies": ["d1", "d2"],
        "children": ["c1", "c2"],
        "dependents": ["n1", "n2"],
        "conflicts": [],
        "truncated": True,
    }
    assert sections(hood.context("f", max_nodes=4)) == {
        "focus": "f",
        "ancestors": ["p", "g"],
        "dependencies": ["d1"],
        "children": [],
        "dependents": [],
        "conflicts": [],
        "truncated": True,
    }
    assert sections(hood.context("f", max_nodes=1)) == {
        "focus": "f",
        "ancestors": [],
        "dependencies": [],
        "children": [],
        "dependents": [],
        "conflicts": [],
        "truncated": True,
    }


def test_context_of_an_isolated_intent_has_only_the_focus(store):
    put(store, "alone")
    assert sections(store.context("alone")) == {
        "focus": "alone",
        "ancestors": [],
        "dependencies": [],
        "children": [],
        "dependents": [],
        "conflicts": [],
        "truncated": False,
    }
    assert store.context("alone").to_text() == (
        "FOCUS\n- [active] intent alone (id=alone, priority=0)"
    )


def test_context_to_text_renders_one_line_per_intent(hood):
    assert hood.context("f", hops=1, max_nodes=4).to_text() == "\n".join(
        [
            "FOCUS",
            "- [active] Fokus — été (id=f, priority=3): reach the goal",
            "ANCESTORS (nearest first)",
            "- [active] intent p (id=p, priority=0)",
            "SUBGOALS",
            "- [active] intent c1 (id=c1, priority=0)",
            "DEPENDS ON",
            "- [completed] intent d1 (id=d1, priority=0)",
            "(neighbourhood truncated)",
        ]
    )


def test_context_to_text_names_every_section(hood):
    text = hood.context("f").to_text()
    for title in ("ANCESTORS (nearest first)", "SUBGOALS", "DEPENDS ON", "NEEDED BY"):
        assert title in text
    assert "CONFLICTS WITH\n- [active] intent x (id=x, priority=0)" in text
    assert "(neighbourhood truncated)" not in text


def test_context_to_json_holds_every_section(hood):
    raw = hood.context("f", hops=1).to_json()
    assert "Fokus — été" in raw  # not escaped
    doc = json.loads(raw)
    assert doc["focus"]["id"] == "f"
    assert doc["focus"]["goal"] == "reach the goal"
    assert [i["id"] for i in doc["ancestors"]] == ["p"]
    assert [i["id"] for i in doc["dependencies"]] == ["d1"]
    assert [i["id"] for i in doc["children"]] == ["c1", "c2"]
    assert [i["id"] for i in doc["dependents"]] == ["n1"]
    assert [i["id"] for i in doc["conflicts"]] == ["x"]
    assert doc["truncated"] is False
    assert doc["dependencies"][0]["status"] == "completed"


# --- stats ------------------------------------------------------------------------------------


def test_stats_of_an_empty_store(store):
    stats = store.stats()
    assert stats.intents == 0
    assert stats.by_status == {s.value: 0 for s in S}
    assert stats.edges == 0
    assert stats.by_edge_type == {t.value: 0 for t in E}
    assert stats.top_blockers == []
    assert stats.orphans == 0


def test_stats_counts_statuses_edges_blockers_and_orphans(store):
    statuses = {
        "a": "active", "b": "active", "c": "completed", "d": "pending", "e": "archived",
        "f": "active", "g": "active", "o": "active", "o2": "failed",
    }  # fmt: skip
    for intent_id, status in statuses.items():
        put(store, intent_id, status=status)
    store.add_edge("a", "b", E.DEPENDS_ON)
    store.add_edge("b", "c", E.DEPENDS_ON)
    store.add_edge("d", "a", E.BLOCKS)
    store.add_edge("a", "e", E.IS_SUBGOAL_OF)
    store.add_edge("d", "b", E.CONFLICTS_WITH)
    store.add_edge("f", "a", E.DEPENDS_ON)
    store.add_edge("g", "b", E.DEPENDS_ON)
    stats = store.stats()
    assert isinstance(stats, ig.GraphStats)
    assert stats.intents == 9
    assert stats.by_status == {
        "pending": 1, "active": 5, "executing": 0, "completed": 1, "failed": 1,
        "suspended": 0, "archived": 1,
    }  # fmt: skip
    assert stats.edges == 7
    assert stats.by_edge_type == {
        "IS_SUBGOAL_OF": 1, "DEPENDS_ON": 4, "BLOCKS": 1, "CONFLICTS_WITH": 1, "ENABLES": 0,
        "RELATED_TO": 0, "TRIGGERED_BY": 0,
    }  # fmt: skip
    # b holds up a, f, g; d holds up a, f; a holds up f; c is completed so it is no blocker.
    assert [tuple(t) for t in stats.top_blockers] == [("b", 3), ("d", 2), ("a", 1)]
    assert stats.orphans == 2


# --- claim ------------------------------------------------------------------------------------


def test_claim_moves_an_active_intent_to_executing(store):
    put(store, "job")
    claimed = store.claim("job")
    assert claimed.status is S.EXECUTING
    assert claimed.version == 2
    assert store.get("job").status is S.EXECUTING


def test_a_second_claim_raises_claim_conflict_and_changes_nothing(store):
    put(store, "job")
    store.claim("job")
    before = store.get("job")
    with pytest.raises(errors.ClaimConflict) as info:
        store.claim("job")
    assert (info.value.intent_id, info.value.expected, info.value.actual) == (
        "job",
        ["active"],
        "executing",
    )
    assert store.get("job") == before


def test_claim_accepts_several_expected_statuses_and_a_target_status(store):
    put(store, "job", status=S.PENDING)
    claimed = store.claim("job", expected_status=[S.PENDING, S.SUSPENDED], status=S.ACTIVE)
    assert claimed.status is S.ACTIVE


def test_claim_of_a_missing_intent_raises_not_found(store):
    with pytest.raises(errors.IntentNotFound):
        store.claim("ghost")


def test_claim_of_a_forbidden_transition_raises_invalid_transition(store):
    put(store, "job", status=S.COMPLETED)
    with pytest.raises(errors.InvalidTransition):
        store.claim("job", expected_status=S.COMPLETED, status=S.EXECUTING)
    assert store.get("job").status is S.COMPLETED
    assert store.get("job").version == 1


@pytest.mark.parametrize("options", [{"expected_status": "bogus"}, {"status": "bogus"}])
def test_claim_with_an_unknown_status_raises_an_intentgraph_error(store, options):
    put(store, "job")
    with pytest.raises(errors.IntentGraphError):
        store.claim("job", **options)
    assert store.get("job").status is S.ACTIVE


def test_claim_removes_the_intent_from_ready(store):
    put(store, "job")
    store.claim("job")
    assert store.ready() == []


def test_two_threads_racing_to_claim_the_same_intent_produce_exactly_one_winner(store):
    rounds = 50
    store.put_many([ig.Intent(id=f"job{n:02d}", name="job") for n in range(rounds)])
    for n in range(rounds):
        intent_id = f"job{n:02d}"
        barrier = threading.Barrier(2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def race(intent_id=intent_id, barrier=barrier, outcomes=outcomes, lock=lock):
            barrier.wait()
            try:
                store.claim(intent_id)
                outcome = "won"
            except errors.ClaimConflict:
                outcome = "lost"
            except Exception as exc:  # reported, so a wrong error fails the test
                outcome = f"error {type(exc).__name__}: {exc}"
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=race) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert sorted(outcomes) == ["lost", "won"], (intent_id, outcomes)
        assert store.get(intent_id).status is S.EXECUTING
        assert store.get(intent_id).version == 2
