"""The error hierarchy: every error intentgraph raises is an ``IntentGraphError``.

Each class also inherits the builtin a caller would already catch (``LookupError`` for a
missing intent, ``ValueError`` for bad input, ``OSError`` for storage trouble), carries
structured fields, and builds its own message. Backends translate driver exceptions with
``raise ... from exc`` so that no ``sqlite3`` or driver error ever reaches a user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BackendNotInstalled",
    "BackupError",
    "ClaimConflict",
    "CycleError",
    "EdgeNotFound",
    "IntentExists",
    "IntentGraphError",
    "IntentInUse",
    "IntentNotFound",
    "IntentNotReady",
    "InvalidEdge",
    "InvalidFilter",
    "InvalidIntent",
    "InvalidTransition",
    "InvalidURL",
    "LeaseLost",
    "MissingEndpoint",
    "MultipleParents",
    "ReadOnlyStore",
    "SelfLoop",
    "StorageError",
    "StoreClosed",
    "StoreCorrupted",
    "StoreForked",
    "StoreLocked",
    "StoreUnavailable",
    "TargetIsStore",
    "TransactionError",
    "VersionConflict",
]


class IntentGraphError(Exception):
    """Raised for every failure intentgraph reports; the root of the hierarchy."""


# --- bad input ------------------------------------------------------------------------


class InvalidIntent(IntentGraphError, ValueError):
    """Raised when fields given for an intent or an edge fail validation."""

    def __init__(self, model: str, errors: Sequence[dict[str, Any]]) -> None:
        self.model = model
        self.errors = list(errors)
        parts = []
        for err in self.errors[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            msg = err.get("msg", "invalid")
            parts.append(f"{loc}: {msg}" if loc else msg)
        more = f" (+{len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"invalid {model}: " + "; ".join(parts) + more)


class InvalidFilter(IntentGraphError, ValueError):
    """Raised when a list/count filter has an unknown field or a value of the wrong type."""


class InvalidTransition(IntentGraphError, ValueError):
    """Raised when a status change is not one of the allowed transitions."""

    def __init__(self, intent_id: str, current: str, requested: str) -> None:
        self.intent_id = intent_id
        self.current = current
        self.requested = requested
        super().__init__(
            f"intent {intent_id!r} cannot move from status {current!r} to {requested!r}"
        )


class InvalidURL(IntentGraphError, ValueError):
    """Raised when a store URL has an unknown scheme or an unusable path."""


# --- lookups --------------------------------------------------------------------------


class IntentNotFound(IntentGraphError, LookupError):
    """Raised when an intent id is not in the store."""

    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id
        super().__init__(f"no intent with id {intent_id!r}")

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class EdgeNotFound(IntentGraphError, LookupError):
    """Raised when an edge (source, target, type) is not in the store."""

    def __init__(self, source: str, target: str, edge_type: str) -> None:
        self.source = source
        self.target = target
        self.edge_type = edge_type
        super().__init__(f"no {edge_type} edge from {source!r} to {target!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class IntentExists(IntentGraphError, ValueError):
    """Raised when ``put`` is given an id that is already stored (use ``update``)."""

    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id
        super().__init__(f"an intent with id {intent_id!r} already exists; use update()")


class IntentInUse(IntentGraphError, ValueError):
    """Raised when ``delete(..., detach=False)`` meets an intent that still has edges."""

    def __init__(self, intent_id: str, edge_count: int) -> None:
        self.intent_id = intent_id
        self.edge_count = edge_count
        super().__init__(
            f"intent {intent_id!r} still has {edge_count} edge(s); "
            "remove them first or delete with detach=True"
        )


# --- graph invariants -----------------------------------------------------------------


class InvalidEdge(IntentGraphError, ValueError):
    """Raised when an edge would break a graph invariant."""


class SelfLoop(InvalidEdge):
    """Raised when an edge would join an intent to itself."""

    def __init__(self, intent_id: str, edge_type: str) -> None:
        self.intent_id = intent_id
        self.edge_type = edge_type
        super().__init__(f"a {edge_type} edge cannot join intent {intent_id!r} to itself")


class MissingEndpoint(InvalidEdge, LookupError):
    """Raised when an edge names an intent that is not stored."""

    def __init__(self, intent_id: str, role: str) -> None:
        self.intent_id = intent_id
        self.role = role
        super().__init__(f"edge {role} {intent_id!r} is not a stored intent")

    def __str__(self) -> str:
        return str(self.args[0])


class MultipleParents(InvalidEdge):
    """Raised when an IS_SUBGOAL_OF edge would give an intent a second parent."""

    def __init__(self, intent_id: str, parent_id: str, new_parent_id: str) -> None:
        self.intent_id = intent_id
        self.parent_id = parent_id
        self.new_parent_id = new_parent_id
        super().__init__(
            f"intent {intent_id!r} is already a subgoal of {parent_id!r}; "
            f"remove that edge before making it a subgoal of {new_parent_id!r}"
        )


class CycleError(InvalidEdge):
    """Raised when an edge would close a cycle; ``cycle`` lists the ids in order."""

    def __init__(self, cycle: Sequence[str], edge_type: str) -> None:
        self.cycle = list(cycle)
        self.edge_type = edge_type
        path = " -> ".join(self.cycle + self.cycle[:1])
        if edge_type == "plan":
            super().__init__(f"the plan's ordering constraints form a cycle: {path}")
        else:
            super().__init__(f"{edge_type} edge would close a cycle: {path}")


# --- concurrency ----------------------------------------------------------------------


class VersionConflict(IntentGraphError, RuntimeError):
    """Raised when ``expected_version`` does not match the stored version."""

    def __init__(self, intent_id: str, expected: int, actual: int) -> None:
        self.intent_id = intent_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"intent {intent_id!r} is at version {actual}, not the expected {expected}"
        )


class ClaimConflict(IntentGraphError, RuntimeError):
    """Raised when a compare-and-swap status change finds another status than expected."""

    def __init__(self, intent_id: str, expected: Sequence[str], actual: str) -> None:
        self.intent_id = intent_id
        self.expected = list(expected)
        self.actual = actual
        want = " or ".join(repr(s) for s in self.expected)
        super().__init__(f"intent {intent_id!r} is {actual!r}, not {want}: claimed elsewhere?")


class IntentNotReady(ClaimConflict):
    """Raised when ``claim`` finds an active intent that is not ready to run."""

    def __init__(
        self,
        intent_id: str,
        *,
        blocked_by: Sequence[str] = (),
        subgoals: Sequence[str] = (),
        held_by: Sequence[str] = (),
    ) -> None:
        self.intent_id = intent_id
        self.expected = ["active"]
        self.actual = "active"
        self.blocked_by = list(blocked_by)
        self.subgoals = list(subgoals)
        self.held_by = list(held_by)
        why = []
        if self.held_by:
            why.append("held by " + ", ".join(map(repr, self.held_by)))
        if self.blocked_by:
            why.append("waits for dependencies " + ", ".join(map(repr, self.blocked_by)))
        if self.subgoals:
            why.append("waits for subgoals " + ", ".join(map(repr, self.subgoals)))
        RuntimeError.__init__(self, f"intent {intent_id!r} is not ready: " + "; ".join(why))


class LeaseLost(IntentGraphError, RuntimeError):
    """Raised when a worker heartbeats or releases an intent it no longer holds."""

    def __init__(
        self, intent_id: str, worker: str, *, holder: str | None, status: str, token: int | None
    ) -> None:
        self.intent_id = intent_id
        self.worker = worker
        self.holder = holder
        self.status = status
        self.token = token
        now = f"held by {holder!r}" if holder else f"{status}, held by no worker"
        claim = "" if token is None else f" (claim {token})"
        super().__init__(
            f"worker {worker!r} no longer holds intent {intent_id!r}{claim}: it is {now}; "
            "its lease was taken back"
        )


# --- storage --------------------------------------------------------------------------


class StorageError(IntentGraphError, OSError):
    """Raised when the underlying storage fails; the store is left as it was."""


class StoreCorrupted(StorageError):
    """Raised when stored data cannot be read back as written (bad checksum, bad JSON)."""


class StoreLocked(StorageError):
    """Raised when another process holds the store's write lock."""

    def __init__(self, path: str, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(f"{path} is locked for writing by {holder}")

    def __str__(self) -> str:
        return str(self.args[0])


class StoreForked(StoreLocked):
    """Raised when a store is used in a process forked after the store was opened."""

    def __init__(self, path: str, owner_pid: int) -> None:
        self.owner_pid = owner_pid
        super().__init__(
            path,
            f"pid {owner_pid}, the process that opened this store object; after fork(), "
            "open the store again in this process",
        )


class StoreUnavailable(StorageError, ConnectionError):
    """Raised when a store cannot be reached or opened."""


class StoreClosed(IntentGraphError, RuntimeError):
    """Raised when a closed store is used."""


class TransactionError(IntentGraphError, RuntimeError):
    """Raised when a transaction is misused: ``close()`` or ``compact()`` inside one, or one
    ``transaction()`` object entered twice."""


class ReadOnlyStore(IntentGraphError, PermissionError):
    """Raised when a store opened read-only is asked to write."""


class BackendNotInstalled(IntentGraphError, ImportError):
    """Raised when a backend's optional dependencies are missing; names the extra."""

    def __init__(self, scheme: str, extra: str | None, missing: str) -> None:
        self.scheme = scheme
        self.extra = extra
        self.missing = missing
        fix = f"pip install 'intentgraph[{extra}]'" if extra else "reinstall intentgraph"
        super().__init__(f"the {scheme!r} backend needs {missing!r}: {fix}")


# --- backups --------------------------------------------------------------------------


class TargetIsStore(IntentGraphError, ValueError):
    """Raised when a backup, an export or a copy would write over a file of the store it
    reads: the store's file, its journal, WAL or lock file. Nothing was written."""

    def __init__(self, target: str, store_file: str, *, whose: str = "the store") -> None:
        self.target = target
        self.store_file = store_file
        what = f"{whose} keeps it" if target == store_file else f"{whose} keeps {store_file}"
        super().__init__(
            f"refusing to write {target}: {what} and it would be lost; choose another target"
        )


class BackupError(IntentGraphError, ValueError):
    """Raised when a backup cannot be read or restored; names the line and the reason.

    Nothing was changed when it is raised: a restore checks the whole backup before it
    writes anything.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {reason}")
