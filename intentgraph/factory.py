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
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from intentgraph._base import StoreBase
from intentgraph.errors import BackendNotInstalled, InvalidURL, StoreUnavailable

__all__ = [
    "DEFAULT_URL",
    "ParsedURL",
    "StorageFactory",
    "open_store",
    "redact_url",
    "register_backend",
]

log = logging.getLogger("intentgraph")

DEFAULT_URL = "sqlite:///./intentgraph.db"
"""Where ``open_store()`` goes when neither an argument nor ``INTENTGRAPH_URL`` names a store."""


@dataclass(frozen=True)
class ParsedURL:
    """A store URL taken apart. ``path`` follows SQLAlchemy: ``sqlite:///rel.db`` is relative,
    ``sqlite:////abs/path.db`` absolute."""

    raw: str
    scheme: str
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    path: str
    query: dict[str, str]

    @property
    def redacted(self) -> str:
        """The URL with the password replaced by ``***``."""
        return redact_url(self.raw)

    def file_path(self) -> str:
        """Return the filesystem path of a file-backed store URL."""
        if self.host:
            raise InvalidURL(
                f"{self.redacted}: a {self.scheme} URL has no host; write "
                f"{self.scheme}:///relative/path or {self.scheme}:////absolute/path"
            )
        path = self.path[1:] if self.path.startswith("/") else self.path
        if not path:
            raise InvalidURL(f"{self.redacted}: no file path given")
        return os.path.expanduser(path)


def parse_url(url: str) -> ParsedURL:
    """Split a store URL; raise ``InvalidURL`` when it has no scheme."""
    if not isinstance(url, str) or "://" not in url:
        raise InvalidURL(f"not a store URL: {redact_url(str(url))!r} (expected scheme://...)")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"{redact_url(url)}: bad port") from exc
    return ParsedURL(
        raw=url,
        scheme=parts.scheme.lower(),
        username=parts.username,
        password=parts.password,
        host=parts.hostname,
        port=port,
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
    )


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:***@{host}" if parts.username else f"***@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable URL>"


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
        opener = self._load(parsed.scheme)
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

    def _load(self, scheme: str) -> _Opener:
        entry = self._registry.get(scheme)
        if entry is None:
            known = ", ".join(f"{s}://" for s in self.schemes)
            raise InvalidURL(f"unknown store scheme {scheme!r}; known: {known}")
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


def query_flag(url: ParsedURL, name: str, default: bool = False) -> bool:
    """Read a boolean query parameter (``1/0``, ``true/false``, ``yes/no``)."""
    raw = url.query.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidURL(f"{url.redacted}: {name}={raw!r} is not a boolean")


def check_query(url: ParsedURL, allowed: set[str]) -> None:
    """Raise ``InvalidURL`` for query parameters the backend does not understand."""
    unknown = set(url.query) - allowed
    if unknown:
        names = ", ".join(sorted(unknown))
        raise InvalidURL(f"{url.redacted}: unknown option(s) {names}")
