"""Commands to look at a store and to script it: show, list, tree, ready, blocked, deps,
dependents, plan, context, stats, add, link, set-status."""

from __future__ import annotations

import json
from typing import Any

import click

from intentgraph.cli._app import cli, options, state, store_option
from intentgraph.models import EdgeType, Intent, IntentStatus

STATUSES = [s.value for s in IntentStatus]
EDGE_TYPES = [t.value for t in EdgeType]


def _dump(intents: list[Intent]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in intents]


@cli.command()
@click.argument("intent_id", metavar="ID")
@store_option
@options
def show(intent_id: str) -> None:
    """Show one intent, its parent and its edges.

    Example: intentgraph show 01JD0Z3K4Y8Q --json
    """
    st = state()
    store = st.open()
    intent = store.get(intent_id)
    edges = store.edges(intent_id)
    parent = next(
        (x.target for x in edges if x.type is EdgeType.IS_SUBGOAL_OF and x.source == intent_id),
        None,
    )
    out = st.out

    def human() -> None:
        rows = [
            ["id", intent.id],
            ["name", intent.name],
            ["status", intent.status.value],
            ["priority", str(intent.priority)],
            ["parent", parent or "-"],
            ["version", str(intent.version)],
            ["created", intent.created_at.isoformat()],
            ["updated", intent.updated_at.isoformat()],
        ]
        if intent.goal:
            rows.insert(2, ["goal", intent.goal])
        if intent.lease is not None:
            rows.append(
                ["lease", f"{intent.lease.worker} until {intent.lease.expires_at.isoformat()}"]
            )
        if intent.reason:
            rows.append(["reason", intent.reason])
        for key in ("constraints", "preferences", "metadata"):
            value = getattr(intent, key)
            if value:
                rows.append([key, json.dumps(value, ensure_ascii=False)])
        out.table(["FIELD", "VALUE"], rows)
        if edges:
            out.line()
            out.table(
                ["SOURCE", "TYPE", "TARGET"], [[x.source, x.type.value, x.target] for x in edges]
            )

    out.result(
        {
            "intent": intent.model_dump(mode="json"),
            "parent": parent,
            "edges": [x.model_dump(mode="json") for x in edges],
        },
        human,
    )


@cli.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only these statuses (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N intents.")
@click.option("--text", default=None, help="Only intents whose name or goal contains TEXT.")
@store_option
@options
def list_(statuses: tuple[str, ...], limit: int | None, text: str | None) -> None:
    """List intents, oldest first.

    Example: intentgraph list --status active --status executing --limit 20
    """
    st = state()
    store = st.open()
    criteria: dict[str, Any] = {"limit": limit}
    if statuses:
        criteria["status"] = statuses
    if text:
        criteria["text"] = text
    found = store.list(**criteria)
    st.out.result(_dump(found), lambda: st.out.intents(found))


@cli.command()
@click.argument("intent_id", metavar="ID")
@click.option(
    "--depth", type=click.IntRange(min=0), default=None, help="At most N levels below ID."
)
@store_option
@options
def tree(intent_id: str, depth: int | None) -> None:
    """Show the subgoal tree under an intent.

    Example: intentgraph tree release --depth 2
    """
    st = state()
    nodes = st.open().subtree(intent_id, max_depth=depth)
    st.out.result(
        [
            {"depth": n.depth, "parent_id": n.parent_id, "intent": n.intent.model_dump(mode="json")}
            for n in nodes
        ],
        lambda: st.out.tree([(n.depth, n.intent) for n in nodes]),
    )


@cli.command()
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most N intents.")
@store_option
@options
def ready(limit: int | None) -> None:
    """List the intents that can run now, best first.

    Example: intentgraph ready --limit 5 --json
    """
    st = state()
    found = st.open().ready(limit=limit)
    st.out.result(_dump(found), lambda: st.out.intents(found))


@cli.command()
@store_option
@options
def blocked() -> None:
    """List the intents that cannot run, and what holds each.

    Example: intentgraph blocked
    """
    st = state()
    found = st.open().blocked()

    def ids(items: list[Intent]) -> list[str]:
        return [i.id for i in items]

    rows = []
    for b in found:
        why = []
        if b.held_by:
            why.append("held by " + ", ".join(ids(b.held_by)))
        if b.blocked_by:
            why.append("waits for " + ", ".join(ids(b.blocked_by)))
        if b.subgoals:
            why.append("subgoals " + ", ".join(ids(b.subgoals)))
        if b.lease_expired:
            why.append("lease expired")
        rows.append([b.intent.id, b.intent.status.value, b.intent.name, "; ".join(why)])
    st.out.result(
        [
            {
                "intent": b.intent.model_dump(mode="json"),
                "blocked_by": ids(b.blocked_by),
                "subgoals": ids(b.subgoals),
                "held_by": ids(b.held_by),
                "lease_expired": b.lease_expired,
            }
            for b in found
        ],
        lambda: st.out.table(["ID", "STATUS", "NAME", "WHY"], rows, status_col=1),
    )


def _reach_command(name: str, doc: str) -> None:
    @cli.command(name, help=doc)
    @click.argument("intent_id", metavar="ID")
    @click.option("--transitive", is_flag=True, help="Follow the chain to its end.")
    @store_option
    @options
    def command(intent_id: str, transitive: bool) -> None:
        st = state()
        store = st.open()
        query = store.dependencies if name == "deps" else store.dependents
        found = query(intent_id, transitive=transitive)
        st.out.result(_dump(found), lambda: st.out.intents(found))


_reach_command(
    "deps",
    "List what an intent depends on (what must complete first).\n\n"
    "Example: intentgraph deps deploy --transitive",
)
_reach_command(
    "dependents",
    "List the intents that depend on an intent.\n\nExample: intentgraph dependents build",
)


@cli.command()
@click.argument("intent_id", metavar="ID")
@store_option
@options
def plan(intent_id: str) -> None:
    """List the subtree of an intent in an order that can be executed.

    Example: intentgraph plan release
    """
    st = state()
    found = st.open().plan(intent_id)
    st.out.result(_dump(found), lambda: st.out.intents(found))


@cli.command()
@click.argument("intent_id", metavar="ID")
@click.option(
    "--hops", type=click.IntRange(min=0), default=2, show_default=True, help="How far to look."
)
@click.option(
    "--max-nodes",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="At most N intents.",
)
@store_option
@options
def context(intent_id: str, hops: int, max_nodes: int) -> None:
    """Print the neighbourhood of an intent, as text for an LLM prompt.

    Example: intentgraph context deploy --hops 1
    """
    st = state()
    found = st.open().context(intent_id, hops=hops, max_nodes=max_nodes)
    st.out.result(found.model_dump(mode="json"), lambda: st.out.line(found.to_text()))


@cli.command()
@store_option
@options
def stats() -> None:
    """Count intents by status and edges by type; name the top blockers.

    Example: intentgraph stats --json
    """
    st = state()
    found = st.open().stats()
    out = st.out

    def human() -> None:
        rows = [["intents", str(found.intents)]]
        rows += [[f"  {k}", str(v)] for k, v in found.by_status.items() if v]
        rows += [["edges", str(found.edges)]]
        rows += [[f"  {k}", str(v)] for k, v in found.by_edge_type.items() if v]
        rows += [["orphans", str(found.orphans)], ["expired leases", str(found.expired_leases)]]
        rows += [[f"blocker {i}", f"holds {n}"] for i, n in found.top_blockers]
        out.table(["WHAT", "COUNT"], rows)

    out.result(found.model_dump(mode="json"), human)


# --- scripting --------------------------------------------------------------------


def _json_object(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object")
    return parsed


@cli.command()
@click.argument("name")
@click.option("--id", "intent_id", default=None, help="The id (default: a new ULID).")
@click.option("--goal", default="", help="What must be achieved.")
@click.option("--priority", type=int, default=0, show_default=True, help="Higher runs first.")
@click.option("--status", type=click.Choice(STATUSES), default="active", show_default=True)
@click.option("--parent", default=None, metavar="ID", help="Make it a subgoal of ID.")
@click.option(
    "--depends-on", "depends_on", multiple=True, metavar="ID", help="It waits for ID (repeatable)."
)
@click.option("--metadata", callback=_json_object, default=None, help="A JSON object.")
@store_option
@options
def add(
    name: str,
    intent_id: str | None,
    goal: str,
    priority: int,
    status: str,
    parent: str | None,
    depends_on: tuple[str, ...],
    metadata: dict[str, Any] | None,
) -> None:
    """Add an intent (and its parent and dependency edges), in one transaction.

    Example: intentgraph add "write docs" --parent release --depends-on build --json
    """
    from intentgraph.errors import InvalidIntent

    st = state()
    store = st.open()
    fields: dict[str, Any] = {"name": name, "goal": goal, "priority": priority, "status": status}
    if intent_id is not None:
        fields["id"] = intent_id
    if metadata is not None:
        fields["metadata"] = metadata
    try:
        intent = Intent(**fields)
    except InvalidIntent as exc:
        raise click.UsageError(str(exc)) from None
    with store.transaction():
        stored = store.put(intent)
        if parent:
            store.add_edge(stored.id, parent, EdgeType.IS_SUBGOAL_OF)
        for dep in depends_on:
            store.add_edge(stored.id, dep, EdgeType.DEPENDS_ON)
    st.out.result(stored.model_dump(mode="json"), lambda: st.out.line(stored.id))


@cli.command()
@click.argument("source", metavar="SOURCE")
@click.argument("edge_type", metavar="TYPE", type=click.Choice(EDGE_TYPES, case_sensitive=False))
@click.argument("target", metavar="TARGET")
@click.option("--weight", type=float, default=None, help="An optional weight.")
@store_option
@options
def link(source: str, edge_type: str, target: str, weight: float | None) -> None:
    """Add the edge SOURCE -TYPE-> TARGET (or update its weight).

    Example: intentgraph link deploy DEPENDS_ON build
    """
    st = state()
    edge = st.open().add_edge(source, target, EdgeType(edge_type.upper()), weight=weight)
    st.out.result(
        edge.model_dump(mode="json"),
        lambda: st.out.line(f"{edge.source} -{edge.type.value}-> {edge.target}"),
    )


@cli.command("set-status")
@click.argument("intent_id", metavar="ID")
@click.argument("status", type=click.Choice(STATUSES))
@click.option("--reason", default=None, help="Why (kept with the intent).")
@click.option("--expected-version", type=int, default=None, help="Refuse if it changed since.")
@store_option
@options
def set_status(
    intent_id: str, status: str, reason: str | None, expected_version: int | None
) -> None:
    """Move an intent to another status.

    Example: intentgraph set-status build completed
    """
    st = state()
    stored = st.open().set_status(
        intent_id, IntentStatus(status), reason=reason, expected_version=expected_version
    )
    st.out.result(
        stored.model_dump(mode="json"),
        lambda: st.out.line(f"{stored.id} {stored.status.value} (version {stored.version})"),
    )
