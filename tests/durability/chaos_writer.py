"""A writer whose writes keep being interrupted, run as a subprocess until it is killed.

    python -m tests.durability.chaos_writer URL MODE SEED [SPAN]

MODE ``inject`` raises KeyboardInterrupt at a random line or call of a write (a tracing
hook), among its first SPAN (400; a graph-server write runs a few thousand); MODE ``alarm``
arms a real interval timer (0 to 2 ms, times SPAN / 400) whose SIGALRM handler raises
TimeoutError, wherever the process happens to be. After every write that returned, the writer prints
``ack <id>`` (and flushes): the parent SIGKILLs it at some point and checks that every
acknowledged write survived.
"""

from __future__ import annotations

import random
import signal
import sys
from collections.abc import Callable
from typing import Any

import intentgraph as ig
from intentgraph._base import StoreBase
from tests.durability.interrupts import Injector


def writes(store: StoreBase, run: int, k: int) -> list[tuple[str, Callable[[], Any]]]:
    """The writes of round ``k`` of run ``run``, each with what it acknowledges (``kind:k``).

    ``p`` puts ``{run}p{k}``; ``t`` puts ``{run}t{k}`` and, in the same transaction, makes it
    depend on ``{run}p{k-1}`` if that exists; ``s`` suspends ``{run}p{k-1}``; ``e`` makes
    ``{run}p{k-1}`` a subgoal of ``root``.
    """
    prev = f"{run}p{k - 1}"
    have_prev = store.exists(prev)

    def chain() -> None:
        with store.transaction():
            store.put(ig.Intent(id=f"{run}t{k}", name="in a transaction"))
            if have_prev:
                store.add_edge(f"{run}t{k}", prev, ig.EdgeType.DEPENDS_ON)

    def put() -> None:
        store.put(ig.Intent(id=f"{run}p{k}", name="put", metadata={"k": k}))

    out: list[tuple[str, Callable[[], Any]]] = [(f"p:{k}", put), (f"t:{k}", chain)]
    if have_prev:
        out.append((f"s:{k}", lambda: store.set_status(prev, ig.IntentStatus.SUSPENDED)))
        out.append((f"e:{k}", lambda: store.add_edge(prev, "root", ig.EdgeType.IS_SUBGOAL_OF)))
    return out


def main() -> None:
    url, mode, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    span = int(sys.argv[4]) if len(sys.argv) > 4 else 1200
    rng = random.Random(seed)
    store = ig.open_store(url)
    if not store.exists("root"):
        store.put(ig.Intent(id="root", name="root"))

    # Only while a write runs: a timer that expired just before it was disarmed delivers
    # its signal a moment later, and raised in the middle of ``print`` it tore an ``ack``
    # line (the test read "ack" alone, or two acks run together).
    writing = False

    def on_alarm(signum: int, frame: object) -> None:
        if writing:
            raise TimeoutError("alarm")

    signal.signal(signal.SIGALRM, on_alarm)
    k = 0
    while True:
        k += 1
        for ack, write in writes(store, seed, k):
            try:
                if mode == "inject":
                    # An embedded write runs some 350-700 traced events: about half are cut
                    # short; a graph-server write runs more (the test passes its span).
                    with Injector(rng.randint(1, span), KeyboardInterrupt).armed():
                        write()
                else:
                    # A graph-server write takes milliseconds: a longer window there.
                    window = 0.002 if span <= 1200 else 0.002 * span / 400
                    writing = True
                    signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.00001, window))
                    try:
                        write()
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                        writing = False
            except (KeyboardInterrupt, TimeoutError, ig.errors.IntentGraphError):
                continue  # not acknowledged
            print("ack", ack, flush=True)


if __name__ == "__main__":
    main()
