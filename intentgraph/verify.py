"""Store maintenance: an integrity report (``verify``), the repair of derived state, and
bringing a store's schema up to date (``migrate``).

The library behind ``intentgraph verify`` and ``intentgraph migrate``::

    from intentgraph import open_store
    from intentgraph.verify import verify

    with open_store("sqlite:///goals.db") as store:
        report = verify(store)
        print(report.ok, [p.message for p in report.problems])
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from intentgraph.errors import StoreCorrupted
from intentgraph.factory import open_store, parse_url
from intentgraph.protocol import IntentStorage
from intentgraph.results import IntegrityProblem

__all__ = ["MigrateReport", "VerifyReport", "migrate", "verify", "verify_url"]


class VerifyReport(BaseModel):
    """What ``verify`` found (and, with ``repair``, fixed)."""

    model_config = ConfigDict(frozen=True)

    url: str
    backend: str
    ok: bool = Field(description="True when no problem is left.")
    intents: int | None = None
    edges: int | None = None
    schema_version: int | None = Field(
        default=None, description="The store's schema or file-format version, if it has one."
    )
    schema_current: int | None = Field(
        default=None, description="The version this intentgraph writes."
    )
    problems: list[IntegrityProblem] = Field(
        default_factory=list, description="What is wrong (after the repair, with repair)."
    )
    repaired: int | None = Field(
        default=None, description="With repair: rows or entries of derived state rebuilt."
    )
    repaired_problems: list[IntegrityProblem] = Field(
        default_factory=list, description="With repair: the problems the repair fixed."
    )
    seconds: float = 0.0


def _schema(store: IntentStorage) -> tuple[int | None, int | None]:
    details = store.health().details
    if "schema_version" in details:
        return details.get("schema_version"), details.get("schema_version_supported")
    if store.backend == "json" and "path" in details:
        from intentgraph.backends.jsonfile import FORMAT_VERSION

        return _json_version(Path(details["path"])), FORMAT_VERSION
    return None, None


def _json_version(path: Path) -> int | None:
    """Return the ``version`` of a JSON store's document, read from its head only."""
    with contextlib.suppress(OSError):
        with open(path, "rb") as fh:
            head = fh.read(4096).decode(errors="replace")
        head = head.split('"intents"', 1)[0]  # the intents hold versions of their own
        found = _VERSION.search(head)
        if found:
            return int(found.group(1))
    return None


_VERSION = re.compile(r'"version"\s*:\s*(\d+)')


def verify(store: IntentStorage, *, repair: bool = False) -> VerifyReport:
    """Check a store's integrity (``check_integrity``) and, with ``repair``, rebuild its
    derived state (``rebuild_derived_state``: never user data) and check again.

    Raises:
        StorageError: the store cannot be read.
    """
    started = time.perf_counter()
    with store.snapshot() as view:
        counts = (view.intent_count, view.edge_count)
    problems = store.check_integrity()
    repaired: int | None = None
    fixed: list[IntegrityProblem] = []
    if repair:
        repaired = 0
        if any(p.repairable for p in problems):
            repaired = store.rebuild_derived_state()
            after = store.check_integrity()
            fixed = [p for p in problems if p.repairable and p not in after]
            problems = after
    version, current = _schema(store)
    return VerifyReport(
        url=store.url,
        backend=store.backend,
        ok=not problems,
        intents=counts[0],
        edges=counts[1],
        schema_version=version,
        schema_current=current,
        problems=problems,
        repaired=repaired,
        repaired_problems=fixed,
        seconds=round(time.perf_counter() - started, 3),
    )


def verify_url(url: str | None, *, repair: bool = False) -> VerifyReport:
    """Open the store at ``url`` and ``verify`` it; a store too damaged to open is
    reported as one problem instead of raising.

    Raises:
        StoreUnavailable, StoreLocked, InvalidURL, BackendNotInstalled: it cannot be
            opened for another reason than its content.
    """
    started = time.perf_counter()
    try:
        store = open_store(url)
    except StoreCorrupted as exc:
        parsed = parse_url(url or os.environ.get("INTENTGRAPH_URL") or "")
        return VerifyReport(
            url=parsed.redacted,
            backend=parsed.scheme,
            ok=False,
            problems=[IntegrityProblem(kind="storage", message=f"cannot be opened: {exc}")],
            seconds=round(time.perf_counter() - started, 3),
        )
    with store:
        return verify(store, repair=repair)


class MigrateReport(BaseModel):
    """What ``migrate`` did."""

    model_config = ConfigDict(frozen=True)

    url: str
    backend: str
    from_version: int | None = Field(description="The version found (None: no schema).")
    to_version: int | None = Field(description="The version now.")
    migrated: bool = Field(description="False when it was already current.")


def migrate(url: str | None) -> MigrateReport:
    """Bring the store at ``url`` to the current schema; a no-op when it is current.

    SQLite migrates when it is opened (ordered migrations, in one transaction); a JSON
    document of an older format version is rewritten at the current one. Graph servers
    migrate their constraints and indexes when opened.

    Raises:
        StoreCorrupted: the store is newer than this intentgraph, or damaged.
        StoreUnavailable, StoreLocked: it cannot be opened.
    """
    from intentgraph.factory import DEFAULT_URL

    resolved = url or os.environ.get("INTENTGRAPH_URL") or DEFAULT_URL
    parsed = parse_url(resolved)
    found: int | None = None
    if parsed.scheme == "sqlite":
        found = _sqlite_version(parsed.file_path())
    elif parsed.scheme == "json":
        found = _json_version(Path(parsed.file_path()))
    with open_store(resolved) as store:
        if store.backend == "json" and found is not None:
            _, current = _schema(store)
            if current is not None and found < current:
                store.compact()  # writes the document at the current version
        now, _ = _schema(store)
        return MigrateReport(
            url=store.url,
            backend=store.backend,
            from_version=found if found is not None else now,
            to_version=now,
            migrated=found is not None and now is not None and found != now,
        )


def _sqlite_version(path: str) -> int | None:
    if not os.path.exists(path):
        return None
    target = f"file:{quote(os.path.abspath(path))}?mode=ro"
    try:
        conn = sqlite3.connect(target, uri=True)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None
