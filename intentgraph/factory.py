"""Open a store from a URL: the scheme picks the backend, missing extras get a clear error,
and an unreachable primary falls back to memory only when asked to, loudly.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, cast

from intentgraph._base import StoreBase
from intentgraph._url import (
    ParsedURL,
    check_query,
    parse_url,
    query_flag,
    redact_url,
)
from intentgraph.errors import BackendNotInstalled, InvalidURL, StoreUnavailable

# ParsedURL and the URL helpers are re-exported: backends imported them from here before
# intentgraph._url existed.
__all__ = [
    "DEFAULT_URL",
    "ParsedURL",
    "StorageFactory",
    "check_query",
    "open_store",
    "parse_url",
    "query_flag",
    "redact_url",
    "register_backend",
]

log = logging.getLogger("intentgraph")

DEFAULT_URL = "sqlite:///./intentgraph.db"
"""Where ``open_store()`` goes when neither an argument nor ``INTENTGRAPH_URL`` names a store."""


class _Opener(Protocol):
    def from_url(self, url: ParsedURL) -> StoreBase: ...


@dataclass(frozen=True)
class _Entry:
    target: str  # "module:Class" whose class has a ``from_url(ParsedURL)`` classmethod
    extra: str | None  # the pip extra that installs its dependencies



_BUILTIN: dict[str, _Entry] = {
    "memory": _Entry("intentgraph.backends.memory:MemoryStore", None),
    "json": _Entry("intentgraph.backends.jsonfile:JsonFileStore", None),
    "sqlite": _Entry("intentgraph.backends.sqlite:SqliteStore", None),
    **{
        scheme: _Entry("intentgraph.backends.cypher:CypherStore", "neo4j")
        for scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
    },
    "falkordb": _Entry("intentgraph.backends.cypher:CypherStore", "falkordb"),
    "falkordbs": _Entry("intentgraph.backends.cypher:CypherStore", "falkordb"),
}


class StorageFactory:
    """Maps URL schemes to backends and opens stores.

    A backend is registered by dotted path, so its optional dependencies are imported only
    when a URL asks for it (as fsspec's ``known_implementations``).
    """

    def __init__(self, registry: Mapping[str, tuple[str, str | None]] | None = None) -> None:
        self._registry = dict(_BUILTIN)
        for scheme, (target, extra) in (registry or {}).items():
            self.register(scheme, target, extra=extra)

    @property
    def schemes(self) -> list[str]:
        """The URL schemes this factory knows."""
        return sorted(self._registry)

    def register(self, scheme: str, target: str, *, extra: str | None = None) -> None:
        """Register ``scheme`` to open with ``target`` (``"package.module:Class"``)."""
        if ":" not in target:
            raise ValueError(f"target must look like 'package.module:Class', not {target!r}")
        self._registry[scheme.lower()] = _Entry(target, extra)

    def open(self, url: str | None = None, *, fallback: bool = False) -> StoreBase:
        """Open the store at ``url`` (default: ``$INTENTGRAPH_URL``, else ``DEFAULT_URL``).

        Args:
            url: a store URL such as ``sqlite:///goals.db``.
            fallback: when the store cannot be reached, return a ``MemoryStore`` marked
                degraded (a WARNING is logged) instead of raising.

        Raises:
            InvalidURL: unknown scheme, or a URL the backend cannot use.
            BackendNotInstalled: the backend's extra is not installed.
            StoreUnavailable: the store cannot be reached and ``fallback`` is off.
            StoreLocked, StoreCorrupted: never trigger the fallback; they need a person.
        """
        if url is None:
            url = os.environ.get("INTENTGRAPH_URL") or DEFAULT_URL
        parsed = parse_url(url)
        entry = self._entry(parsed.scheme)
        opener = self._load(parsed.scheme, entry)
        try:
            return opener.from_url(parsed)
        except StoreUnavailable as exc:
            if not fallback:
                raise
            reason = f"primary store {parsed.redacted} unavailable: {exc}"
            log.warning("%s; using an in-memory store (data is NOT persisted)", reason)
            from intentgraph.backends.memory import MemoryStore

            store = MemoryStore(url="memory://")
            store.mark_degraded(reason)
            return store

    def _entry(self, scheme: str) -> _Entry:
        entry = self._registry.get(scheme)
        if entry is None:
            known = ", ".join(f"{s}://" for s in self.schemes)
            raise InvalidURL(f"unknown store scheme {scheme!r}; known: {known}")
        return entry

    def _load(self, scheme: str, entry: _Entry) -> _Opener:
        module_name, _, attr = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            return cast(_Opener, getattr(module, attr))
        except (ImportError, AttributeError) as exc:
            missing = getattr(exc, "name", None) or entry.target
            raise BackendNotInstalled(scheme, entry.extra, missing) from exc


_default_factory = StorageFactory()


def open_store(url: str | None = None, *, fallback: bool = False) -> StoreBase:
    """Open the store at ``url`` with the default ``StorageFactory`` (see its ``open``)."""
    return _default_factory.open(url, fallback=fallback)


def register_backend(scheme: str, target: str, *, extra: str | None = None) -> None:
    """Register a backend on the default factory, for ``open_store`` and ``INTENTGRAPH_URL``."""
    _default_factory.register(scheme, target, extra=extra)
