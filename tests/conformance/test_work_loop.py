"""The work loop on every backend: claims with leases, claim_next, heartbeats, releases,
reclaiming dead workers' claims, fencing, partial updates, and subgoals holding their
parent. Time is the store's clock, moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import intentgraph as ig
from intentgraph import errors
from intentgraph._base import StoreBase
from intentgraph._workloop import default_worker

from ._support import ids, put, reopen

S, E = ig.IntentStatus, ig.EdgeType
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(store: StoreBase) -> Clock:
    store.clock = clock = Clock()
    return clock


# --- claim ----------------------------------------------------------------------------------


def test_claim_records_the_worker_and_a_lease(store: StoreBase, clock: Clock) -> None:
    put(store, "job")
    job = store.claim("job", worker="w1", lease=90)
    assert job.status is S.EXECUTING
    assert job.lease == ig.Lease(
        worker="w1", token=1, claimed_at=T0, expires_at=T0 + timedelta(seconds=90), seconds=90
    )
    assert job.attempts == 1
    assert store.get("job") == job


def test_a_claim_without_a_worker_names_this_process(store: StoreBase, clock: Clock) -> None:
    put(store, "job")
    assert store.claim("job").lease.worker == default_worker()  # type: ignore[union-attr]


def test_claim_refuses_an_intent_that_is_not_ready_and_names_why(
    store: StoreBase, clock: Clock
) -> None:
    for name in ("parent", "child", "dep", "job", "held", "under"):
        put(store, name)
    store.add_edge("child", "parent", E.IS_SUBGOAL_OF)
    store.add_edge("job", "dep", E.DEPENDS_ON)
    store.add_edge("under", "held", E.IS_SUBGOAL_OF)
    store.set_status("held", S.SUSPENDED)
    with pytest.raises(errors.IntentNotReady) as waits:
        store.claim("job", worker="w")
    assert (waits.value.blocked_by, waits.value.subgoals, waits.value.held_by) == (
        ["dep"],
        [],
        [],
    )
    with pytest.raises(errors.ClaimConflict) as parent:  # IntentNotReady is a ClaimConflict
        store.claim("parent", worker="w")
    assert parent.value.subgoals == ["child"]  # type: ignore[attr-defined]
    with pytest.raises(errors.IntentNotReady) as under:
        store.claim("under", worker="w")
    assert under.value.held_by == ["held"]
    assert [i.status for i in store.get_many(["job", "parent", "under"])] == [S.ACTIVE] * 3


@pytest.mark.parametrize("lease", [0, -1, float("nan"), float("inf"), True, "60"])
def test_a_bad_lease_length_is_refused(store: StoreBase, clock: Clock, lease: object) -> None:
    put(store, "job")
    with pytest.raises(errors.InvalidIntent):
        store.claim("job", worker="w", lease=lease)  # type: ignore[arg-type]
    assert store.get("job").status is S.ACTIVE


@pytest.mark.parametrize("worker", ["", "two words", "x" * 201, "tab\tbed", 7])
def test_a_bad_worker_name_is_refused(store: StoreBase, clock: Clock, worker: object) -> None:
    put(store, "job")
    with pytest.raises(errors.InvalidIntent):
        store.claim_next(worker=worker)  # type: ignore[arg-type]
    assert store.get("job").status is S.ACTIVE


def test_a_claim_that_does_not_end_in_executing_records_no_lease(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "job", status=S.PENDING)
    job = store.claim("job", expected_status=S.PENDING, status=S.ACTIVE)
    assert (job.status, job.lease, job.attempts) == (S.ACTIVE, None, 0)


# --- claim_next -------------------------------------------------------------------------------


def test_claim_next_takes_ready_intents_in_ready_order_then_none(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "low", priority=1)
    put(store, "high", priority=9)
    put(store, "waits", priority=20)
    store.add_edge("waits", "low", E.DEPENDS_ON)
    assert store.claim_next(worker="w").id == "high"  # type: ignore[union-attr]
    assert store.claim_next(worker="w").id == "low"  # type: ignore[union-attr]
    assert store.claim_next(worker="w") is None  # waits waits for low
    store.release("low", "w")
    assert store.claim_next(worker="w").id == "waits"  # type: ignore[union-attr]


def test_claim_next_narrows_the_choice_with_filter_criteria(store: StoreBase, clock: Clock) -> None:
    put(store, "a", priority=5, session_id="s1", metadata={"kind": "web"})
    put(store, "b", priority=3, session_id="s2", metadata={"kind": "db"})
    put(store, "c", priority=1, session_id="s2", metadata={"kind": "web"})
    assert store.claim_next(worker="w", session_id="s2").id == "b"  # type: ignore[union-attr]
    flt = ig.IntentFilter(metadata={"kind": "web"})
    assert store.claim_next(worker="w", filter=flt, priority_max=2).id == "c"  # type: ignore[union-attr]
    assert store.claim_next(worker="w", text="nothing matches this") is None


@pytest.mark.parametrize(
    "criteria",
    [{"status": "active"}, {"order_by": "name"}, {"limit": 3}, {"offset": 1}, {"bogus": 1}],
)
def test_claim_next_refuses_criteria_that_cannot_narrow_ready_intents(
    store: StoreBase, clock: Clock, criteria: dict[str, object]
) -> None:
    put(store, "a")
    with pytest.raises(errors.InvalidFilter):
        store.claim_next(worker="w", **criteria)  # type: ignore[arg-type]
    assert store.get("a").status is S.ACTIVE


# --- heartbeat and release --------------------------------------------------------------------


def test_heartbeat_extends_the_lease_from_now(store: StoreBase, clock: Clock) -> None:
    put(store, "job")
    store.claim("job", worker="w", lease=30)
    clock.advance(20)
    job = store.heartbeat("job", "w")
    assert job.lease.expires_at == T0 + timedelta(seconds=50)  # type: ignore[union-attr]
    clock.advance(40)  # ran out, but nobody took it back: still the worker's
    job = store.heartbeat("job", "w", lease=120, token=1)
    lease = job.lease
    assert lease is not None
    assert (lease.expires_at, lease.seconds, lease.token) == (
        clock.now + timedelta(seconds=120),
        120,
        1,
    )


@pytest.mark.parametrize("call", ["heartbeat", "release"])
def test_heartbeat_and_release_by_another_worker_or_claim_raise_lease_lost(
    store: StoreBase, clock: Clock, call: str
) -> None:
    put(store, "job")
    put(store, "idle")
    store.claim("job", worker="w1")
    before = store.get("job")
    for worker, token, intent_id in (("w2", None, "job"), ("w1", 2, "job"), ("w1", None, "idle")):
        with pytest.raises(errors.LeaseLost) as lost:
            getattr(store, call)(intent_id, worker, token=token)
        assert lost.value.worker == worker
        assert lost.value.holder == ("w1" if intent_id == "job" else None)
    assert store.get("job") == before


def test_release_ends_the_claim_with_a_status_and_a_reason(store: StoreBase, clock: Clock) -> None:
    put(store, "ok")
    put(store, "bad")
    put(store, "back")
    for name in ("ok", "bad", "back"):
        store.claim(name, worker="w")
    done = store.release("ok", "w")
    failed = store.release("bad", "w", status=S.FAILED, reason="quota exhausted")
    back = store.release("back", "w", status=S.ACTIVE)
    assert (done.status, done.lease, done.reason) == (S.COMPLETED, None, None)
    assert (failed.status, failed.lease, failed.reason) == (S.FAILED, None, "quota exhausted")
    assert (back.status, back.attempts) == (S.ACTIVE, 1)
    assert ids(store.ready()) == ["back"]
    with pytest.raises(errors.LeaseLost):
        store.release("ok", "w")  # released already
    store.claim("back", worker="w")
    with pytest.raises(errors.InvalidTransition):
        store.release("back", "w", status=S.PENDING)
    assert store.get("back").lease is not None


# --- dead workers -------------------------------------------------------------------------------


def test_an_expired_lease_is_taken_back_with_the_reason(store: StoreBase, clock: Clock) -> None:
    put(store, "job")
    put(store, "fresh")
    store.claim("job", worker="dead", lease=10)
    store.claim("fresh", worker="alive", lease=100)
    clock.advance(9)
    assert store.reclaim_expired() == []
    clock.advance(1)  # the lease runs out exactly now
    (back,) = store.reclaim_expired()
    assert (back.id, back.status, back.lease, back.attempts) == ("job", S.ACTIVE, None, 1)
    assert back.reason is not None and "'dead'" in back.reason
    assert store.get("fresh").status is S.EXECUTING


def test_an_intent_whose_workers_keep_dying_fails_after_max_attempts(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "poison")
    store.max_attempts = 3
    for attempt in (1, 2, 3):
        job = store.claim_next(worker=f"w{attempt}", lease=5)
        assert job is not None and job.attempts == attempt
        clock.advance(6)
        (back,) = store.reclaim_expired()
    assert back.status is S.FAILED
    assert back.reason is not None and "3 times" in back.reason
    assert store.claim_next(worker="w4") is None


def test_max_attempts_none_or_zero_means_no_limit(store: StoreBase, clock: Clock) -> None:
    put(store, "job")
    store.max_attempts = None
    for _ in range(7):
        store.claim("job", worker="w", lease=1)
        clock.advance(2)
        (back,) = store.reclaim_expired(max_attempts=0 if _ % 2 else None)
        assert back.status is S.ACTIVE
    assert store.get("job").attempts == 7


def test_a_stale_worker_is_fenced_off_and_its_successor_result_stands(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "job")
    first = store.claim_next(worker="alpha", lease=30)
    assert first is not None and first.lease is not None
    clock.advance(31)
    second = store.claim_next(worker="alpha", lease=30)  # the same name, restarted
    assert second is not None and second.lease is not None and second.lease.token == 2
    store.release("job", "alpha", token=second.lease.token, reason="the successor's result")
    with pytest.raises(errors.LeaseLost):
        store.release("job", "alpha", token=first.lease.token, status=S.FAILED)
    assert (store.get("job").status, store.get("job").reason) == (
        S.COMPLETED,
        "the successor's result",
    )


def test_blocked_and_stats_show_executing_intents_whose_lease_ran_out(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "job")
    store.claim("job", worker="w", lease=10)
    assert store.blocked() == [] and store.stats().expired_leases == 0
    clock.advance(11)
    (stale,) = store.blocked()
    assert (stale.intent.id, stale.lease_expired, stale.held) == ("job", True, False)
    assert store.stats().expired_leases == 1


def test_a_lease_survives_a_reopen(store: StoreBase, store_url: str, clock: Clock) -> None:
    if store.backend == "memory":
        pytest.skip("a memory store does not persist")
    put(store, "job")
    claimed = store.claim("job", worker="w", lease=10)
    store = reopen(store, store_url)
    store.clock = clock
    try:
        assert store.get("job") == claimed
        clock.advance(11)
        assert ids(store.reclaim_expired()) == ["job"]
    finally:
        store.close()


# --- patch, update and the claim fields ------------------------------------------------------


def test_patch_changes_only_the_given_fields(store: StoreBase, clock: Clock) -> None:
    hour_ago = T0 - timedelta(hours=1)
    put(store, "job", goal="old goal", metadata={"a": 1}, priority=2, updated_at=hour_ago)
    job = store.patch("job", metadata={"b": 2}, reason="noted")
    assert (job.goal, job.metadata, job.priority, job.reason) == ("old goal", {"b": 2}, 2, "noted")
    assert (job.version, job.updated_at) == (2, T0)
    with pytest.raises(errors.VersionConflict):
        store.patch("job", expected_version=1, priority=5)
    assert store.patch("job", expected_version=2, priority=5).priority == 5


@pytest.mark.parametrize(
    "fields",
    [
        {"lease": None},
        {"attempts": 0},
        {"version": 9},
        {"id": "other"},
        {"bogus": 1},
        {"priority": "x"},
    ],
)
def test_patch_refuses_fields_the_store_keeps_or_does_not_know(
    store: StoreBase, clock: Clock, fields: dict[str, object]
) -> None:
    put(store, "job")
    before = store.get("job")
    with pytest.raises(errors.InvalidIntent):
        store.patch("job", **fields)
    assert store.get("job") == before


def test_patch_cannot_undo_a_claim_but_a_stale_update_is_refused(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "job")
    stale = store.get("job")
    store.claim("job", worker="w")
    stale.metadata["progress"] = 0.5
    with pytest.raises(errors.VersionConflict):
        store.update(stale)  # would put it back to active and end the lease
    job = store.patch("job", metadata={"progress": 0.5})
    assert (job.status, job.lease is not None) == (S.EXECUTING, True)
    fresh = store.get("job")
    fresh.goal = "whole-record update of a fresh copy"
    assert store.update(fresh).lease == job.lease


def test_leaving_executing_ends_the_lease_and_a_status_change_clears_the_reason(
    store: StoreBase, clock: Clock
) -> None:
    put(store, "job")
    store.claim("job", worker="w")
    job = store.patch("job", status=S.SUSPENDED, reason="paused by a person")
    assert (job.lease, job.reason) == (None, "paused by a person")
    job = store.set_status("job", S.ACTIVE)
    assert job.reason is None
    failed = store.set_status("job", S.FAILED, reason="gave up")
    assert (failed.reason, failed.attempts) == ("gave up", 1)
    assert store.set_status("job", S.ACTIVE).attempts == 0  # taken up again: a fresh count


def test_a_new_intent_with_a_lease_must_be_executing(store: StoreBase, clock: Clock) -> None:
    lease = ig.Lease(worker="w", token=1, claimed_at=T0, expires_at=T0, seconds=1)
    with pytest.raises(errors.InvalidIntent):
        put(store, "a", lease=lease, attempts=1)
    assert put(store, "b", status=S.EXECUTING, lease=lease, attempts=1).lease == lease


# --- parents wait for their subgoals ---------------------------------------------------------


def test_a_parent_is_ready_once_every_subgoal_is_completed_or_archived(
    store: StoreBase, clock: Clock
) -> None:
    for name in ("parent", "done", "dropped", "open"):
        put(store, name)
        if name != "parent":
            store.add_edge(name, "parent", E.IS_SUBGOAL_OF)
    store.set_status("done", S.COMPLETED)
    store.set_status("dropped", S.ARCHIVED)
    assert ids(store.ready()) == ["open"]
    (waiting,) = store.blocked()
    assert (waiting.intent.id, ids(waiting.subgoals), waiting.held) == ("parent", ["open"], False)
    store.set_status("open", S.FAILED)
    (held,) = store.blocked()
    assert ids(held.held_by) == ["open"]  # a failed subgoal holds its parent
    store.set_status("open", S.ACTIVE)
    store.claim("open", worker="w")
    store.release("open", "w")
    assert ids(store.ready()) == ["parent"]
    store.delete("done")
    store.remove_edge("dropped", "parent", E.IS_SUBGOAL_OF)
    assert ids(store.ready()) == ["parent"]


# --- impact -------------------------------------------------------------------------------------
#
#   root <- a <- a1 <- a11          (IS_SUBGOAL_OF: a1 is a subgoal of a, ...)
#                a2 (completed)  <- a21
#   c -DEPENDS_ON-> a1;  d -DEPENDS_ON-> c;  e -DEPENDS_ON-> a2 (completed)
#   f -DEPENDS_ON-> d, f is completed;  g -DEPENDS_ON-> f
#   x BLOCKS c (c waits for x too);  y is a subgoal of d


@pytest.fixture
def tree(store: StoreBase, clock: Clock) -> StoreBase:
    for name in ("root", "a", "a1", "a11", "a2", "a21", "c", "d", "e", "f", "g", "x", "y"):
        put(store, name)
    for child, parent in (("a", "root"), ("a1", "a"), ("a11", "a1"), ("a2", "a"), ("a21", "a2")):
        store.add_edge(child, parent, E.IS_SUBGOAL_OF)
    store.add_edge("y", "d", E.IS_SUBGOAL_OF)
    for dependent, dependency in (("c", "a1"), ("d", "c"), ("e", "a2"), ("f", "d"), ("g", "f")):
        store.add_edge(dependent, dependency, E.DEPENDS_ON)
    store.add_edge("x", "c", E.BLOCKS)
    store.set_status("a2", S.COMPLETED, expected_version=None)
    store.patch("f", status=S.COMPLETED)
    return store


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        # its subtree (a2 completed: walked through, not listed), then what waits on them:
        # root on a, c on a1, d on c; e's dependency a2 is done; f is done and ends there
        ("a", ["a1", "root", "a11", "a21", "c", "d"]),
        ("a1", ["a", "a11", "c", "d", "root"]),
        ("x", ["c", "d"]),
        ("d", ["y"]),  # y is d's subgoal; f is completed
        ("g", []),
        ("y", ["d"]),  # a failed subgoal holds its parent
    ],
)
def test_impact_is_the_blast_radius_nearest_first(
    tree: StoreBase, failing: str, expected: list[str]
) -> None:
    assert ids(tree.impact(failing)) == expected


def test_impact_of_a_missing_intent_raises_not_found(store: StoreBase) -> None:
    with pytest.raises(errors.IntentNotFound):
        store.impact("ghost")


def test_a_failure_holds_up_what_only_impact_finds(tree: StoreBase) -> None:
    """The issue's example: a1 a subgoal of a, c depends on a1, d on c; failing a."""
    assert ids(tree.dependents("a", transitive=True)) == []
    tree.set_status("a", S.FAILED)
    held = {b.intent.id: ids(b.held_by) for b in tree.blocked()}
    assert held["a1"] == held["a11"] == held["c"] == held["d"] == ["a"]
    assert held["root"] == ["a"]


# --- the change feed ----------------------------------------------------------------------------


def feed(store: StoreBase, since: int = 0) -> list[tuple[int, str, str, str | None, str | None]]:
    batch = store.changes(since)
    return [
        (c.seq, c.op, c.intent_id, c.target, None if c.status is None else c.status.value)
        for c in batch.changes
    ]


def test_every_write_adds_one_change_per_intent_or_edge_it_touched(
    store: StoreBase, clock: Clock
) -> None:
    store.put_many([ig.Intent(id="a", name="a"), ig.Intent(id="b", name="b")])
    store.add_edge("b", "a", E.DEPENDS_ON)
    store.set_status("a", S.SUSPENDED)
    store.delete("a")
    with pytest.raises(errors.IntentNotFound):
        store.delete("a")  # a failed write adds nothing
    with pytest.raises(RuntimeError), store.transaction():
        store.put(ig.Intent(id="c", name="c"))
        raise RuntimeError("rolled back: adds nothing")
    assert feed(store) == [
        (1, "put", "a", None, "active"),
        (2, "put", "b", None, "active"),
        (3, "add_edge", "b", "a", None),
        (4, "update", "a", None, "suspended"),
        (5, "remove_edge", "b", "a", None),
        (6, "delete", "a", None, None),
    ]
    assert feed(store, since=4) == feed(store)[4:]


def test_changes_pages_with_seq_and_tells_the_latest(store: StoreBase, clock: Clock) -> None:
    store.put_many([ig.Intent(id=f"i{n}", name="x") for n in range(5)])
    first = store.changes(0, limit=2)
    assert ([c.seq for c in first.changes], first.seq, first.latest, first.complete) == (
        [1, 2],
        2,
        5,
        True,
    )
    rest = store.changes(first.seq, limit=None)
    assert ([c.seq for c in rest.changes], rest.seq) == ([3, 4, 5], 5)
    idle = store.changes(rest.seq)
    assert (idle.changes, idle.seq, idle.latest, idle.complete) == ([], 5, 5, True)
    assert store.changes(0, limit=0).latest == 5


def test_changes_after_a_seq_the_store_never_reached_is_incomplete(store: StoreBase) -> None:
    store.put(ig.Intent(id="a", name="a"))
    batch = store.changes(7)
    assert (batch.changes, batch.complete, batch.seq) == ([], False, 1)


@pytest.mark.parametrize(("since", "limit"), [(-1, None), ("1", None), (0, -1), (True, None)])
def test_changes_refuses_bad_arguments(store: StoreBase, since: object, limit: object) -> None:
    with pytest.raises(errors.InvalidFilter):
        store.changes(since, limit=limit)  # type: ignore[arg-type]


def test_the_change_feed_goes_on_after_a_reopen(
    store: StoreBase, store_url: str, clock: Clock
) -> None:
    if store.backend == "memory":
        pytest.skip("a memory store does not persist")
    store.put(ig.Intent(id="a", name="a"))
    store.put(ig.Intent(id="b", name="b"))
    store = reopen(store, store_url)
    try:
        store.put(ig.Intent(id="c", name="c"))
        batch = store.changes(2)
        assert [(c.seq, c.intent_id) for c in batch.changes] == [(3, "c")]
        assert batch.complete
    finally:
        store.close()
