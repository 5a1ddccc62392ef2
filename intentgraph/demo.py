"""A short demo: an orchestrator persists a goal tree, dies, and a new process reads it back.

Run ``python -m intentgraph.demo [URL]``; the store defaults to ``$INTENTGRAPH_URL``, else
``sqlite:///./intentgraph.db``. Each run adds one goal tree under a fresh session id.
"""

from __future__ import annotations

import os
import subprocess
import sys

import intentgraph as ig
from intentgraph.models import new_id

S = ig.IntentStatus
E = ig.EdgeType


def orchestrate(url: str | None, session: str) -> None:
    """Phase 1: create a goal tree, move some statuses, then die without closing."""
    store = ig.open_store(url)
    print(f"[orchestrator pid {os.getpid()}] writing to {store.url}")

    def goal(name: str, text: str, priority: int = 0) -> ig.Intent:
        return store.put(ig.Intent(name=name, goal=text, priority=priority, session_id=session))

    with store.transaction():
        launch = goal("launch", "Launch version 1 of the product", priority=5)
        docs = goal("docs", "Write the user documentation", priority=2)
        build = goal("build", "Build the release artefacts", priority=3)
        tests = goal("tests", "Run the full test suite", priority=3)
        tag = goal("tag", "Tag the release in git", priority=1)
        publish = goal("publish", "Publish the packages", priority=4)
        for child, parent in (
            (docs, launch),
            (build, launch),
            (publish, launch),
            (tests, build),
            (tag, build),
        ):
            store.add_edge(child.id, parent.id, E.IS_SUBGOAL_OF)
        store.add_edge(tag.id, tests.id, E.DEPENDS_ON)
        store.add_edge(publish.id, build.id, E.DEPENDS_ON)
        store.add_edge(publish.id, docs.id, E.DEPENDS_ON)
    store.claim(tests.id)  # a worker takes the tests...
    store.set_status(tests.id, S.COMPLETED)  # ...and finishes them
    store.claim(docs.id)  # another worker is writing the docs when the crash comes
    print(f"[orchestrator] stored {store.count(session_id=session)} goals; crashing now")
    sys.stdout.flush()
    os._exit(0)  # no close(), no cleanup: what was acknowledged must survive


def recover(url: str | None, session: str) -> None:
    """Phase 2: a fresh process opens the store and reads the goals back."""
    with ig.open_store(url) as store:
        print(f"[recovery pid {os.getpid()}] reopened {store.url}")
        (root,) = store.list(session_id=session, text="launch version 1")
        print("\ngoal tree:")
        nodes = store.subtree(root.id)
        kids: dict[str | None, list[ig.TreeNode]] = {}
        for node in nodes:
            kids.setdefault(node.parent_id, []).append(node)

        def show(node: ig.TreeNode) -> None:
            i = node.intent
            print(f"  {'  ' * node.depth}- {i.name} [{i.status}] p{i.priority}: {i.goal}")
            for child in kids.get(i.id, []):
                show(child)

        show(nodes[0])
        print(
            "\nready to run now:",
            ", ".join(i.name for i in store.ready() if i.session_id == session) or "nothing",
        )
        for b in store.blocked():
            if b.intent.session_id == session:
                # What holds it: its dependencies, its unfinished subgoals, a held ancestor.
                holders = [*b.blocked_by, *b.subgoals, *b.held_by]
                waits = ", ".join(f"{d.name} ({d.status})" for d in holders)
                print(f"blocked: {b.intent.name} waits for {waits}")
        print("execution plan:", " -> ".join(i.name for i in store.plan(root.id)))
        print(f"\nhealth: ok={store.health().ok} backend={store.backend}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]):
        print("usage: python -m intentgraph.demo [STORE_URL]  (default: ./intentgraph.db)")
        return 0
    if len(args) >= 2 and args[0] in ("--orchestrate", "--recover"):
        session, url = args[1], (args[2] if len(args) > 2 else None)
        (orchestrate if args[0] == "--orchestrate" else recover)(url, session)
        return 0
    session = new_id()
    extra = args[:1]
    me = [sys.executable, "-m", "intentgraph.demo"]
    first = subprocess.run([*me, "--orchestrate", session, *extra], check=False)
    if first.returncode != 0:
        return first.returncode
    print("\n... the orchestrator process is gone; starting a new one ...\n")
    return subprocess.run([*me, "--recover", session, *extra], check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
