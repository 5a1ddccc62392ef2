"""One store shared by several threads: every write lands, reads never see a torn state."""

from __future__ import annotations

import threading

import intentgraph as ig
from intentgraph._base import StoreBase

THREADS = 4
EACH = 40


def test_threads_writing_at_once_all_land(store: StoreBase) -> None:
    store.put(ig.Intent(id="root", name="root"))
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for n in range(EACH):
                child = store.put(ig.Intent(id=f"t{t}-{n:03d}", name="child"))
                store.add_edge(child.id, "root", ig.EdgeType.IS_SUBGOAL_OF)
                if n:
                    store.add_edge(child.id, f"t{t}-{n - 1:03d}", ig.EdgeType.DEPENDS_ON)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count() == 1 + THREADS * EACH
    assert len(store.children("root")) == THREADS * EACH
    assert len(store.edges(type=ig.EdgeType.DEPENDS_ON)) == THREADS * (EACH - 1)
    # root waits for its subgoals; each chain's first link is ready
    assert sorted(i.id for i in store.ready()) == [f"t{t}-000" for t in range(THREADS)]


def test_a_reader_during_transactions_sees_all_or_nothing_of_each(store: StoreBase) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(store.count())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(30):
            with store.transaction():
                store.put(ig.Intent(id=f"p{n}-a", name="a"))
                store.put(ig.Intent(id=f"p{n}-b", name="b"))
    finally:
        stop.set()
        reader.join()
    assert store.count() == 60
    assert all(c % 2 == 0 for c in seen), "a reader saw half of a transaction"
