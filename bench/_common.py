"""Helpers shared by the hand-run benchmarks (never run in CI)."""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from collections.abc import Callable
from typing import Any

from intentgraph.backends._sqlite_schema import MIGRATIONS


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Return the median wall time of ``fn`` in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def percentiles(samples: list[float]) -> tuple[float, float]:
    """Return (p50, p90) of ``samples``."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.9)]


def raw_connection(path: str, *, create: bool) -> sqlite3.Connection:
    """Open ``path`` with the backend's PRAGMAs; create the same schema when asked."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if create:
        for statements in MIGRATIONS:
            for statement in statements:
                conn.execute(statement)
    return conn


def parse_all(rows: list[tuple[str]]) -> list[Any]:
    """The raw baseline's deserialisation: ``json.loads`` per row."""
    return [json.loads(r[0]) for r in rows]


def row(label: str, ours: float, raw: float | None, unit: str = "ms", note: str = "") -> str:
    """Format one table row: our figure, the raw baseline and the ratio."""
    scale = 1000.0 if unit == "ms" else 1.0
    raw_txt = "-" if raw is None else f"{raw * scale:10.3f}"
    ratio = "-" if not raw else f"{ours / raw:6.2f}x"
    return f"| {label:<44} | {ours * scale:10.3f} | {raw_txt:>10} | {ratio:>7} | {note}"


HEADER = (
    f"| {'measure':<44} | {'ours':>10} | {'raw':>10} | {'ratio':>7} | note\n"
    f"|{'-' * 46}|{'-' * 12}|{'-' * 12}|{'-' * 9}|------"
)
