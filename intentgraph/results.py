"""What the graph queries return: small frozen models, copies of what is stored."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from intentgraph.models import EdgeType, Intent, IntentStatus

__all__ = [
    "BlockedIntent",
    "Change",
    "ChangeBatch",
    "ChangeOp",
    "GraphStats",
    "Health",
    "IntegrityProblem",
    "IntentContext",
    "LoadResult",
    "TreeNode",
]


class TreeNode(BaseModel):
    """One intent of a subtree, with its depth below the root and its parent's id."""

    model_config = ConfigDict(frozen=True)

    intent: Intent
    depth: int
    parent_id: str | None


class BlockedIntent(BaseModel):
    """An intent that cannot run now, and why.

    Waiting (``held_by`` empty): it waits on unfinished work that can still finish. Held
    (``held_by`` not empty): something it needs is failed, suspended or archived, so it will
    not run until a person or the orchestrator steps in.
    """

    model_config = ConfigDict(frozen=True)

    intent: Intent
    blocked_by: list[Intent] = Field(
        default_factory=list, description="Direct dependencies that are not completed, by id."
    )
    subgoals: list[Intent] = Field(
        default_factory=list,
        description="Direct subgoals not yet completed or archived, by id: a parent waits "
        "for its subgoals.",
    )
    held_by: list[Intent] = Field(
        default_factory=list,
        description="The failed, suspended or archived intents that keep it from running, "
        "through ancestors, dependencies and subgoals at any distance; nearest first.",
    )
    lease_expired: bool = Field(
        default=False,
        description="An executing intent whose worker's lease ran out: its worker is "
        "presumed dead and reclaim_expired() will give it back.",
    )

    @property
    def held(self) -> bool:
        """True when it will not run without someone stepping in (``held_by`` not empty)."""
        return bool(self.held_by)


class IntentContext(BaseModel):
    """The bounded neighbourhood of an intent, for an LLM prompt."""

    model_config = ConfigDict(frozen=True)

    focus: Intent
    ancestors: list[Intent] = Field(default_factory=list)
    children: list[Intent] = Field(default_factory=list)
    dependencies: list[Intent] = Field(default_factory=list)
    dependents: list[Intent] = Field(default_factory=list)
    conflicts: list[Intent] = Field(default_factory=list)
    truncated: bool = False

    def to_text(self) -> str:
        """Render a compact plain-text summary, one line per intent."""

        def line(i: Intent) -> str:
            goal = f": {i.goal}" if i.goal else ""
            return f"- [{i.status}] {i.name} (id={i.id}, priority={i.priority}){goal}"

        out = ["FOCUS", line(self.focus)]
        for title, items in (
            ("ANCESTORS (nearest first)", self.ancestors),
            ("SUBGOALS", self.children),
            ("DEPENDS ON", self.dependencies),
            ("NEEDED BY", self.dependents),
            ("CONFLICTS WITH", self.conflicts),
        ):
            if items:
                out.append(title)
                out.extend(line(i) for i in items)
        if self.truncated:
            out.append("(neighbourhood truncated)")
        return "\n".join(out)

    def to_json(self) -> str:
        """Render the context as a JSON document."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)


class GraphStats(BaseModel):
    """Counts over the whole store."""

    model_config = ConfigDict(frozen=True)

    intents: int
    by_status: dict[str, int]
    edges: int
    by_edge_type: dict[str, int]
    top_blockers: list[tuple[str, int]] = Field(
        description="(id, transitive dependents) of unfinished intents, most first."
    )
    orphans: int = Field(description="Intents with no edge at all.")
    expired_leases: int = Field(
        default=0, description="Executing intents whose lease ran out (a worker died)."
    )


ChangeOp = Literal["put", "update", "delete", "add_edge", "remove_edge"]


class Change(BaseModel):
    """One change to a store, as the change feed reports it (see ``changes``)."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(description="Position in the store's change sequence (from 1).")
    op: ChangeOp
    intent_id: str = Field(description="The intent changed, or the edge's source.")
    target: str | None = Field(default=None, description="The edge's target (edges only).")
    type: EdgeType | None = Field(default=None, description="The edge's type (edges only).")
    status: IntentStatus | None = Field(
        default=None, description="The intent's status after the change (put, update)."
    )


class ChangeBatch(BaseModel):
    """What ``changes(since=...)`` returns."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(
        description="Where to go on from: the last change returned (``since`` when none); "
        "pass it as ``since`` next time."
    )
    latest: int = Field(description="The store's newest change when it was read.")
    changes: list[Change] = Field(description="The changes after ``since``, oldest first.")
    complete: bool = Field(
        description="False when changes after ``since`` are no longer kept: read again "
        "whatever you track, then go on from ``seq``."
    )


class Health(BaseModel):
    """What a store says about itself. Never contains credentials."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    backend: str
    url: str
    degraded: bool = False
    reason: str | None = None
    intents: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)


ProblemKind = Literal[
    "dangling_edge",
    "duplicate_edge",
    "self_loop",
    "reversed_edge",
    "multiple_parents",
    "subgoal_cycle",
    "dependency_cycle",
    "invalid_record",
    "invalid_status",
    "derived_state",
    "storage",
    "schema",
    "journal",
]
"""What kind of damage an ``IntegrityProblem`` reports (see ``check_integrity``)."""


class IntegrityProblem(BaseModel):
    """One way a store breaks its own rules, found by ``check_integrity``.

    ``repairable`` problems are in derived state only (indexes, counters, copied columns):
    ``rebuild_derived_state()`` fixes them without touching user data. The others need a
    person (or a restore from a backup).
    """

    model_config = ConfigDict(frozen=True)

    kind: ProblemKind
    message: str = Field(description="One line a person understands.")
    ids: list[str] = Field(
        default_factory=list, description="The intents involved (for a cycle, in order)."
    )
    repairable: bool = False


class LoadResult(BaseModel):
    """What ``bulk_load`` wrote."""

    model_config = ConfigDict(frozen=True)

    intents: int = Field(description="Intents written (new or replacing a stored one).")
    edges: int = Field(description="Edges written (new or replacing a stored one).")
    removed_intents: int = Field(default=0, description="Intents removed first (``replace``).")
    removed_edges: int = Field(default=0, description="Edges removed first (``replace``).")
    changes: int = Field(
        description="The change-feed position after the load (``changes().latest``)."
    )
