"""Commands that move or check a whole store: backup, restore, copy, verify, export,
migrate, and shell completion."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from intentgraph.cli._app import InterruptedAfterWrite, cli, options, state, store_option

if TYPE_CHECKING:
    from intentgraph.backup import Progress

MODES = click.Choice(["replace", "merge"])


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--gzip/--no-gzip", "compress", default=None, help="Compress (default: when FILE ends in .gz)."
)
@store_option
@options
def backup(file: str, compress: bool | None) -> None:
    """Back up the store to FILE (.gz: compressed; -: standard output).

    A consistent snapshot, taken while other processes may go on writing; written to a
    temporary file and renamed into place when complete.

    Example: intentgraph backup --store sqlite:///goals.db goals-2026-11-21.jsonl.gz
    """
    from intentgraph.backup import write_backup

    st = state()
    store = st.open()
    with st.out.progress() as progress:
        if file == "-":
            summary = write_backup(store, sys.stdout.buffer, compress=compress, progress=progress)
        else:
            summary = write_backup(store, file, compress=compress, progress=progress)
    data = summary.model_dump(mode="json")
    if file == "-":  # standard output holds the backup: the summary goes to stderr
        if st.json:
            click.echo(_json(data), err=True)
        return
    st.out.result(
        data,
        lambda: st.out.line(
            f"backed up {summary.intents} intents and {summary.edges} edges to {file} "
            f"({_size(summary.file_bytes)}"
            f"{f', gzip of {_size(summary.bytes)}' if summary.compressed else ''}) "
            f"in {summary.seconds:.2f} s; sha256 {summary.sha256[:16]}…"
        ),
    )


@contextlib.contextmanager
def _watching_the_write(st: Any, holds: str) -> Iterator[Progress]:
    """The progress callback of a restore or copy (bars on a terminal), which notes when
    the write is committed: Ctrl-C after that says the store ``holds`` it, not that
    nothing was left half done."""
    written = False
    with st.out.progress() as bars:

        def report(phase: str, done: int, total: int | None) -> None:
            nonlocal written
            if phase == "written":
                written = True
            elif bars is not None:
                bars(phase, done, total)

        try:
            yield report
        except KeyboardInterrupt:
            if written:
                raise InterruptedAfterWrite(f"interrupted after the write: {holds}") from None
            raise


def _json(data: object) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, indent=2)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--mode",
    type=MODES,
    default="replace",
    show_default=True,
    help="replace: the store becomes the backup; merge: add it to the store (higher version wins).",
)
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@store_option
@options
def restore(file: str, mode: str, dry_run: bool) -> None:
    """Restore FILE (- for standard input) into the store, atomically.

    The whole backup is checked first (format, version, every record, counts, SHA-256,
    the graph invariants of the result, the merge rule); on any problem, or Ctrl-C, the
    store is exactly as before and the error names the line.

    Example: intentgraph restore goals.jsonl.gz --store sqlite:///new.db --mode replace
    """
    from intentgraph.backup import restore as run

    st = state()
    store = st.open()
    source = sys.stdin.buffer if file == "-" else file

    def human() -> None:
        verb = "would write" if dry_run else "wrote"
        text = (
            f"{file}: {summary.intents} intents and {summary.edges} edges, checked; "
            f"{verb} {summary.written_intents} intents and {summary.written_edges} edges "
            f"into {store.url} ({mode})"
        )
        if mode == "replace" and (summary.removed_intents or summary.removed_edges):
            text += (
                f", replacing {summary.removed_intents} intents and {summary.removed_edges} edges"
            )
        if summary.kept_intents or summary.unchanged:
            text += (
                f"; kept {summary.kept_intents} newer stored intents,"
                f" {summary.unchanged} records unchanged"
            )
        st.out.line(text)

    with _watching_the_write(st, f"{store.url} holds the whole backup") as progress:
        summary = run(source, store, mode=mode, dry_run=dry_run, progress=progress)  # type: ignore[arg-type]
        st.out.result(summary.model_dump(mode="json"), human)


@cli.command()
@click.argument("source_url", metavar="SRC_URL")
@click.argument("target_url", metavar="DST_URL")
@click.option("--mode", type=MODES, default="replace", show_default=True, help="As for restore.")
@options
def copy(source_url: str, target_url: str, mode: str) -> None:
    """Copy a store into another, any backend to any backend.

    Streams a backup of SRC_URL through a temporary file and restores it into DST_URL:
    checked, then applied atomically.

    Example: intentgraph copy sqlite:///goals.db json:///goals.json
    """
    from intentgraph.backup import copy_store
    from intentgraph.errors import InvalidURL
    from intentgraph.factory import parse_url

    if parse_url(source_url).redacted == parse_url(target_url).redacted:
        raise InvalidURL("SRC_URL and DST_URL are the same store")
    st = state()
    source = st.open(source_url)
    target = st.open(target_url)
    with _watching_the_write(st, f"{target.url} holds the whole copy") as progress:
        summary = copy_store(source, target, mode=mode, progress=progress)  # type: ignore[arg-type]
        st.out.result(
            summary.model_dump(mode="json"),
            lambda: st.out.line(
                f"copied {summary.written_intents} intents and {summary.written_edges} edges "
                f"from {source.url} to {target.url} ({mode})"
            ),
        )


@cli.command()
@click.option(
    "--repair", is_flag=True, help="Rebuild derived state (never user data), then check again."
)
@store_option
@options
def verify(repair: bool) -> None:
    """Check the store's integrity; exit 1 when problems are found.

    Dangling and duplicate edges, several parents, subgoal and dependency cycles, invalid
    records and statuses, maintained state against a recomputation, the backend's own
    checks and the schema version.

    Example: intentgraph verify --store sqlite:///goals.db --repair
    """
    from intentgraph.verify import verify_url

    st = state()
    report = verify_url(st.store_url, repair=repair)
    out = st.out

    def human() -> None:
        schema = ""
        if report.schema_version is not None:
            current = (
                "current"
                if report.schema_version == report.schema_current
                else f"current is {report.schema_current}"
            )
            schema = f", schema {report.schema_version} ({current})"
        counts = (
            "" if report.intents is None else f": {report.intents} intents, {report.edges} edges"
        )
        if report.repaired:
            out.line(f"repaired {report.repaired} rows of derived state")
        for problem in report.problems:
            fix = " (repairable: verify --repair)" if problem.repairable else ""
            out.line(f"problem [{problem.kind}] {problem.message}{fix}")
        state_word = "OK" if report.ok else f"{len(report.problems)} problem(s)"
        out.line(f"{state_word} {report.url}{counts}{schema}")

    out.result(report.model_dump(mode="json"), human)
    if not report.ok:
        click.get_current_context().exit(1)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cypher", "graphml", "dot", "mermaid", "html"]),
    required=True,
    help="cypher (Neo4j), graphml (Gephi, yEd, networkx), dot (Graphviz), mermaid, html.",
)
@click.option(
    "--root", default=None, metavar="ID", help="Only the subtree of ID and what it depends on."
)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@store_option
@options
def export(fmt: str, root: str | None, file: str) -> None:
    """Export the graph or a subtree: Cypher, GraphML, DOT, Mermaid or HTML.

    FILE - writes to standard output.

    Example: intentgraph export --format html --root release release.html
    """
    from intentgraph.export import export as run

    st = state()
    store = st.open()
    with st.out.progress() as progress:
        if file == "-":
            summary = run(store, fmt, sys.stdout, root=root, progress=progress)
        else:
            summary = run(store, fmt, file, root=root, progress=progress)
    if file == "-":
        return
    st.out.result(
        summary.model_dump(mode="json"),
        lambda: st.out.line(
            f"exported {summary.intents} intents and {summary.edges} edges as {fmt} to {file}"
        ),
    )


@cli.command()
@store_option
@options
def migrate() -> None:
    """Bring the store's schema up to date (a no-op when it is current).

    Example: intentgraph migrate --store sqlite:///goals.db
    """
    from intentgraph.verify import migrate as run

    st = state()
    report = run(st.store_url)
    st.out.result(
        report.model_dump(mode="json"),
        lambda: st.out.line(
            f"{report.url}: schema {report.from_version} -> {report.to_version}"
            if report.migrated
            else f"{report.url}: schema {report.to_version}, current: nothing to do"
        ),
    )


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    Example: eval "$(intentgraph completion bash)"
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None
    script = cls(cli, {}, "intentgraph", "_INTENTGRAPH_COMPLETE").source()
    click.echo(script)
