"""Store URLs: take them apart, check their options, and redact them for every message.

Backends import this module, never the factory. No message built here shows a URL except
through ``redact_url``, and ``redact_url`` does not trust the URL to be well formed: a
password with an unescaped ``/``, ``?`` or ``#`` is hidden as surely as a correct one.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
from collections.abc import Set
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from intentgraph.errors import InvalidURL

__all__ = [
    "SECRET_OPTION_WORDS",
    "ParsedURL",
    "check_no_location",
    "check_query",
    "is_secret_option",
    "parse_url",
    "query_flag",
    "redact_url",
]

SECRET_OPTION_WORDS = ("pass", "pw", "secret", "token", "key", "auth", "cred")
"""A query option whose name contains one of these (in any case) has its value redacted."""

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MASK = "***"
_ENCODE_HINT = (
    "percent-encode it ('/' as %2F, '?' as %3F, '#' as %23, '@' as %40, '&' as %26; "
    "urllib.parse.quote(password, safe='') does this)"
)


@dataclass(frozen=True, repr=False)
class ParsedURL:
    """A store URL taken apart; ``repr()`` and ``str()`` show it redacted.

    File paths follow SQLAlchemy: ``sqlite:///rel.db`` is relative, ``sqlite:////abs/path.db``
    absolute. ``username`` and ``password`` are percent-decoded; ``host`` is lower-cased and
    an IPv6 address loses its brackets (``bolt://[::1]:7687`` gives ``"::1"``); ``path`` is
    kept as written (see ``path_segments``); ``query`` holds each option once, decoded.
    """

    # repr=False as well as the custom __repr__, so that neither can show them on its own.
    raw: str = field(repr=False)
    scheme: str
    username: str | None
    password: str | None = field(repr=False)
    host: str | None
    port: int | None
    path: str
    query: dict[str, str]

    def __repr__(self) -> str:
        return f"ParsedURL({self.redacted!r})"

    def __str__(self) -> str:
        return self.redacted

    @property
    def redacted(self) -> str:
        """The URL with the password and secret option values replaced by ``***``."""
        return redact_url(self.raw)

    @property
    def address(self) -> str | None:
        """``host:port`` for a driver (an IPv6 host in brackets), or None without a host."""
        if self.host is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def path_segments(self) -> tuple[str, ...]:
        """The path split at ``/`` and percent-decoded: ``('goals',)`` for ``falkordb://h/goals``."""
        if self.path in ("", "/"):
            return ()
        return tuple(unquote(part) for part in self.path.removeprefix("/").split("/"))

    def path_name(self) -> str | None:
        """Return the one name the path gives (a database or graph name), or None if none.

        Raises:
            InvalidURL: the path has more than one segment, or an empty one.
        """
        segments = self.path_segments
        if not segments:
            return None
        if len(segments) > 1 or not segments[0]:
            raise InvalidURL(
                f"{self.redacted}: the path must be a single name (a database or graph), "
                f"as in {self.scheme}://host:port/name"
            )
        return segments[0]

    def file_path(self) -> str:
        """Return the filesystem path of a file-backed store URL, with ``~`` expanded.

        Purely syntactic: the filesystem is not consulted. The path is percent-decoded, so
        ``%40`` writes an ``@`` and ``%23`` a ``#``.

        Raises:
            InvalidURL: the URL has a host, port, user or password; the path is empty, names
                a directory (ends in ``/``, ``.``, ``..``, or is ``~``), is ``:memory:``, or
                contains a NUL character.
        """
        kind = self.scheme
        if self.host is not None or self.port is not None or self.username is not None:
            raise InvalidURL(
                f"{self.redacted}: a {kind} URL names a file, so it has no host, port, user "
                f"or password; write {kind}:///relative/path or {kind}:////absolute/path"
            )
        path = unquote(self.path.removeprefix("/"))
        if not path:
            raise InvalidURL(
                f"{self.redacted}: no file path given; write {kind}:///relative/path "
                f"or {kind}:////absolute/path"
            )
        if "\x00" in path:
            raise InvalidURL(f"{self.redacted}: the file path contains a NUL character")
        if path == ":memory:":
            # SQLite would open a private database that vanishes on close, while health()
            # and the fallback logic would still treat it as a durable file.
            raise InvalidURL(
                f"{self.redacted}: ':memory:' is not a file; "
                "use memory:// for a store that lives in this process"
            )
        last = path.rsplit("/", 1)[-1]
        if last in ("", ".", "..") or ("/" not in path and path.startswith("~")):
            raise InvalidURL(
                f"{self.redacted}: the path names a directory, not a file; add a file name to it"
            )
        return os.path.expanduser(path)


def is_secret_option(name: str) -> bool:
    """Return whether a query option's value must be redacted, judging by its name."""
    folded = unquote_plus(name).casefold()
    return any(word in folded for word in SECRET_OPTION_WORDS)


def redact_url(url: str) -> str:
    """Return ``url`` with its password and secret option values replaced by ``***``.

    The URL need not be valid. Everything between ``://`` and the last ``@`` is taken as
    user information, of which only the user name before the first ``:`` is shown (nothing
    is shown when that name holds a ``/``, ``?`` or ``#``); a port that is not a number is
    hidden too, being perhaps a password with no ``@host`` after it. The value of a query
    option whose name looks secret (``is_secret_option``) is hidden with everything after
    it, since an unescaped ``&`` in it would look like the start of the next option.
    Over-redacting is safe.
    """
    return _redact(url)


def parse_url(url: str) -> ParsedURL:
    """Take a store URL apart.

    Args:
        url: ``scheme://[user[:password]@]host[:port][/path][?option=value&...]``.

    Returns:
        The parts, with the user name, password, and option names and values
        percent-decoded.

    Raises:
        InvalidURL: ``url`` is not a string, has no ``scheme://``, contains control
            characters or surrounding spaces, has a ``#fragment``, an ``@`` after a ``/``,
            ``?`` or ``#`` (an unescaped character in the password), a bad host or port, or
            an option given twice or without a name. The message never shows a password.
    """
    if not isinstance(url, str):
        raise InvalidURL(f"a store URL must be a string, not {type(url).__name__}")
    shown = redact_url(url)
    if _CONTROL.search(url):
        raise InvalidURL(
            f"{shown!r}: a store URL cannot contain control characters (a newline or a tab?); "
            "percent-encode any that belong to a password"
        )
    if url != url.strip():
        raise InvalidURL(f"{shown!r}: a store URL cannot start or end with spaces")
    match = _SCHEME.match(url)
    if match is None:
        raise InvalidURL(f"not a store URL: {shown!r} (expected scheme://...)")
    base = match.end()
    rest = url[base:]
    authority_end = _first_of(rest, "/?#", 0)
    if rest.rfind("@") > authority_end:
        raise InvalidURL(
            f"{shown}: an '@' comes after a '/', '?' or '#'. If the password or user name "
            f"contains one of those characters, {_ENCODE_HINT}; write an '@' in a path or "
            "option value as %40"
        )
    if "#" in rest:
        raise InvalidURL(
            f"{shown}: a store URL cannot have a #fragment; write a '#' that belongs to a "
            "password or option value as %23"
        )
    userinfo, has_userinfo, hostport = rest[:authority_end].rpartition("@")
    username = password = None
    if has_userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if colon else None
    host, port = _host_and_port(hostport, shown)
    path, _, _ = rest[authority_end:].partition("?")
    query_start = url.find("?", base)
    return ParsedURL(
        raw=url,
        scheme=match.group(1).lower(),
        username=username,
        password=password,
        host=host,
        port=port,
        path=path,
        query=_options(url, query_start, shown),
    )


def check_query(url: ParsedURL, allowed: Set[str]) -> None:
    """Raise ``InvalidURL`` for query options the backend does not understand.

    The message names the unknown options but never shows their values: an option the
    backend does not know may hold anything, a misspelt ``?pasword=`` included.
    """
    unknown = set(url.query) - set(allowed)
    if not unknown:
        return
    doubtful = unknown & _names_after_secret(url)
    named = [_show_name(name) for name in sorted(unknown - doubtful)]
    if doubtful:
        named.append(
            f"{len(doubtful)} more after a secret option, not named here as it may "
            "be part of the secret (write an '&' in a password or token as %26)"
        )
    takes = ", ".join(sorted(allowed)) or "no options"
    shown = _redact(url.raw, hide_values_of=unknown)
    raise InvalidURL(f"{shown}: unknown option(s) {', '.join(named)}; it takes {takes}")


def query_flag(url: ParsedURL, name: str, default: bool = False) -> bool:
    """Read a boolean query option (``1/0``, ``true/false``, ``yes/no``, ``on/off``).

    An option given with no value (``?read_only``) is true.

    Raises:
        InvalidURL: the value is none of those spellings.
    """
    raw = url.query.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    shown = _MASK if is_secret_option(name) else repr(raw)
    raise InvalidURL(
        f"{url.redacted}: {name}={shown} is not a boolean (use 1/0, true/false, yes/no or on/off)"
    )


def check_no_location(url: ParsedURL) -> None:
    """Raise ``InvalidURL`` unless ``url`` names no place: a store that lives in this process.

    ``scheme://`` and ``scheme:///`` pass; a host, port, user, password or path is refused
    rather than silently ignored.
    """
    if (
        url.username is not None
        or url.host is not None
        or url.port is not None
        or url.path not in ("", "/")
    ):
        raise InvalidURL(
            f"{url.redacted}: a {url.scheme}:// store lives in this process, so its URL "
            f"has no host, port, user, password or path; write {url.scheme}://"
        )


# --- helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    name: str  # decoded
    value: str  # decoded
    end: int  # where the raw item ends in the URL
    value_start: int  # where its raw value starts (its end when it has no "=")
    secret: bool  # its name looks secret
    after_secret: bool  # it comes after a secret option: perhaps part of that value


def _redact(url: str, hide_values_of: Set[str] = frozenset()) -> str:
    """Redact as ``redact_url`` does, also hiding the values of the options named."""
    if not isinstance(url, str):
        return f"<{type(url).__name__}>"
    hidden = bytearray(len(url))
    match = _SCHEME.match(url)
    start = match.end() if match else 0
    at = url.rfind("@")
    if at >= start:
        user, colon, _ = url[start:at].partition(":")
        if any(c in user for c in "/?#"):
            _hide(hidden, start, at)
        elif colon:
            _hide(hidden, start + len(user) + 1, at)
    host_start = at + 1 if at >= start else start
    host_end = _first_of(url, "/?#", host_start)
    if not url.startswith("[", host_start):
        port_colon = url.find(":", host_start, host_end)
        if port_colon >= 0 and not _is_port(url[port_colon + 1 : host_end]):
            _hide(hidden, port_colon + 1, host_end)
    # The query starts at the first "?" after the scheme, unless that "?" was really in a
    # password: read it both ways and hide what either reading calls secret.
    for query_start in {url.find("?", start), url.find("?", host_start)} - {-1}:
        for option in _scan_query(url, query_start + 1):
            if option.secret:
                # ?password=ab&cd=ef may be the password "ab&cd=ef" with an unescaped "&",
                # and nothing tells where such a value ends: hide all that follows.
                _hide(hidden, option.value_start, len(url))
                break
            if option.name in hide_values_of:
                _hide(hidden, option.value_start, option.end)
    return _render(url, hidden)


def _scan_query(url: str, start: int) -> list[_Option]:
    """Split the query that starts at ``url[start]`` (just after ``?``) into options.

    The query runs to the end of the string, "#" included, so that a secret value with an
    unescaped "#" is still hidden whole.
    """
    options: list[_Option] = []
    after_secret = False
    pos = start
    for item in url[start:].split("&"):
        end = pos + len(item)
        if item:
            name, equals, value = item.partition("=")
            secret = is_secret_option(name)
            value_start = pos + len(name) + len(equals)
            decoded = (unquote_plus(name), unquote_plus(value))
            options.append(_Option(*decoded, end, value_start, secret, after_secret))
            after_secret = after_secret or secret
        pos = end + 1
    return options


def _options(url: str, query_start: int, shown: str) -> dict[str, str]:
    if query_start < 0:
        return {}
    query: dict[str, str] = {}
    for option in _scan_query(url, query_start + 1):
        if not option.name:
            raise InvalidURL(f"{shown}: an option has no name (a stray '=' in the query?)")
        if option.name in query:
            what = "an option" if option.after_secret else f"option {_show_name(option.name)}"
            # Taking the first or the last would silently drop what someone meant.
            raise InvalidURL(f"{shown}: {what} is given more than once; give each option once")
        query[option.name] = option.value
    return query


def _names_after_secret(url: ParsedURL) -> set[str]:
    match = _SCHEME.match(url.raw)
    query_start = url.raw.find("?", match.end() if match else 0)
    if query_start < 0:
        return set()
    return {o.name for o in _scan_query(url.raw, query_start + 1) if o.after_secret}


def _host_and_port(hostport: str, shown: str) -> tuple[str | None, int | None]:
    port_text: str | None
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        try:
            ipaddress.IPv6Address(host.partition("%")[0])  # a zone ("%25eth0") may follow
        except ValueError:
            bracket = ""
        if not bracket or (after and not after.startswith(":")):
            raise InvalidURL(f"{shown}: a host in [brackets] must be an IPv6 address, as in [::1]")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text = hostport.partition(":")
        if ":" in port_text:
            raise InvalidURL(f"{shown}: write an IPv6 address in brackets, as in bolt://[::1]:7687")
        if not colon:
            port_text = None
    host = host.lower()
    if any(c.isspace() for c in host) or (
        not host.isascii() and any(c in unicodedata.normalize("NFKC", host) for c in "/?#@:")
    ):
        raise InvalidURL(f"{shown}: the host name contains characters a host cannot have")
    port = None
    if port_text is not None:
        if not (_is_port(port_text) and 0 < int(port_text) < 65536):
            raise InvalidURL(f"{shown}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return host or None, port


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _first_of(text: str, chars: str, start: int) -> int:
    """Return the index of the first of ``chars`` in ``text`` from ``start``, or its length."""
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found, default=len(text))


def _hide(hidden: bytearray, start: int, end: int) -> None:
    hidden[start:end] = b"\x01" * (end - start)


def _render(url: str, hidden: bytearray) -> str:
    out: list[str] = []
    for i, char in enumerate(url):
        if not hidden[i]:
            out.append(char)
        elif i == 0 or not hidden[i - 1]:
            out.append(_MASK)
    return "".join(out)


def _show_name(name: str) -> str:
    return name if name.isidentifier() else repr(name)
