"""The orchestrator's work loop, written once for every backend: claims with leases,
heartbeats, releases, the reclaiming of dead workers' claims, and partial updates.

Each operation is one transaction of the store's own primitives, so a backend whose
transactions are serialisable (SQLite's ``BEGIN IMMEDIATE``, the memory lock) gets an atomic
compare-and-swap for free; a backend may override ``_next_ready`` and ``_expired_leases``
with an index.
"""

from __future__ import annotations

import builtins
import os
import re
import socket
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from intentgraph.errors import (
    ClaimConflict,
    IntentNotReady,
    InvalidFilter,
    InvalidIntent,
    LeaseLost,
)
from intentgraph.filters import IntentFilter
from intentgraph.models import (
    ACTIONABLE_STATUSES,
    FINISHED_SUBGOAL,
    HOLDING_STATUSES,
    WORKER_PATTERN,
    Intent,
    IntentStatus,
    Lease,
    as_status,
    has_lone_surrogate,
)

if TYPE_CHECKING:
    from intentgraph._primitives import Primitives

__all__ = ["STORE_MANAGED", "WorkLoop", "check_worker", "default_worker", "lease_seconds"]

_S = IntentStatus
_WORKER = re.compile(WORKER_PATTERN)

STORE_MANAGED = frozenset({"id", "version", "created_at", "updated_at", "lease", "attempts"})
"""Fields ``patch`` may not set: the store keeps them."""

_NOT_FOR_READY = ("status", "order_by", "descending", "limit", "offset")

_worker_lock = threading.Lock()
_worker: list[str] = []


def default_worker() -> str:
    """Return this process's worker name: ``host:pid:random``, new in every process."""
    with _worker_lock:
        if not _worker or not _worker[0].endswith(f":{os.getpid()}:{_worker[1]}"):
            tag = os.urandom(3).hex()
            _worker[:] = [f"{socket.gethostname()}:{os.getpid()}:{tag}", tag]
        return _worker[0]


def lease_seconds(lease: float | timedelta) -> float:
    """Return a lease length in seconds; raise ``InvalidIntent`` unless it is positive."""
    seconds = lease.total_seconds() if isinstance(lease, timedelta) else lease
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        seconds = float("nan")
    if not 0 < seconds <= 10**9:
        msg = f"a lease lasts more than 0 and at most 1e9 seconds, not {lease!r}"
        raise InvalidIntent("lease", [{"loc": ("lease",), "msg": msg}])
    return float(seconds)


def check_worker(worker: str | None) -> str:
    """Return ``worker``, or this process's name when None; refuse a bad name."""
    if worker is None:
        return default_worker()
    if type(worker) is not str or not _WORKER.fullmatch(worker) or has_lone_surrogate(worker):
        msg = f"a worker is named like an id (1 to 200 characters, no blanks), not {worker!r}"
        raise InvalidIntent("lease", [{"loc": ("worker",), "msg": msg}])
    return worker


def ready_filter(flt: IntentFilter | None, criteria: dict[str, Any]) -> IntentFilter:
    """Merge a ``claim_next`` filter; refuse what cannot narrow a set of ready intents."""
    merged = IntentFilter.of(flt, **criteria)
    given = [name for name in _NOT_FOR_READY if name in merged.model_fields_set]
    if given:
        raise InvalidFilter(
            f"claim_next picks in ready order from active intents; it takes no {given[0]!r}"
        )
    return merged


class WorkLoop:
    """Mixin for ``StoreBase``: claim, claim_next, heartbeat, release, reclaim_expired, patch."""

    max_attempts: int | None = 5
    """How many claims an intent gets before ``reclaim_expired`` fails it (None or 0: no
    limit). Set it on a store: ``store.max_attempts = 3``."""

    def claim(
        self: Primitives,
        intent_id: str,
        *,
        worker: str | None = None,
        lease: float | timedelta = 300.0,
        expected_status: IntentStatus | Sequence[IntentStatus] = IntentStatus.ACTIVE,
        status: IntentStatus = IntentStatus.EXECUTING,
    ) -> Intent:
        expected = _statuses(expected_status)
        status = as_status(status)
        name = check_worker(worker) if status is _S.EXECUTING else None
        seconds = lease_seconds(lease)
        with self._write():
            current = self.get(intent_id)
            if current.status not in expected:
                raise ClaimConflict(intent_id, [s.value for s in expected], current.status.value)
            if status is not _S.EXECUTING:
                return self._replace(
                    _with(current, status=status), expected_version=current.version
                )
            if current.status in ACTIONABLE_STATUSES:
                self._require_ready(current)
            assert name is not None
            return self._take(current, name, seconds)

    def claim_next(
        self: Primitives,
        *,
        worker: str | None = None,
        lease: float | timedelta = 300.0,
        filter: IntentFilter | None = None,
        **criteria: Any,
    ) -> Intent | None:
        flt = ready_filter(filter, criteria)
        name = check_worker(worker)
        seconds = lease_seconds(lease)
        with self._write():
            self._reclaim(None)
            found = self._next_ready(flt)
            return None if found is None else self._take(found, name, seconds)

    def heartbeat(
        self: Primitives,
        intent_id: str,
        worker: str,
        *,
        lease: float | timedelta | None = None,
        token: int | None = None,
    ) -> Intent:
        seconds = None if lease is None else lease_seconds(lease)
        with self._write():
            current = self.get(intent_id)
            held = _held_by(current, worker, token)
            length = held.seconds if seconds is None else seconds
            renewed = held.model_copy(
                update={"expires_at": self.now() + timedelta(seconds=length), "seconds": length}
            )
            return self._replace(_with(current, lease=renewed), claims=True)

    def release(
        self: Primitives,
        intent_id: str,
        worker: str,
        *,
        status: IntentStatus = IntentStatus.COMPLETED,
        reason: str | None = None,
        token: int | None = None,
    ) -> Intent:
        status = as_status(status)
        with self._write():
            current = self.get(intent_id)
            _held_by(current, worker, token)
            return self._replace(
                _with(current, status=status, lease=None, reason=reason), claims=True
            )

    def reclaim_expired(
        self: Primitives, *, max_attempts: int | None = None
    ) -> builtins.list[Intent]:
        with self._write():
            return self._reclaim(max_attempts)

    def patch(
        self: Primitives, intent_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> Intent:
        managed = sorted(fields.keys() & STORE_MANAGED)
        if managed:
            msg = f"{managed[0]} is kept by the store; patch cannot set it"
            raise InvalidIntent("intent", [{"loc": (managed[0],), "msg": msg}])
        unknown = sorted(fields.keys() - Intent.model_fields.keys())
        if unknown:
            msg = f"unknown field {unknown[0]!r}"
            raise InvalidIntent("intent", [{"loc": (unknown[0],), "msg": msg}])
        with self._write():
            current = self.get(intent_id)
            data = dict(current.__dict__)  # not model_dump(): see intentgraph/_codec.py
            data.update(fields)
            changed = Intent.model_validate(data)
            return self._replace(changed, expected_version=expected_version)

    # --- built on the backend's primitives ------------------------------------------------

    def _take(self: Primitives, current: Intent, worker: str, seconds: float) -> Intent:
        """Claim ``current`` (ready, active) for ``worker``; inside a write transaction."""
        now = self.now()
        token = current.attempts + 1
        lease = Lease(
            worker=worker,
            token=token,
            claimed_at=now,
            expires_at=now + timedelta(seconds=seconds),
            seconds=seconds,
        )
        changed = _with(current, status=_S.EXECUTING, lease=lease, attempts=token, reason=None)
        return self._replace(changed, expected_version=current.version, claims=True)

    def _reclaim(self: Primitives, max_attempts: int | None) -> builtins.list[Intent]:
        limit = self.max_attempts if max_attempts is None else max_attempts
        changed = []
        for intent in self._expired_leases(self.now()):
            assert intent.lease is not None
            if limit and intent.attempts >= limit:
                status = _S.FAILED
                why = (
                    f"claimed {intent.attempts} times and every lease ran out "
                    f"(max_attempts={limit}): its workers died or hung"
                )
            else:
                status = _S.ACTIVE
                expired = intent.lease.expires_at.isoformat(timespec="seconds")
                why = f"the lease of worker {intent.lease.worker!r} ran out at {expired}"
            back = _with(intent, status=status, lease=None, reason=why)
            changed.append(self._replace(back, claims=True))
        return changed

    def _require_ready(self: Primitives, intent: Intent) -> None:
        """Raise ``IntentNotReady`` unless ``intent`` (active) is ready; in a transaction."""
        waits = [d.id for d in self.dependencies(intent.id) if d.status is not _S.COMPLETED]
        subgoals = [c.id for c in self.children(intent.id) if c.status not in FINISHED_SUBGOAL]
        held = [a.id for a in self.ancestors(intent.id) if a.status in HOLDING_STATUSES]
        if waits or subgoals or held:
            raise IntentNotReady(
                intent.id, blocked_by=sorted(set(waits)), subgoals=subgoals, held_by=held
            )

    def _next_ready(self: Primitives, flt: IntentFilter) -> Intent | None:
        """Return the first ready intent ``flt`` matches, in ready order, or None."""
        if not flt.model_fields_set:
            found = self.ready(limit=1)
            return found[0] if found else None
        for intent in self.ready():
            if flt.matches(intent):
                return intent
        return None

    def _expired_leases(self: Primitives, now: datetime) -> builtins.list[Intent]:
        """Return the executing intents whose lease ran out by ``now``, by id."""
        executing = self._select(IntentFilter(status=(_S.EXECUTING,), order_by="id"))
        return [i for i in executing if i.lease is not None and i.lease.expires_at <= now]


def _with(intent: Intent, **fields: Any) -> Intent:
    """Return a copy of a stored intent with ``fields`` replaced (values already valid)."""
    return intent.model_copy(update=fields)


def _held_by(intent: Intent, worker: str, token: int | None) -> Lease:
    """Return ``worker``'s lease on ``intent``; raise ``LeaseLost`` if it has none."""
    lease = intent.lease
    if (
        intent.status is not _S.EXECUTING
        or lease is None
        or lease.worker != worker
        or (token is not None and lease.token != token)
    ):
        raise LeaseLost(
            intent.id,
            worker,
            holder=None if lease is None else lease.worker,
            status=intent.status.value,
            token=token,
        )
    return lease


def _statuses(value: IntentStatus | Sequence[IntentStatus]) -> tuple[IntentStatus, ...]:
    if isinstance(value, str):
        return (as_status(value),)
    return tuple(as_status(s) for s in value)
