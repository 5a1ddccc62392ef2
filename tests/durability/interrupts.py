"""Tools to interrupt a write at a chosen point: a tracing hook that raises at the n-th line
or call in intentgraph's own code, and wrappers that make an OS or sqlite3 call raise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import intentgraph as ig
from intentgraph._base import StoreBase


class Interrupt(BaseException):
    """Not an Exception: stands for anything a handler for Exception would not catch."""


class Injector:
    """Raise ``exc`` at the n-th line or call event in intentgraph's modules, once."""

    def __init__(self, n: int, exc: type[BaseException]) -> None:
        self.n = n
        self.exc = exc
        self.count = 0
        self.fired = False

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        if not str(frame.f_globals.get("__name__", "")).startswith("intentgraph"):
            return None
        return self._local(frame, event, arg)

    def _local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event in ("line", "call") and not self.fired:
            self.count += 1
            if self.count == self.n:
                self.fired = True
                raise self.exc(f"injected at event {self.n}")
        return self._local

    @contextmanager
    def armed(self) -> Iterator[None]:
        previous = sys.gettrace()
        sys.settrace(self._global)
        try:
            yield
        finally:
            sys.settrace(previous)


T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A store clock the test moves by hand, so every run stamps the same times."""

    def __init__(self) -> None:
        self.now = T

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def seed(store: StoreBase) -> None:
    """A small graph every interrupted write starts from; a fresh clock, stopped at T.

    a is the root; b DEPENDS_ON a; c IS_SUBGOAL_OF a. Ready: c (a waits for it).
    """
    store.clock = Clock()
    store.put_many(
        [
            ig.Intent(id="a", name="a", created_at=T, updated_at=T),
            ig.Intent(id="b", name="b", created_at=T, updated_at=T, metadata={"n": 1}),
            ig.Intent(id="c", name="c", created_at=T, updated_at=T),
        ]
    )
    store.add_edge("b", "a", ig.EdgeType.DEPENDS_ON)
    store.add_edge("c", "a", ig.EdgeType.IS_SUBGOAL_OF)


def _transaction(store: StoreBase) -> None:
    with store.transaction():
        store.put(ig.Intent(id="x", name="x", created_at=T, updated_at=T))
        store.add_edge("x", "a", ig.EdgeType.DEPENDS_ON)
        store.set_status("a", ig.IntentStatus.COMPLETED)


def _nested(store: StoreBase) -> None:
    with store.transaction():
        store.put(ig.Intent(id="x", name="x", created_at=T, updated_at=T))
        try:
            with store.transaction():
                store.put(ig.Intent(id="y", name="y", created_at=T, updated_at=T))
                raise ValueError("inner block fails")
        except ValueError:
            pass
        store.add_edge("x", "c", ig.EdgeType.CONFLICTS_WITH)


def _update(store: StoreBase) -> None:
    b = store.get("b")
    b.metadata["n"] = 2
    store.update(b)


def _claimed_then(then: str) -> Callable[[StoreBase], None]:
    def write(store: StoreBase) -> None:
        with store.transaction():
            store.claim("c", worker="w", lease=60)
            if then == "heartbeat":
                store.heartbeat("c", "w", lease=120)
            elif then == "release":
                store.release("c", "w", status=ig.IntentStatus.FAILED, reason="it broke")
            else:
                store.clock.advance(61)  # type: ignore[union-attr]
                store.reclaim_expired()

    return write


WRITES: dict[str, Callable[[StoreBase], None]] = {
    "put": lambda s: s.put(ig.Intent(id="n", name="new", created_at=T, updated_at=T)),
    "put_many": lambda s: s.put_many(
        [ig.Intent(id=i, name=i, created_at=T, updated_at=T) for i in ("m1", "m2")]
    ),
    "update": _update,
    "set_status": lambda s: s.set_status("a", ig.IntentStatus.COMPLETED),
    "claim": lambda s: s.claim("c", worker="w"),
    "claim_next": lambda s: s.claim_next(worker="w", lease=30),
    "heartbeat": _claimed_then("heartbeat"),
    "release": _claimed_then("release"),
    "reclaim": _claimed_then("reclaim"),
    "patch": lambda s: s.patch("b", metadata={"n": 3}, priority=2),
    "delete": lambda s: s.delete("a"),
    "add_edge": lambda s: s.add_edge("c", "b", ig.EdgeType.DEPENDS_ON),
    "remove_edge": lambda s: s.remove_edge("b", "a", ig.EdgeType.DEPENDS_ON),
    "transaction": _transaction,
    "nested": _nested,
}


def state(store: StoreBase) -> tuple[Any, ...]:
    """Everything a caller can read that a write may change, without wall-clock times."""
    intents = []
    for intent in store.list(order_by="id"):
        data = intent.model_dump(mode="json")
        del data["updated_at"]
        intents.append(data)
    edges = []
    for edge in store.edges():
        data = edge.model_dump(mode="json")
        del data["created_at"]
        edges.append(data)
    ready = [i.id for i in store.ready()]
    blocked = [(b.intent.id, [d.id for d in b.blocked_by]) for b in store.blocked()]
    return (intents, edges, ready, blocked)
