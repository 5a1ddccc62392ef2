"""How the command talks: JSON for scripts, tables and trees for people, plain text when
piped, progress bars only on a terminal, errors in one or two lines."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from intentgraph.models import Intent

STATUS_STYLE = {
    "pending": "blue",
    "active": "cyan",
    "executing": "yellow",
    "completed": "green",
    "failed": "bold red",
    "suspended": "magenta",
    "archived": "dim",
}

Progress = Callable[[str, int, int | None], None]


class Output:
    """Where a command's results and messages go, by the global options."""

    def __init__(self, *, as_json: bool = False, quiet: bool = False) -> None:
        self.json = as_json
        self.quiet = quiet
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    @property
    def terminal(self) -> bool:
        """True when standard output is a terminal (tables and colour), not a pipe."""
        return sys.stdout.isatty()

    # --- results ------------------------------------------------------------------

    def data(self, value: Any) -> None:
        """Print a JSON value on stdout (``--json``)."""
        sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")

    def result(self, value: Any, human: Callable[[], None]) -> None:
        """Print ``value`` as JSON with ``--json``, else call ``human`` (unless quiet)."""
        if self.json:
            self.data(value)
        elif not self.quiet:
            human()

    def line(self, text: str = "") -> None:
        """Print a line of plain text (no markup) on stdout."""
        if self.terminal:
            self.out.print(text, markup=False)
        else:
            sys.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        """Tell the person something on stderr (never with ``--json`` or ``--quiet``)."""
        if not (self.json or self.quiet):
            self.err.print(text, markup=False)

    def status(self, status: str) -> str:
        """Return a status with its colour (markup) on a terminal, plain otherwise."""
        return f"[{STATUS_STYLE.get(status, '')}]{status}[/]" if self.terminal else status

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], *, status_col: int = -1
    ) -> None:
        """Print rows: a table on a terminal, tab-separated lines when piped."""
        if not self.terminal:
            for row in rows:
                sys.stdout.write("\t".join(row) + "\n")
            return
        from rich import box
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            cells = [escape(c) for c in row]
            if status_col >= 0:
                cells[status_col] = self.status(row[status_col])
            table.add_row(*cells)
        self.out.print(table)

    def intents(self, intents: Sequence[Intent]) -> None:
        """Print intents as id, status, priority and name."""
        rows = [[i.id, i.status.value, str(i.priority), i.name] for i in intents]
        self.table(["ID", "STATUS", "PRIORITY", "NAME"], rows, status_col=1)

    def tree(self, nodes: Sequence[tuple[int, Intent]]) -> None:
        """Print (depth, intent) pairs in order as an indented tree."""
        if not self.terminal:
            for depth, intent in nodes:
                text = f"{'  ' * depth}{intent.name} [{intent.status.value}] ({intent.id})"
                sys.stdout.write(text + "\n")
            return
        from rich.markup import escape
        from rich.tree import Tree

        def label(intent: Intent) -> str:
            status = self.status(intent.status.value)
            return f"{escape(intent.name)} {status} [dim]{escape(intent.id)}[/]"

        root = Tree(label(nodes[0][1]))
        stack = [root]
        for depth, intent in nodes[1:]:
            del stack[depth:]
            stack.append(stack[-1].add(label(intent)))
        self.out.print(root)

    # --- progress -----------------------------------------------------------------

    @contextlib.contextmanager
    def progress(self) -> Iterator[Progress | None]:
        """Yield a progress callback drawing bars on stderr, or None when stderr is not a
        terminal, or with ``--json``/``--quiet``."""
        if self.json or self.quiet or not self.err.is_terminal:
            yield None
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bars = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[progress.data.speed]{task.fields[rate]}"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.err,
            transient=False,
        )
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int | None) -> None:
            task = tasks.get(phase)
            if task is None:
                task = tasks[phase] = bars.add_task(phase, total=total, rate="")
            speed = bars._tasks[task].speed
            rate = f"{speed:,.0f}/s" if speed else ""
            bars.update(task, completed=done, total=total, rate=rate)

        with bars:
            yield update
