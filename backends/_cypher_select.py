"""``list`` and ``count`` on the Cypher store: an ``IntentFilter`` as the parameters of
``list.cypher``/``count.cypher``, and the ORDER BY of each order.

Criteria the server compares exactly as Python does run in the query, which then also pages
(SKIP/LIMIT); the others (metadata, and on FalkorDB a string with a NUL character, which its
client cannot send) are checked in Python with ``IntentFilter.matches``, after the query, and
the paging is done there too. Sort keys are integers and the hex keys of ``_cypher_rows``,
which order as Python's strings do on every server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from intentgraph._base import storable_id
from intentgraph._codec import intent_from_json
from intentgraph.backends._cypher_dialect import MAX_LIMIT, Dialect, load
from intentgraph.backends._cypher_rows import hex_key
from intentgraph.backends._sqlite_query import to_us
from intentgraph.filters import IntentFilter
from intentgraph.models import Intent

__all__ = ["count_intents", "select_intents"]

Reader = Callable[[str, dict[str, Any]], list[Any]]

_MIN, _MAX = -(2**63), 2**63 - 1
_DEFAULT_ORDER = "ORDER BY i.created_us, i.ik"
_ORDER_KEYS = {
    "created_at": ("i.created_us", "i.ik"),
    "updated_at": ("i.updated_us", "i.ik"),
    "priority": ("i.priority", "i.created_us", "i.ik"),
    "name": ("i.nk", "i.ik"),
    "id": ("i.ik",),
}


def order_clause(order_by: str, descending: bool) -> str:
    """The ORDER BY of ``list.cypher`` for an order (every variant is linted)."""
    keys = _ORDER_KEYS[order_by]
    return "ORDER BY " + ", ".join(f"{k} DESC" if descending else k for k in keys)


def list_query(order_by: str, descending: bool, *, skip: bool, limit: bool) -> str:
    """``list.cypher`` with the ORDER BY of this order, and SKIP/LIMIT only when asked for.

    An unbounded LIMIT is left out rather than sent as a large number: ArcadeDB fails on an
    ORDER BY with LIMIT 2^31 - 1 ("unexpected error"), as if it made room for that many.
    """
    query = load("list")
    assert query.endswith(" SKIP $skip LIMIT $limit") and _DEFAULT_ORDER in query
    query = query.removesuffix(" SKIP $skip LIMIT $limit")
    query = query.replace(_DEFAULT_ORDER, order_clause(order_by, descending))
    return query + (" SKIP $skip" if skip else "") + (" LIMIT $limit" if limit else "")


def _unsendable(text: str | None, sanitizes: bool) -> bool:
    return text is not None and sanitizes and ("\x00" in text or "\ufffd" in text)


def _params(flt: IntentFilter, sanitizes: bool) -> tuple[dict[str, Any] | None, bool]:
    """Return the query parameters (None: nothing can match) and whether they are exact."""
    exact = not flt.metadata
    low = _MIN if flt.priority_min is None else flt.priority_min
    high = _MAX if flt.priority_max is None else flt.priority_max
    if low > _MAX or high < _MIN or low > high:
        return None, True
    text = None if flt.text is None else flt.text.casefold()
    session = flt.session_id
    if _unsendable(text, sanitizes):
        text, exact = None, False
    if _unsendable(session, sanitizes):
        session, exact = None, False
    params = {
        "status": None if flt.status is None else sorted({s.value for s in flt.status}),
        # An id no intent can have (a NUL, a blank...) cannot match: never sent.
        "ids": None if flt.ids is None else sorted({i for i in flt.ids if storable_id(i)}),
        "session_id": session,
        "priority_min": None if flt.priority_min is None else max(low, _MIN),
        "priority_max": None if flt.priority_max is None else min(high, _MAX),
        "created_after": _us(flt.created_after),
        "created_before": _us(flt.created_before),
        "updated_after": _us(flt.updated_after),
        "updated_before": _us(flt.updated_before),
        "text": text,
    }
    return params, exact


def _us(value: Any) -> int | None:
    return None if value is None else to_us(value)


def select_intents(read: Reader, flt: IntentFilter, dialect: Dialect) -> list[Intent]:
    """Return ``list(flt)``."""
    params, exact = _params(flt, dialect.sanitizes_nul)
    if params is None or flt.offset > dialect.max_page:
        return []
    if flt.ids is not None:
        # By id: the constraint's index, never a scan; filtered and ordered here.
        found = []
        for start in range(0, len(params["ids"]), 2000):
            part = params["ids"][start : start + 2000]
            found += [intent_from_json(r[1]) for r in read(load("get_many"), {"ids": part})]
        return _page([i for i in found if flt.matches(i)], flt)
    paged = exact and (flt.limit is not None or flt.offset)
    skip = bool(paged and flt.offset)
    limit = bool(paged and flt.limit is not None and flt.limit <= MAX_LIMIT)
    if skip:
        params["skip"] = flt.offset
    if limit:
        params["limit"] = flt.limit
    rows = read(list_query(flt.order_by, flt.descending, skip=skip, limit=limit), params)
    if paged and flt.limit is not None:
        rows = rows[: flt.limit]
    found = [intent_from_json(r[1]) for r in rows]
    if exact:
        return found
    return _page([i for i in found if flt.matches(i)], flt)


def _page(found: list[Intent], flt: IntentFilter) -> list[Intent]:
    found.sort(key=lambda i: _key(flt, i), reverse=flt.descending)
    end = None if flt.limit is None else flt.offset + flt.limit
    return found[flt.offset : end]


def _key(flt: IntentFilter, intent: Intent) -> tuple[Any, ...]:
    return flt.sort_key(intent)


def count_intents(read: Reader, flt: IntentFilter, dialect: Dialect) -> int:
    """Return ``count(flt)``."""
    params, exact = _params(flt, dialect.sanitizes_nul)
    if params is None:
        return 0
    if not exact or flt.ids is not None:
        whole = flt.model_copy(update={"limit": None, "offset": 0})
        return len(select_intents(read, whole, dialect))
    return int(read(load("count"), params)[0][0])


__all__ += ["hex_key", "list_query", "order_clause"]
