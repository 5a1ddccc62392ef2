"""The small interface the Cypher store runs its queries through, and what both executors share.

An executor runs one query and returns its rows as lists of plain values; it opens, commits and
rolls back the outermost write transaction, holding the writer lock for its duration; it knows
which of its driver's errors are transient and what each one means for a caller. It knows
nothing of intents: the store (``backends/cypher.py``) holds every rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar

from intentgraph.backends._cypher_dialect import Dialect
from intentgraph.backends._cypher_rows import typed_row
from intentgraph.errors import IntentGraphError, StorageError
from intentgraph.models import Edge

__all__ = [
    "Encoded",
    "Executor",
    "ReadWindow",
    "Row",
    "SchemaNodeMissing",
    "Stage",
    "interrupt_inside",
    "is_foreign_timeout",
    "made_ahead",
    "quietly",
    "retrying",
    "schema_row",
    "sent_ahead",
    "worth_retrying",
]

Row = list[Any]
T = TypeVar("T")
P = TypeVar("P")


class Encoded:
    """A parameter value with the text its executor's client writes for it into the query
    (FalkorDB's client sends parameters as query text), made ahead by ``Executor.encode``."""

    __slots__ = ("text", "value")

    def __init__(self, value: Any, text: str) -> None:
        self.value = value
        self.text = text


class SchemaNodeMissing(StorageError):
    """Raised when a query on the schema node (``:IntentGraphMeta {key: 'schema'}``, which
    setup creates and nothing deletes) returns no row. ArcadeDB now and then answers so
    under load (seen once in ~70 runs of the worker-threads test): it is retried like a
    transient error, and stands only when the node stays missing (a database emptied under
    an open store)."""


def schema_row(rows: list[Row], where: str) -> Row:
    """Return the one row of a query on the schema node, or raise ``SchemaNodeMissing``."""
    if not rows:
        raise SchemaNodeMissing(
            f"the schema node of {where} did not answer: was the database emptied while "
            "this store was open? Reopen the store to set it up again"
        )
    return rows[0]


class Executor(ABC):
    """One connection to a graph server, used under the store's lock (one caller at a time)."""

    dialect: Dialect
    where: str  # the server and graph/database, for messages (never a password)

    @abstractmethod
    def run(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        """Run a query (inside the open transaction, if any) and return its rows."""

    def change(
        self, query: str, params: dict[str, Any], *, seq: int, undo: str | None
    ) -> list[Row]:
        """Run a query that changes the graph inside the open transaction.

        ``undo`` (JSON) says how to undo it; an executor whose server keeps no transaction
        of its own records it in the same query (see ``_cypher_falkordb``).
        """
        return self.run(query, params)

    @property
    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether an outermost write transaction is open."""

    @property
    def transaction_lost(self) -> bool:
        """Whether the open transaction can no longer be used (its connection dropped, or
        may be half way through a message): it can only be rolled back as a whole."""
        return False

    @abstractmethod
    def begin(self) -> None:
        """Open the outermost write transaction and take the writer lock."""

    @abstractmethod
    def commit(self) -> None:
        """Commit the open transaction (its one commit point) and release the lock."""

    @abstractmethod
    def rollback(self) -> None:
        """Undo the open transaction, if any, and release the lock; safe to repeat."""

    @abstractmethod
    def setup(self, version: int) -> int:
        """Create the schema where missing; return the schema version stored in the graph."""

    @abstractmethod
    def transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` may pass if the same work is tried again (server starting...)."""

    @abstractmethod
    def translate(self, exc: BaseException, *, opening: bool = False) -> IntentGraphError | None:
        """Return the intentgraph error for a driver error, None when ``exc`` is not one."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the connection; idempotent."""

    def details(self) -> dict[str, Any]:
        """What ``health()`` shows about the server (never a credential)."""
        return {}

    @abstractmethod
    def answered(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the server's answer (so a failed commit surely did not land),
        not a lost connection (after which a commit may or may not have landed)."""

    @property
    def began_at(self) -> int | None:
        """What ``overlapped`` needs to know of the write transaction begun last (None:
        nothing; read it while that transaction is open, its store's lock held)."""
        return None

    def overlapped(self, began_at: int) -> bool:
        """Whether another writer committed while the write transaction that began at
        ``began_at`` ran (asked after it failed): its reads may have been stale, and its
        failure with them."""
        return False

    def quiet(self) -> bool:
        """Whether no intentgraph writer is in the middle of a transaction (whose writes a
        reader could see, on a server that reads uncommitted data)."""
        return True

    def watching(self) -> AbstractContextManager[ReadWindow]:
        """A window for a read of many queries that must see no write (see ``ReadWindow``)."""
        return nullcontext(ReadWindow())

    def abandoned_undo(self) -> int:
        """How many undo records a dead writer left in the graph (FalkorDB)."""
        return 0

    def staging(self) -> AbstractContextManager[Stage]:
        """A new graph beside the live one for a bulk load (FalkorDB, which has no
        transaction to load in), dropped unless it was published."""
        raise NotImplementedError(f"{type(self).__name__} loads inside its transaction")

    encodes: bool = False
    """Whether ``encode`` does work worth doing ahead (``sent_ahead``)."""

    def encode(self, value: Any) -> Any:
        """Return a parameter value ready to send (an ``Encoded``), or ``value`` as it is
        when the driver encodes parameters itself; ``run`` and ``change`` take either."""
        return value

    def encode_typed_rows(self, edges: Sequence[Edge], seqs: Sequence[int]) -> Any:
        """Return ``encode`` of the rows ``typed_row(edge, seq)`` of ``edges`` and ``seqs``
        (the ``$rows`` of ``create_subgoals.cypher`` and the others); an executor may
        write their text without building them."""
        return self.encode([typed_row(e, s) for e, s in zip(edges, seqs, strict=True)])

    def interrupted(self) -> None:
        """Note that an interrupt may have landed inside the driver: do not trust its
        connection any more (redis-py drops its own; the neo4j driver is replaced)."""
        return None


class Stage(Protocol):
    """The staging graph of a bulk load (see ``Executor.staging``)."""

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[Row]: ...
    def setup(self) -> None: ...
    def publish(self) -> None:
        """Put the staging graph in place of the live one, atomically: the commit point."""


class ReadWindow:
    """What ``Executor.watching`` gives: ``clear`` is False when a writer was at work as the
    window opened (read again later); ``unchanged()``, asked at the end, whether anything
    was written meanwhile, as far as the server can tell (the store also compares the
    change feed's committed mark)."""

    clear = True

    def unchanged(self) -> bool:
        return True


def worth_retrying(exc: BaseException, transient: Callable[[BaseException], bool]) -> bool:
    """Whether ``retrying`` tries again after ``exc``: a transient error (as ``transient``
    says) or a missing schema node, never a ``BaseException`` that is not an ``Exception``
    (Ctrl-C) or a signal handler's ``TimeoutError``."""
    if not isinstance(exc, Exception) or is_foreign_timeout(exc):
        return False
    return isinstance(exc, SchemaNodeMissing) or transient(exc)


def retrying(
    call: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    seconds: float,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Call ``call``, again while it fails with a transient error, for at most ``seconds``.

    Exponential backoff with jitter (10 ms doubling to 1 s, as tenacity's
    ``wait_random_exponential``), through tenacity; a permanent error, a ``BaseException``
    that is not an ``Exception`` (Ctrl-C) and a signal handler's ``TimeoutError`` raise at once.
    """
    import tenacity

    def retryable(exc: BaseException) -> bool:
        return worth_retrying(exc, transient)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None:
            on_retry()

    retryer = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retryable),
        stop=tenacity.stop_after_delay(seconds) | tenacity.stop_after_attempt(50),
        wait=tenacity.wait_random_exponential(multiplier=0.01, max=1.0),
        before_sleep=before_sleep,
        reraise=True,
    )
    return retryer(call)


def interrupt_inside(
    exc: BaseException, elapsed: float, socket_timeout: float
) -> BaseException | None:
    """Return the signal handler's exception a driver wrapped, None if ``exc`` is its own.

    A ``TimeoutError`` raised by a signal handler while a driver waits on its socket looks to
    the driver like a socket timeout (``socket.timeout`` is ``TimeoutError``): redis-py and the
    neo4j driver turn it into their own timeout or connection error. When the call took less
    than the socket's timeout, no socket timed out: the caller gets the handler's exception.
    """
    if elapsed >= socket_timeout:
        return None
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 10:
        if cause is not exc and is_foreign_timeout(cause):
            return cause
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


def quietly(fn: Callable[[], Any]) -> None:
    """Call ``fn`` (a cleanup), ignoring its errors but never a signal handler's exception."""
    try:
        fn()
    except Exception as exc:
        if is_foreign_timeout(exc):
            raise
        interrupt = interrupt_inside(exc, 0.0, float("inf"))
        if interrupt is not None:
            raise interrupt from None


def is_foreign_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``TimeoutError`` not raised by the OS (a signal handler's, say):
    it goes to the caller unchanged, never retried nor translated."""
    return isinstance(exc, TimeoutError) and exc.errno is None


def sent_ahead(
    x: Executor,
    parts: Sequence[P],
    build: Callable[[P], dict[str, Any]],
    send: Callable[[P, dict[str, Any]], object],
) -> None:
    """Call ``send(part, params)`` for each part in turn, with ``build(part)`` encoded.

    On an executor that encodes parameters itself (FalkorDB: as much client time as the
    server spends on the query), the next part's parameters are built and encoded in a
    second thread while the server runs this part's query (``made_ahead``).
    """

    def make(part: P) -> tuple[P, dict[str, Any]]:
        return part, {k: x.encode(v) for k, v in build(part).items()}

    made_ahead(parts, make, lambda made: send(*made), threaded=x.encodes)


def made_ahead(
    parts: Sequence[P],
    make: Callable[[P], T],
    use: Callable[[T], object],
    *,
    threaded: bool,
) -> None:
    """Call ``use(make(part))`` for each part in turn; ``threaded``: the next part's ``make``
    runs in a second thread while this part's ``use`` waits on its socket, without the GIL.

    ``make`` must only compute (it sends nothing, and no one else touches what it changes
    meanwhile); everything sent, and every error, stays in the calling thread: an error of
    ``make`` is raised there, in its turn. A failure leaves at most one ``make`` running,
    whose result is dropped.
    """
    if len(parts) < 2 or not threaded:
        for part in parts:
            use(make(part))
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="intentgraph-encode")
    try:
        future = pool.submit(make, parts[0])
        for k in range(len(parts)):
            made = future.result()
            if k + 1 < len(parts):
                future = pool.submit(make, parts[k + 1])
            use(made)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
