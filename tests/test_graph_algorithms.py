"""The graph algorithms of ``intentgraph._graph`` against each other and a brute force."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from intentgraph._graph import find_cycle, find_parent_cycle

NODES = [f"n{k}" for k in range(8)]

# child -> {parent: edge}: mostly one parent each, sometimes none or two (a damaged store).
parent_maps = st.dictionaries(
    st.sampled_from(NODES),
    st.dictionaries(st.sampled_from(NODES), st.none(), min_size=0, max_size=2),
    max_size=len(NODES),
)


def reaches_itself(parents: dict[str, dict[str, None]]) -> bool:
    """Brute force: does any node reach itself through parent links?"""
    for start in parents:
        seen: set[str] = set()
        layer = set(parents[start])
        while layer:
            if start in layer:
                return True
            seen |= layer
            layer = {p for node in layer for p in parents.get(node, {})} - seen
    return False


@settings(max_examples=400)
@given(parents=parent_maps)
def test_the_parent_walk_finds_what_the_general_search_finds(
    parents: dict[str, dict[str, None]],
) -> None:
    got = find_parent_cycle(parents)
    assert got == find_cycle(parents)
    assert (got is not None) == reaches_itself(parents)
    # Given the same edges the other way, a forest is confirmed going down: the same answer.
    assert find_parent_cycle(parents, children_of(parents)) == got


def children_of(parents: dict[str, dict[str, None]]) -> dict[str, dict[str, None]]:
    """The same edges the other way, as the memory store keeps them (no empty entries)."""
    children: dict[str, dict[str, None]] = {}
    for child, ups in parents.items():
        for parent in ups:
            children.setdefault(parent, {})[child] = None
    return children


def test_a_long_chain_and_a_loop_at_its_end() -> None:
    chain = {f"c{k}": {f"c{k + 1}": None} for k in range(10_000)}
    assert find_parent_cycle(chain) is None
    chain["c10000"] = {"c5000": None}
    cycle = find_parent_cycle(chain)
    assert cycle is not None and len(cycle) == 5001 and cycle[0] == "c10000"


def test_a_forest_is_confirmed_going_down_and_a_loop_below_it_is_still_found() -> None:
    # Five trees with fan-out 4 (the benchmark's shape), then a loop hung under a leaf.
    parents = {f"t{k}": {f"t{(k - 1) // 4}": None} for k in range(1, 20_000)}
    assert find_parent_cycle(parents, children_of(parents)) is None
    parents["x0"], parents["x1"] = {"x1": None}, {"x0": None}
    parents["t19999"] = {"x0": None}  # x0 <-> x1, and a subtree below them
    got = find_parent_cycle(parents, children_of(parents))
    assert got == find_cycle(parents) == ["x0", "x1"]
