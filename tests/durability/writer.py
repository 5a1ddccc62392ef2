"""A worker run as a subprocess by the durability tests.

``python writer.py URL write N``  puts N intents (and edges, status changes), printing
``ack <what>`` after each call returned; ``transactions N`` writes N transactions of two
intents and an edge; ``python writer.py URL dump`` prints the store.
"""

from __future__ import annotations

import json
import sys

import intentgraph as ig


def write(url: str, count: int) -> None:
    with ig.open_store(url) as store:
        previous = None
        for n in range(count):
            intent = store.put(ig.Intent(id=f"w{n:06d}", name=f"task {n}", metadata={"n": n}))
            print(f"ack put {intent.id}", flush=True)
            if previous is not None:
                store.add_edge(intent.id, previous, ig.EdgeType.DEPENDS_ON)
                print(f"ack edge {intent.id} {previous}", flush=True)
            if n % 3 == 0:
                store.set_status(intent.id, ig.IntentStatus.EXECUTING)
                print(f"ack status {intent.id} executing", flush=True)
            previous = intent.id


def write_transactions(url: str, count: int) -> None:
    """Each round is one transaction of two intents and an edge: all of it lands or none."""
    with ig.open_store(url) as store:
        for n in range(count):
            with store.transaction():
                a = store.put(ig.Intent(id=f"a{n:06d}", name="first half"))
                b = store.put(ig.Intent(id=f"b{n:06d}", name="second half"))
                store.add_edge(b.id, a.id, ig.EdgeType.DEPENDS_ON)
            print(f"ack txn {n}", flush=True)


def dump(url: str) -> None:
    with ig.open_store(url) as store:
        out = {
            "intents": [i.model_dump(mode="json") for i in store.list(order_by="id")],
            "edges": [e.model_dump(mode="json") for e in store.edges()],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    target, command = sys.argv[1], sys.argv[2]
    if command == "write":
        write(target, int(sys.argv[3]))
    elif command == "transactions":
        write_transactions(target, int(sys.argv[3]))
    else:
        dump(target)
