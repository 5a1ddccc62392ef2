"""Transactions that stay correct whatever interrupts them.

A write must leave a store as it was before or as it is after, even when an exception
(Ctrl-C, a timeout raised by a signal handler, an I/O error) lands at any point, including
inside ``__exit__``. Python cannot make an ``__exit__`` run to its end (a signal handler may
raise at its very first instruction), so a skipped or half-run exit is made *detectable and
repairable* instead:

* The ``with`` statement looks up ``__exit__`` before it calls ``__enter__`` and holds the
  result on its own stack until the block is over. ``Transaction.__exit__`` hands it a fresh
  ``functools.partial`` that nothing else holds strongly, so that object dies exactly when the
  block is left: normally, by an exception from the body, or by one raised inside
  ``__exit__``. A weak reference to it (``Level.token``) tells whether the block is open.
  No frame of ours holds it while a level begins: a traceback kept by a library (an error
  its driver recovered from and logged) would keep those frames, and the object, alive.
* When the token dies while its level is still registered, the block was left without a
  finished exit. The weak reference's callback repairs the store at once (rolls back what had
  not committed and releases the lock); any repair it could not finish is done by the next
  call on the store (``StoreBase._heal``), before that call reads or writes anything.
* Each backend marks its commit point in one statement (``level.committed``), so a repair
  knows whether there is anything to roll back.
"""

from __future__ import annotations

import functools
import gc
import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from intentgraph.errors import TransactionError

if TYPE_CHECKING:
    from intentgraph._base import StoreBase

__all__ = ["ExitSlot", "Level", "Transaction", "TransactionalStore", "gc_paused"]

log = logging.getLogger("intentgraph")


class Level:
    """One open transaction level: the outermost transaction, or a savepoint inside it."""

    __slots__ = ("committed", "depth", "disk_mark", "locked", "mark", "thread", "token")

    def __init__(self) -> None:
        self.depth = 0
        self.token: weakref.ref[Any] | None = None  # dead once the with block is over
        self.committed = False  # set in the same statement as the backend's commit point
        self.locked = False  # this level holds one acquisition of the store's lock
        self.thread = threading.get_ident()
        self.mark: Any = None  # backend state to roll back to (memory: log lengths)
        self.disk_mark: int | None = None  # JSON: journal size before this level wrote

    def is_open(self) -> bool:
        """Return True while the ``with`` block of this level has not been left."""
        return self.token is not None and self.token() is not None


class ExitSlot:
    """An ``__exit__`` that hands each ``with`` statement an object only it holds (see the
    module docstring), made once per context manager by its ``_new_exit()``."""

    def __get__(self, cm: Any, owner: type | None = None) -> Any:
        if cm is None:
            return self  # ExitStack looks __exit__ up on the class, then calls it
        exit_ = cm._exit
        if exit_ is None:
            exit_ = cm._exit = cm._new_exit()
        return exit_

    def __call__(self, cm: Any, *exc_info: Any) -> bool:
        return bool(self.__get__(cm)(*exc_info))


class Transaction:
    """What ``store.transaction()`` returns: a context manager to enter once.

    All writes inside the block land together when it exits normally, or none of them do.
    """

    __slots__ = ("__weakref__", "_entered", "_exit", "_level", "_store")

    __exit__ = ExitSlot()

    def __init__(self, store: StoreBase) -> None:
        self._store = store
        self._level = Level()
        self._exit: Callable[..., bool] | None = None
        self._entered = False

    def _new_exit(self) -> Callable[..., bool]:
        return functools.partial(self._store._exit_level, self._level)

    def __enter__(self) -> None:
        if self._entered:
            raise TransactionError(
                "this transaction() object was entered already; call store.transaction() "
                "again for a new transaction"
            )
        self._entered = True
        store, level, box = self._store, self._level, [self.__exit__]
        # No frame of ours may hold the exit object (or this transaction, which holds it)
        # while the level begins: a driver that keeps an error it recovered from (the neo4j
        # driver logs it, and a handler may keep the record) keeps every running frame with
        # it, and the block would count as open long after it was left.
        del self
        store._enter_level(level, box)

    def __repr__(self) -> str:
        state = "open" if self._level.is_open() else "not open"
        return f"<Transaction {state} on {self._store!r}>"


class gc_paused:  # lower case: used like a function, ``with gc_paused(n):``
    """Pause the cyclic garbage collector while a large batch allocates many objects.

    On CPython 3.11 each full collection walks every live object, so building 100k intents
    with the collector on costs about twice as much. Only pauses for batches over 1,000.
    The collector comes back on when the block is left in any way, even if its exit is cut
    short (see the module docstring). ``size`` None: a result of unknown size (pause).
    """

    __slots__ = ("_exit", "_size", "_state")

    __exit__ = ExitSlot()

    def __init__(self, size: int | None = None) -> None:
        self._size = 1_000_000 if size is None else size
        self._state = _Pause()  # shared with the exit object, which must not hold ``self``
        self._exit: Callable[..., bool] | None = None

    def _new_exit(self) -> Callable[..., bool]:
        return functools.partial(_Pause.resume, self._state)

    def __enter__(self) -> None:
        if self._size > 1000 and gc.isenabled():
            state = self._state
            state.token = weakref.ref(self.__exit__, functools.partial(_Pause.resume, state))
            state.paused = True; gc.disable()  # noqa: E702 - one line: no event in between


class _Pause:
    __slots__ = ("paused", "token")

    def __init__(self) -> None:
        self.paused = False
        self.token: weakref.ref[Any] | None = None

    def resume(self, *exc_info: object) -> bool:
        if self.paused:
            self.paused = False; gc.enable()  # noqa: E702 - one line: no event in between
        self.token = None  # a dead weak reference calls no callback: none runs after this
        return False


def abandoned(store_ref: weakref.ref[TransactionalStore], level: Level, _token: object) -> None:
    """Weak-reference callback: the ``with`` block of ``level`` was left without its exit."""
    store = store_ref()
    if store is not None:
        store._repair_abandoned(level)


class TransactionalStore:
    """The transaction lifecycle every store shares; backends implement three hooks.

    ``_tx_begin(level)`` starts a level (SQLite: ``BEGIN IMMEDIATE`` or a savepoint),
    ``_tx_commit(level)`` commits it and sets ``level.committed`` in the statement that is
    its commit point, and ``_tx_rollback(level)`` undoes it. ``_tx_rollback`` may be
    interrupted and run again, so it must be idempotent.

    Each level holds one acquisition of the store's re-entrant lock, so another thread waits
    until the outermost level ends, and only the thread that holds the lock has levels.
    """

    _lock: threading.RLock
    _levels: list[Level]

    def transaction(self) -> Transaction:
        """Group writes: all of them land, or none. Transactions nest (savepoints)."""
        return Transaction(self)  # type: ignore[arg-type]

    def _check_open(self) -> None:
        raise NotImplementedError

    def _tx_begin(self, level: Level) -> None:
        raise NotImplementedError

    def _tx_commit(self, level: Level) -> None:
        raise NotImplementedError

    def _tx_rollback(self, level: Level) -> None:
        raise NotImplementedError

    def _translate_error(self, exc: BaseException) -> BaseException | None:
        """Return the intentgraph error to raise for a driver error, None to keep ``exc``."""
        return None

    def _enter_level(self, level: Level, box: list[object]) -> None:
        """Register ``level``, whose block is open while the exit object in ``box`` lives
        (taken out of the box: no frame may keep it, see ``Transaction.__enter__``)."""
        self._check_open()  # also repairs what an abandoned block left behind
        level.locked = self._lock.acquire()  # waits for another thread's transaction
        try:
            self._heal()
            level.depth = len(self._levels)
            callback = functools.partial(abandoned, weakref.ref(self), level)
            level.token = weakref.ref(box.pop(), callback)
            self._levels.append(level)
            self._tx_begin(level)
        except BaseException as exc:
            self._drop_level(level)
            translated = self._translate_error(exc)
            if translated is not None:
                raise translated from exc
            raise

    def _exit_level(self, level: Level, exc_type: object, exc: object, tb: object) -> bool:
        if level not in self._levels:  # already repaired: only the lock may be left
            self._unlock_level(level)
            return False
        try:
            try:
                self._heal(above=level)  # inner blocks left without their exit
                if exc_type is None:
                    self._tx_commit(level)
            finally:
                self._drop_level(level)
        except BaseException as error:
            translated = self._translate_error(error)
            if translated is None:
                raise
            raise translated from error
        if isinstance(exc, BaseException):
            translated = self._translate_error(exc)
            if translated is not None:
                raise translated from exc
        return False

    def _drop_level(self, level: Level) -> None:
        """Roll ``level`` back unless it committed, unregister it and release its lock."""
        if level in self._levels:
            if not level.committed:
                self._tx_rollback(level)
            self._levels.remove(level)
        # Dropping the weak reference means its callback never runs: no code of ours runs
        # after a normal exit, where a signal handler's exception would be swallowed.
        level.token = None
        self._unlock_level(level)

    def _unlock_level(self, level: Level) -> None:
        if level.locked:
            # One line, flag first: no trace event and no signal handler between the two.
            level.locked = False; self._lock.release()  # noqa: E702

    def _heal(self, above: Level | None = None) -> None:
        """Drop the levels on top of the stack whose blocks were left without their exit
        (all of those above ``above`` when given). Call with the lock held."""
        levels = self._levels
        while levels:
            top = levels[-1]
            if top is above or (above is None and top.is_open()):
                return
            self._drop_level(top)

    def _heal_if_abandoned(self) -> None:
        """Repair this thread's abandoned levels before a call reads or writes anything."""
        levels = self._levels
        try:
            top = levels[-1]
        except IndexError:
            return
        if not top.is_open() and top.thread == threading.get_ident():
            with self._lock:
                try:
                    self._heal()
                except BaseException as error:
                    translated = self._translate_error(error)
                    if translated is None:
                        raise
                    raise translated from error

    def _repair_abandoned(self, level: Level) -> None:
        if level not in self._levels or level.thread != threading.get_ident():
            return  # the block exited normally, or belongs to another thread
        try:
            with self._lock:
                self._heal()
        except BaseException as exc:  # a weakref callback cannot raise; the next call retries
            log.warning("intentgraph: could not yet repair an interrupted transaction: %r", exc)

    def _live_transaction(self) -> bool:
        """Return True when the calling thread is inside an open transaction block."""
        self._heal_if_abandoned()
        return any(level.thread == threading.get_ident() for level in self._levels)

    def _require_no_transaction(self, operation: str) -> None:
        if self._live_transaction():
            raise TransactionError(
                f"{operation}() cannot run inside a transaction; leave the with block first"
            )
