"""The executor for FalkorDB, through the ``falkordb`` client over FalkorDB's own protocol.

FalkorDB runs one query atomically, and one write query at a time, but has no transaction that
spans queries (MULTI/EXEC does not undo a failed part). intentgraph builds one:

* **A writer lock**, the Redis key ``intentgraph:<graph>:writer``, set with ``SET NX`` to
  ``<client id>:<random token>`` for the whole of an outermost write. ``CLIENT LIST ID`` tells
  whether its holder's connection still exists: a SIGKILLed writer's connection is closed by
  its kernel, and the next writer takes the lock over (a compare-and-set in Lua) and rolls
  back what the dead one left.
* **An undo log in the graph**: each change is one query that also creates an
  ``IntentGraphUndo {seq, op}`` node saying how to undo it (``UNDO_PREFIX``), so no change is
  ever without its record. A rollback applies the records newest first, each step idempotent
  and followed by the deletion of its record. The commit point is the one query that deletes
  all records and publishes the transaction's change-feed records (``commit.cypher``); then
  the lock is released.
* **A staging graph for bulk loads**: ``<graph>::staging``, built beside the live graph and
  renamed over it (Redis ``RENAME``, one command) as the load's commit point.

A reader that takes no lock (every read) sees the changes of an open transaction as they are
made (read uncommitted), and may see them disappear if that transaction rolls back; intentgraph
writers, who read under the lock, only ever see committed states.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import falkordb  # type: ignore[import-untyped]
from falkordb.helpers import stringify_param_value  # type: ignore[import-untyped]
from falkordb.query_result import QueryResult  # type: ignore[import-untyped]
from redis import exceptions as rx
from redis.backoff import NoBackoff
from redis.retry import Retry

from intentgraph.backends._cypher_dialect import FALKORDB, load, prefix, statements
from intentgraph.backends._cypher_exec import (
    Encoded,
    Executor,
    ReadWindow,
    Row,
    interrupt_inside,
    is_foreign_timeout,
    quietly,
    retrying,
)
from intentgraph.backends._cypher_rows import edge_props
from intentgraph.errors import IntentGraphError, StorageError, StoreCorrupted, StoreUnavailable
from intentgraph.models import Edge

__all__ = ["FalkorDBExecutor"]

# Take the lock from a holder known to be dead: only if it still names that holder.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# Release the lock only if we hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_INDEX = re.compile(r"CREATE INDEX FOR \(n:(?P<label>\w+)\) ON \(n\.(?P<prop>\w+)\)")
"""The statements of falkordb_setup.cypher: one index each."""

_TRANSIENT = (rx.ConnectionError, rx.TimeoutError, rx.BusyLoadingError, rx.TryAgainError)


class FalkorDBExecutor(Executor):
    """Runs queries on one FalkorDB graph over one dedicated connection."""

    dialect = FALKORDB

    def __init__(
        self,
        *,
        host: str,
        port: int,
        graph: str,
        username: str | None,
        password: str | None,
        tls: bool,
        timeout: float,
        lock_timeout: float,
        where: str,
    ) -> None:
        self.where = where
        self._graph_name = graph
        self._lock_key = f"intentgraph:{graph}:writer"
        self._stage_name = f"{graph}::staging"
        self._options = {
            "host": host,
            "port": port,
            "username": username,
            "password": password,
            "ssl": tls,
            "socket_timeout": max(timeout, 30.0),
            "socket_connect_timeout": timeout,
        }
        self._watcher: Any = None  # a second connection for WATCH (see watching())
        self._lock_timeout = lock_timeout
        self._socket_timeout = max(timeout, 30.0)
        # One connection, never silently re-made: the lock names its client id, so a
        # reconnect in the middle of a transaction must fail that transaction, not go on.
        self._db = falkordb.FalkorDB(
            **self._options,
            single_connection_client=True,
            retry=Retry(NoBackoff(), 0),
            client_name="intentgraph",
        )
        self._redis: Any = self._db.connection  # a redis.Redis, decoding replies to str
        self._graph = self._db.select_graph(graph)
        self._lock_value: str | None = None
        self._lost = False  # the connection dropped inside the open transaction
        self.recover: Callable[[], None] = lambda: None  # set by the store: undo a dead writer
        self._version = ""

    @classmethod
    def connect(cls, *, retry_seconds: float, **options: Any) -> FalkorDBExecutor:
        """Connect (the client talks to the server at once), retrying transient failures.

        Raises:
            StoreUnavailable: the server cannot be reached.
            StorageError: it refused the credentials.
        """
        try:
            return retrying(lambda: cls(**options), transient=_transient, seconds=retry_seconds)
        except Exception as exc:
            translated = _translate(exc, options["where"], opening=True)
            if translated is None:
                raise
            raise translated from exc

    # --- queries ------------------------------------------------------------------------

    encodes = True

    def encode(self, value: Any) -> Encoded:
        """The value as the client writes it into the query text, its own quoting."""
        return Encoded(value, stringify_param_value(value))

    def encode_typed_rows(self, edges: Sequence[Edge], seqs: Sequence[int]) -> Encoded:
        """The rows' text written straight from the edges: what the client's encoder writes
        for them (its quoting, its order), without building the rows or walking them."""
        return Encoded(None, _typed_rows_text(edges, seqs))

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        self._check_connection()
        if params and any(type(v) is Encoded for v in params.values()):
            query, params = _with_header(query, params), None
        return self._call(self._query, query, params)  # type: ignore[no-any-return]

    def _query(self, query: str, params: dict[str, Any] | None) -> list[Row]:
        """``Graph.query``'s command (``--compact``), its reply read by ``_rows``."""
        graph = self._graph
        if params:
            query = graph._build_params_header(params) + query
        return _rows(graph, graph.execute_command("GRAPH.QUERY", graph.name, query, "--compact"))

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call the client; hand a signal handler's exception through as it was raised."""
        started = time.monotonic()
        try:
            return fn(*args)
        except Exception as exc:
            if isinstance(exc, rx.ConnectionError | rx.TimeoutError):
                # redis-py drops the connection: a transaction holding the lock goes with it.
                self._lost = self._lock_value is not None
            interrupt = interrupt_inside(exc, time.monotonic() - started, self._socket_timeout)
            if interrupt is not None:
                raise interrupt from None
            raise

    def _cmd(self, *args: Any) -> Any:
        """Run one Redis command (see ``_call``)."""
        return self._call(self._redis.execute_command, *args)

    def _take_over(self, old: str, new: str) -> bool:
        return bool(self._cmd("EVAL", _TAKE_OVER, 1, self._lock_key, old, new))

    def change(
        self, query: str, params: dict[str, Any], *, seq: int, undo: str | None
    ) -> list[Row]:
        if undo is None:
            return self.run(query, params)
        return self.run(prefix("undo_record") + query, {**params, "undo_seq": seq, "undo_op": undo})

    def _check_connection(self) -> None:
        if self._lost:
            raise StorageError(
                f"the connection to {self.where} dropped inside a transaction; "
                "it is rolled back (by the next writer if not by this one)"
            )

    # --- transactions -------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._lock_value is not None

    @property
    def transaction_lost(self) -> bool:
        return self._lost

    def begin(self) -> None:
        self._lost = False
        # Named before it is taken, so that a rollback after an interrupt anywhere in here
        # releases it (and only if it is really ours: the release compares).
        mine = self._lock_value = f"{self._client_id()}:{secrets.token_hex(8)}"
        self._acquire(mine)

    def commit(self) -> None:
        if self._lock_value is None:
            return
        self.run(load("commit"))  # the commit point: no undo record is left
        self._unlock()

    def rollback(self) -> None:
        mine = self._lock_value
        if mine is None:
            return
        if self._lost:
            # Our connection, and so our client id, is gone: take the lock over from our
            # former self as any other writer would (its holder is dead), then undo.
            self._lost = False
            new = self._lock_value = f"{self._client_id()}:{secrets.token_hex(8)}"
            if not self._take_over(mine, new):
                self._lock_value = None
                return  # another writer took it over and undoes our work
            mine = new
        if self._cmd("GET", self._lock_key) == mine:
            self.recover()
        self._unlock()

    def _unlock(self) -> None:
        value = self._lock_value
        if value is not None:
            # Released before it is forgotten: a rollback after an interrupt here releases
            # it again (a compare-and-delete, so never another writer's). A dead
            # connection's lock is taken over by the next writer.
            with contextlib.suppress(rx.ConnectionError):
                self._cmd("EVAL", _RELEASE, 1, self._lock_key, value)
            self._lock_value = None

    def _acquire(self, mine: str) -> None:
        """Take the writer lock, waiting for a live holder, taking it over from a dead one."""
        deadline = time.monotonic() + self._lock_timeout
        pause = 0.001
        while True:
            if self._cmd("SET", self._lock_key, mine, "NX"):
                return
            holder = self._cmd("GET", self._lock_key)
            if holder is not None and not self._alive(holder):
                if self._take_over(holder, mine):
                    self.recover()  # what the dead writer left half done
                    return
                continue
            if time.monotonic() > deadline:
                raise StorageError(
                    f"{self.where} is locked by another intentgraph writer beyond "
                    f"{self._lock_timeout:g} s (lock_timeout)"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _client_id(self) -> int:
        return int(self._cmd("CLIENT", "ID"))

    def _alive(self, holder: str) -> bool:
        client_id = holder.partition(":")[0]
        if not client_id.isdigit():
            return False
        listed = self._cmd("CLIENT", "LIST", "ID", client_id)
        return bool(str(listed).strip())

    def recover_if_abandoned(self) -> None:
        """At open: undo what a dead writer left (a lock whose holder's connection is gone)."""
        holder = self._cmd("GET", self._lock_key)
        if holder is not None and self._alive(holder):
            return  # a live writer is at work: its transaction is its own business
        if holder is None and not self.run(load("undo_pending"))[0][0]:
            self._drop_stage()
            return
        self.begin()  # takes the lock over from the dead holder and recovers
        try:
            self.recover()
            self._drop_stage()
        finally:
            self._unlock()

    def abandoned_undo(self) -> int:
        if self._cmd("GET", self._lock_key) is not None:
            return 0  # a writer is at work: its records are its own
        return int(self.run(load("undo_pending"))[0][0])

    def quiet(self) -> bool:
        return self._cmd("GET", self._lock_key) is None

    @contextlib.contextmanager
    def watching(self) -> Iterator[ReadWindow]:
        """``WATCH`` the graph and the writer lock on a second connection: a write of
        either, by anyone, makes the ``EXEC`` at the end fail (a read does not)."""
        if self._watcher is None:
            self._watcher = falkordb.FalkorDB(**self._options).connection
        pipe = self._watcher.pipeline()
        try:
            pipe.watch(self._graph_name, self._lock_key)
            window = _Watched(pipe, clear=pipe.get(self._lock_key) is None)
            yield window
        finally:
            pipe.reset()

    # --- bulk loads -------------------------------------------------------------------

    @contextlib.contextmanager
    def staging(self) -> Iterator[_Stage]:
        """A new, empty graph beside the live one, dropped unless it was published."""
        self._drop_stage()
        stage = _Stage(self)
        try:
            yield stage
        finally:
            if not stage.published:
                quietly(self._drop_stage)

    def _drop_stage(self) -> None:
        if self._cmd("EXISTS", self._stage_name):
            self._cmd("GRAPH.DELETE", self._stage_name)

    # --- schema -------------------------------------------------------------------------

    def setup(self, version: int) -> int:
        rows = self._setup_graph(self._graph_name, self.run, version)
        for entry in self._cmd("MODULE", "LIST"):
            info = dict(zip(entry[::2], entry[1::2], strict=False))
            if info.get("name") == "graph":
                ver = int(info.get("ver", 0))
                self._version = f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}"
        return int(rows[0][0])

    def _setup_graph(
        self, graph: str, run: Callable[..., list[Row]], version: int
    ) -> list[Row]:
        """Create the schema of ``graph`` where missing; return schema_version's rows."""
        existing: set[tuple[str, str]] = set()
        for row in run(load("falkordb_indexes")):
            existing.update((row[0], prop) for prop in row[1])
        for statement in statements("falkordb_setup"):
            found = _INDEX.fullmatch(statement)
            assert found is not None, statement
            if (found["label"], found["prop"]) not in existing:
                try:
                    run(statement)
                except rx.ResponseError as exc:
                    if "already indexed" not in str(exc):
                        raise
        self._unique_id_constraint(graph, run)
        return run(load("schema_version"), {"version": version})

    def _unique_id_constraint(self, graph: str, run: Callable[..., list[Row]]) -> None:
        """Create the unique constraint on Intent.id and wait until it is OPERATIONAL."""
        deadline = time.monotonic() + 60
        while True:
            status = None
            for row in run(load("falkordb_constraints")):
                if row[0] == "UNIQUE" and row[1] == "Intent" and list(row[2]) == ["id"]:
                    status = row[3]
            if status == "OPERATIONAL":
                return
            if status == "FAILED":
                raise StoreCorrupted(
                    f"{self.where}: the unique constraint on Intent.id failed (duplicate ids?)"
                )
            if status is None:
                try:
                    self._cmd(
                        "GRAPH.CONSTRAINT", "CREATE", graph,
                        "UNIQUE", "NODE", "Intent", "PROPERTIES", 1, "id",
                    )  # fmt: skip
                except rx.ResponseError as exc:
                    if "already exists" not in str(exc):
                        raise
            if time.monotonic() > deadline:
                raise StorageError(
                    f"{self.where}: the unique constraint on Intent.id stays {status}"
                )
            time.sleep(0.01)

    # --- errors -------------------------------------------------------------------------

    def transient(self, exc: BaseException) -> bool:
        return _transient(exc)

    def translate(self, exc: BaseException, *, opening: bool = False) -> IntentGraphError | None:
        return _translate(exc, self.where, opening=opening)

    def details(self) -> dict[str, Any]:
        return {"server": f"FalkorDB {self._version}".strip(), "graph": self._graph_name}

    def answered(self, exc: BaseException) -> bool:
        return isinstance(exc, rx.ResponseError)

    def close(self) -> None:
        try:
            if self._lock_value is not None:
                self.rollback()
        finally:
            self._redis.close()
            if self._watcher is not None:
                quietly(self._watcher.close)


class _Watched(ReadWindow):
    def __init__(self, pipe: Any, *, clear: bool) -> None:
        self._pipe = pipe
        self.clear = clear

    def unchanged(self) -> bool:
        try:
            self._pipe.multi()
            self._pipe.execute()
        except rx.WatchError:
            return False
        return True


class _Stage:
    """The staging graph of a bulk load: its queries, its schema, and its publication."""

    def __init__(self, executor: FalkorDBExecutor) -> None:
        self._x = executor
        self._graph = executor._db.select_graph(executor._stage_name)
        self.published = False

    def run(self, query: str, params: dict[str, Any] | None = None) -> list[Row]:
        self._x._check_connection()
        return list(self._x._call(self._graph.query, query, params).result_set)

    def setup(self) -> None:
        from intentgraph.backends.cypher import SCHEMA_VERSION

        self._x._setup_graph(self._x._stage_name, self.run, SCHEMA_VERSION)

    def publish(self) -> None:
        """Put the staging graph in place of the live one: one ``RENAME``, atomic."""
        x = self._x
        x._cmd("RENAME", x._stage_name, x._graph_name)
        self.published = True
        # A new client-side graph object: the old one caches the replaced graph's schema.
        x._graph = x._db.select_graph(x._graph_name)


class _Other(Exception):
    """A reply cell ``_cell`` leaves to the client's parser (a node, a map, a point...)."""


_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY = 1, 2, 3, 4, 5, 6  # compact value types


def _cell(cell: list[Any]) -> Any:
    kind, value = cell
    if kind == _STRING:
        return value
    if kind == _INTEGER:
        return int(value)
    if kind == _NULL:
        return None
    if kind == _ARRAY:
        return [v[1] if v[0] == _STRING else _cell(v) for v in value]
    if kind == _BOOLEAN:
        return value == "true"
    if kind == _DOUBLE:
        return float(value)
    raise _Other


def _rows(graph: Any, reply: list[Any]) -> list[Row]:
    """The rows of a ``GRAPH.QUERY ... --compact`` reply, as the client's ``QueryResult``
    reads them. Strings, integers, nulls, booleans, doubles and lists of them (every column
    intentgraph asks for) are read here: the client's reader, a function call and a type
    lookup per value, was a fifth of a closure read; anything else, and every error, is
    left to it."""
    if len(reply) == 3 and not isinstance(reply[-1], rx.ResponseError):
        try:
            return [[c[1] if c[0] == _STRING else _cell(c) for c in row] for row in reply[1]]
        except _Other:
            pass
    return list(QueryResult(graph, reply).result_set)


def _with_header(query: str, params: dict[str, Any]) -> str:
    """The query with its parameters header, as the client's ``_build_params_header`` writes
    it (``CYPHER `name`=value ...``), values encoded ahead taken as they are. The names are
    intentgraph's own identifiers; every value goes through the client's quoting."""
    values = (v.text if type(v) is Encoded else stringify_param_value(v) for v in params.values())
    return "CYPHER " + "".join(f"`{k}`={v} " for k, v in zip(params, values, strict=True)) + query


def _quoted(text: str) -> str:
    """The client's ``quote_string`` of a non-empty or empty ``str`` (the same text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _typed_rows_text(edges: Sequence[Edge], seqs: Sequence[int]) -> str:
    """``stringify_param_value([typed_row(edge, seq) ...])``, written directly: the client's
    generic encoder (a call and a chain of type tests per value) was a third of the time
    ``add_edges`` spends building a part's query. ``test_falkordb_encoding`` holds the two
    texts equal."""
    q = _quoted
    out = []
    for edge, seq in zip(edges, seqs, strict=True):
        p = edge_props(edge)
        weight = p["weight"]
        out.append(
            f"{{`source`:{q(edge.source)},`target`:{q(edge.target)},`seq`:{seq:d},"
            f"`props`:{{`data`:{q(p['data'])},"
            f"`weight`:{'null' if weight is None else stringify_param_value(weight)},"
            f"`created_at`:{q(p['created_at'])},`metadata`:{q(p['metadata'])}}}}}"
        )
    return "[" + ",".join(out) + "]"


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError):
        return False
    if isinstance(exc, rx.ResponseError):
        return "LOADING" in str(exc) or "TRYAGAIN" in str(exc)
    return isinstance(exc, _TRANSIENT) and not is_foreign_timeout(exc)


def _translate(exc: BaseException, where: str, *, opening: bool = False) -> IntentGraphError | None:
    if isinstance(exc, IntentGraphError) or is_foreign_timeout(exc):
        return None
    text = " ".join(str(exc).split())[:500]
    if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError | rx.NoPermissionError):
        return StorageError(f"{where} refused the credentials: {text}")
    if isinstance(exc, rx.ResponseError):
        if "WRONGPASS" in text or "NOAUTH" in text or "invalid username" in text:
            return StorageError(f"{where} refused the credentials: {text}")
        if opening and "unknown command" in text.lower():
            return StoreUnavailable(f"{where} does not run FalkorDB: {text}")
        return StorageError(f"{where} refused a query: {text}")
    if isinstance(exc, rx.ConnectionError | rx.TimeoutError):
        return StoreUnavailable(f"cannot reach {where}: {text}")
    if isinstance(exc, rx.RedisError):
        return StorageError(f"{where}: {type(exc).__name__}: {text}")
    if isinstance(exc, OSError | ConnectionError):
        return StoreUnavailable(f"cannot reach {where}: {text}")
    return None
