"""Exports for looking at the graph: Cypher, GraphML, Graphviz DOT, Mermaid and HTML.

The library behind ``intentgraph export``::

    from intentgraph import open_store
    from intentgraph.export import export

    with open_store("sqlite:///goals.db") as store:
        export(store, "mermaid", "goals.mmd", root="release")

The whole graph streams from one ``snapshot()`` (constant memory) for every format but
``html``, which draws at most ``HTML_MAX_NODES`` intents. With ``root``, the export is the
subtree of ``root`` plus the intents its members depend on directly (drawn as outside the
subtree), and every edge between exported intents.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import IO, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from intentgraph._targets import refuse_store_files, replacing, store_files
from intentgraph.errors import IntentGraphError
from intentgraph.models import Edge, Intent
from intentgraph.protocol import IntentStorage

__all__ = ["FORMATS", "HTML_MAX_NODES", "ExportSummary", "Format", "Writer", "export"]

Format = Literal["cypher", "graphml", "dot", "mermaid", "html"]
FORMATS: tuple[str, ...] = ("cypher", "graphml", "dot", "mermaid", "html")
HTML_MAX_NODES = 5000
"""The most intents an HTML page draws (a browser stays responsive up to about this)."""

Progress = Callable[[str, int, int | None], None]


class ExportSummary(BaseModel):
    """What ``export`` wrote."""

    model_config = ConfigDict(frozen=True)

    format: str
    file: str
    root: str | None = None
    intents: int
    edges: int


class Writer(Protocol):
    """One export format: intents first, then edges, then the end."""

    def intents(self, batch: list[Intent], *, outside: bool = False) -> None: ...
    def edges(self, batch: list[Edge]) -> None: ...
    def end(self) -> None: ...


def _writer(fmt: str, out: IO[str], *, title: str, counts: tuple[int, int]) -> Writer:
    if fmt == "cypher":
        from intentgraph.export.cypher import CypherWriter

        return CypherWriter(out, counts=counts)
    if fmt == "graphml":
        from intentgraph.export.graphml import GraphMLWriter

        return GraphMLWriter(out)
    if fmt == "dot":
        from intentgraph.export.dot import DotWriter

        return DotWriter(out, title=title)
    if fmt == "mermaid":
        from intentgraph.export.mermaid import MermaidWriter

        return MermaidWriter(out, fenced=title.endswith(".md"))
    if fmt == "html":
        from intentgraph.export.html import HtmlWriter

        return HtmlWriter(out, title=title)
    raise IntentGraphError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")


class TooLarge(IntentGraphError, ValueError):
    """Raised when an HTML export would draw more than ``HTML_MAX_NODES`` intents."""


def select(store: IntentStorage, root: str) -> tuple[list[Intent], list[Intent], list[Edge]]:
    """Return (subtree of ``root``, the intents outside it that it depends on, the edges
    between all of them)."""
    tree = [n.intent for n in store.subtree(root)]
    inside = {i.id for i in tree}
    outside: dict[str, Intent] = {}
    for intent in tree:
        for dep in store.dependencies(intent.id):
            if dep.id not in inside:
                outside.setdefault(dep.id, dep)
    chosen = inside | outside.keys()
    # A symmetric edge comes oriented from the intent asked about: keep it once, from
    # its smaller end, as it is stored.
    edges = [
        edge
        for intent_id in sorted(chosen)
        for edge in store.edges(intent_id, direction="out")
        if edge.target in chosen and (not edge.type.symmetric or edge.source < edge.target)
    ]
    edges.sort(key=lambda e: e.key)
    return tree, [outside[i] for i in sorted(outside)], edges


def export(
    store: IntentStorage,
    fmt: str,
    target: str | os.PathLike[str] | IO[str],
    *,
    root: str | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Write the graph (or the subtree of ``root``) of ``store`` in format ``fmt``.

    ``target`` is a path (written to a temporary file beside it, then renamed) or a text
    file object. A Mermaid export to a path ending in ``.md`` is wrapped in a
    ```` ```mermaid ```` fence, for a markdown page.

    Raises:
        IntentNotFound: ``root`` is not stored.
        IntentGraphError: an unknown format, or an HTML page over ``HTML_MAX_NODES``.
        TargetIsStore: the path is one of the store's own files; nothing is written.
    """
    if fmt not in FORMATS:
        raise IntentGraphError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    if isinstance(target, str | os.PathLike):
        refuse_store_files(target, store_files(store))
        name = os.fspath(target)
    else:
        name = getattr(target, "name", "-")
    with _opened(target) as out:
        if root is not None:
            tree, outside, edges = select(store, root)
            if fmt == "html" and len(tree) + len(outside) > HTML_MAX_NODES:
                raise _too_large(len(tree) + len(outside))
            writer = _writer(
                fmt, out, title=str(name), counts=(len(tree) + len(outside), len(edges))
            )
            writer.intents(tree)
            if outside:
                writer.intents(outside, outside=True)
            writer.edges(edges)
            writer.end()
            counts = (len(tree) + len(outside), len(edges))
        else:
            counts = _export_all(store, fmt, out, str(name), progress)
    return ExportSummary(format=fmt, file=str(name), root=root, intents=counts[0], edges=counts[1])


def _export_all(
    store: IntentStorage, fmt: str, out: IO[str], name: str, progress: Progress | None
) -> tuple[int, int]:
    with store.snapshot(batch_size=1000) as view:
        total = (view.intent_count, view.edge_count)
        if fmt == "html" and total[0] > HTML_MAX_NODES:
            raise _too_large(total[0])
        writer = _writer(fmt, out, title=name, counts=total)
        done = 0
        for batch in view.intents():
            writer.intents(batch)
            done += len(batch)
            if progress:
                progress("intents", done, total[0])
        done = 0
        for edges in view.edges():
            writer.edges(edges)
            done += len(edges)
            if progress:
                progress("edges", done, total[1])
        writer.end()
    return total


def _too_large(count: int) -> TooLarge:
    return TooLarge(
        f"an HTML page draws at most {HTML_MAX_NODES} intents and this would be {count}; "
        "export a subtree with --root ID"
    )


@contextlib.contextmanager
def _opened(target: str | os.PathLike[str] | IO[str]) -> Iterator[IO[str]]:
    if isinstance(target, str | os.PathLike):
        with replacing(target, text=True) as out:
            yield out
        return
    yield target
    target.flush()
