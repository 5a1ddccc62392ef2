"""The executor for servers that speak Bolt with Neo4j's Cypher: the official ``neo4j`` driver.

Neo4j 5 and later, Aura, and ArcadeDB's Bolt plugin (the test suite's server). A write runs in
one explicit driver transaction; its first statement (``lock.cypher``) writes the schema node,
whose write lock Neo4j holds to the commit, so intentgraph's writers run one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import neo4j
from neo4j import exceptions as nx

from intentgraph.backends._cypher_dialect import NEO4J, load, statements
from intentgraph.backends._cypher_exec import (
    Executor,
    Row,
    interrupt_inside,
    is_foreign_timeout,
    quietly,
    schema_row,
)
from intentgraph.errors import (
    IntentGraphError,
    StorageError,
    StoreCorrupted,
    StoreUnavailable,
)

__all__ = ["Neo4jExecutor"]

_TRANSIENT = (nx.ServiceUnavailable, nx.SessionExpired, nx.TransientError, ConnectionError)


class Neo4jExecutor(Executor):
    """Runs queries with the ``neo4j`` driver in one session (used under the store's lock)."""

    dialect = NEO4J

    def __init__(
        self,
        uri: str,
        *,
        auth: tuple[str, str] | None,
        database: str | None,
        where: str,
        timeout: float,
    ) -> None:
        self.where = where
        self._timeout = timeout
        self._database = database
        self._uri, self._auth = uri, auth
        self._driver = self._new_driver()
        self._poisoned = False
        self._retired: list[Any] = []
        self._session: neo4j.Session | None = None
        self._tx: neo4j.Transaction | None = None
        self._began_at: int | None = None  # lock.cypher's count in the last write begun
        self._server = ""

    def _new_driver(self) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(
            self._uri,
            auth=self._auth,
            connection_timeout=self._timeout,
            max_transaction_retry_time=0,  # intentgraph retries, knowing what is safe to redo
            user_agent="intentgraph",
        )

    def _open_session(self) -> neo4j.Session:
        if self._poisoned:
            self._renew()
        if self._session is None or self._session.closed():
            self._session = self._driver.session(database=self._database)
        return self._session

    def interrupted(self) -> None:
        self._poisoned = True

    def _renew(self) -> None:
        """Replace the driver after an interrupt inside it: its connection may be left
        half way through a message (the driver then fails its own assertions)."""
        old, session = self._driver, self._session
        self._session, self._tx = None, None
        self._driver = self._new_driver()
        self._poisoned = False
        self._keep(old)
        self._keep(session)
        quietly(old.close)

    def _keep(self, retired: Any) -> None:
        # The driver's objects have finalizers (__del__), and Python swallows what a signal
        # handler raises inside one: retired drivers and sessions are kept referenced until
        # close(), so that no finalizer of theirs runs while the store is at work.
        self._retired.append(retired)
        del self._retired[:-256]

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call the driver; hand a signal handler's exception through as it was raised."""
        started = time.monotonic()
        try:
            return fn(*args)
        except (nx.Neo4jError, nx.DriverError) as exc:
            interrupt = interrupt_inside(exc, time.monotonic() - started, float("inf"))
            if interrupt is None:
                raise
            self._poisoned = True
            raise interrupt from None
        except BaseException as exc:
            if not isinstance(exc, nx.Neo4jError | nx.DriverError):
                self._poisoned = True  # interrupted inside the driver: do not reuse it
                interrupt = interrupt_inside(exc, time.monotonic() - started, float("inf"))
                if interrupt is not None:
                    raise interrupt from None
            raise

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        self._check_transaction()

        def go() -> list[Row]:
            runner: Any = self._tx if self._tx is not None else self._open_session()
            result = runner.run(query, params or {})
            return [list(record.values()) for record in result]

        rows: list[Row] = self._call(go)
        return rows

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    @property
    def transaction_lost(self) -> bool:
        # An interrupt inside the driver may have left the transaction's connection half way
        # through a message: nothing more is sent on it (the server would never answer).
        return self._tx is not None and self._poisoned

    def _check_transaction(self) -> None:
        if self.transaction_lost:
            raise StorageError(
                f"the transaction on {self.where} was cut by an interrupt inside the driver; "
                "nothing of it is committed"
            )

    def begin(self) -> None:
        self._began_at = None
        session = self._open_session()
        self._tx = self._call(session.begin_transaction)
        self._began_at = int(schema_row(self.run(load("lock")), self.where)[0])

    @property
    def began_at(self) -> int | None:
        return self._began_at

    def overlapped(self, began_at: int) -> bool:
        # Another writer committed after this one's lock.cypher: its count reached ours.
        # Neo4j makes writers wait for the lock, so only a server that does not (ArcadeDB)
        # ever answers True.
        if self._tx is not None:
            return False
        return int(schema_row(self.run(load("write_count")), self.where)[0]) >= began_at

    def commit(self) -> None:
        tx = self._tx
        if tx is None:
            return
        self._check_transaction()  # a lost transaction is rolled back, never committed
        self._tx = None
        self._call(tx.commit)

    def rollback(self) -> None:
        tx, self._tx = self._tx, None
        if tx is None or self._poisoned:
            # An interrupt may have come between begin_transaction() and its assignment, or
            # inside the driver: closing the session (or the driver) ends the transaction;
            # the server rolls back what it never committed.
            self._drop_session()
            return
        try:
            self._call(tx.rollback)
        except (nx.Neo4jError, nx.DriverError):
            # The transaction is over either way (a failed commit, a lost connection).
            self._drop_session()

    def _drop_session(self) -> None:
        session, self._session = self._session, None
        if self._poisoned:
            self._renew()
            return
        if session is not None:
            self._keep(session)
            try:
                quietly(session.close)
            except BaseException:
                # Interrupted inside the driver while the session gave its connection back
                # to the pool (a RESET half sent): the pool cannot be trusted any more.
                self._poisoned = True
                raise

    def setup(self, version: int) -> int:
        for statement in statements("setup"):
            # Idempotent (IF NOT EXISTS), so safe to repeat. Deviation: ArcadeDB now and then
            # fails schema statements on a database just created ("general processing
            # exception"); Neo4j does not.
            for attempt in range(10):
                try:
                    self.run(statement)
                    break
                except (nx.ClientError, nx.DatabaseError) as exc:
                    if attempt == 9 or isinstance(exc, nx.AuthError):
                        raise
                    time.sleep(0.1 * (attempt + 1))
        rows = self.run(load("schema_version"), {"version": version})
        info = self._driver.get_server_info()
        self._server = f"{info.agent} (Bolt {'.'.join(map(str, info.protocol_version))})"
        return int(rows[0][0])

    def transient(self, exc: BaseException) -> bool:
        if isinstance(exc, nx.Neo4jError) and not isinstance(exc, nx.TransientError):
            return False
        if isinstance(exc, nx.TransientError):
            # Neo4j marks a few "transient" codes that need a person (terminated by an admin).
            return exc.is_retryable()
        return isinstance(exc, _TRANSIENT) and not is_foreign_timeout(exc)

    def translate(self, exc: BaseException, *, opening: bool = False) -> IntentGraphError | None:
        if isinstance(exc, IntentGraphError) or is_foreign_timeout(exc):
            return None
        where = self.where
        if isinstance(exc, nx.AuthError):
            # Not StoreUnavailable: wrong credentials need a person, never the memory fallback.
            return StorageError(f"{where} refused the credentials: {_message(exc)}")
        if isinstance(exc, nx.ServiceUnavailable | nx.SessionExpired | nx.ConfigurationError):
            return StoreUnavailable(f"cannot reach {where}: {_message(exc)}")
        if isinstance(exc, nx.Neo4jError):
            code = exc.code or ""
            if code.endswith("DatabaseNotFound"):
                return StoreUnavailable(f"{where}: no such database: {_message(exc)}")
            if opening and isinstance(exc, nx.ClientError) and ".Schema." in code:
                return StoreCorrupted(f"{where} cannot hold intentgraph's schema: {_message(exc)}")
            return StorageError(f"{where} refused a query ({code}): {_message(exc)}")
        if isinstance(exc, nx.DriverError):
            return StorageError(f"{where}: {type(exc).__name__}: {_message(exc)}")
        if isinstance(exc, OSError | ConnectionError):
            return StoreUnavailable(f"cannot reach {where}: {exc}")
        return None

    def details(self) -> dict[str, Any]:
        return {"server": self._server, "database": self._database}

    def answered(self, exc: BaseException) -> bool:
        # A Neo4jError is the server's own (a TransientError at commit: rolled back).
        return isinstance(exc, nx.Neo4jError)

    def close(self) -> None:
        try:
            self.rollback()
            self._drop_session()
        finally:
            quietly(self._driver.close)


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:500]
