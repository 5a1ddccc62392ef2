"""The ``intentgraph`` command group: global options, opening the store, and turning
library errors into one-line messages with documented exit codes."""

from __future__ import annotations

import json
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeGuard, TypeVar

import click

from intentgraph import errors as e
from intentgraph.cli._output import Output

__all__ = ["EXIT_CODES", "State", "cli", "exit_code", "main", "options", "store_option"]

EXIT_CODES = {
    0: "ok",
    1: "check failed (verify found problems) or not found",
    2: "usage: a bad command, option or argument, or a file it names cannot be written",
    3: "store unreachable: cannot be opened, locked, backend not installed",
    4: "data error: corrupt backup or store, constraint violation",
    130: "interrupted (Ctrl-C or SIGTERM): what was being written is as before",
}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    """The global options of one run, shared by the group and its command."""

    store_url: str | None = None
    json: bool = False
    quiet: bool = False
    debug: bool = False
    _opened: list[Any] = field(default_factory=list)

    @property
    def out(self) -> Output:
        return Output(as_json=self.json, quiet=self.quiet)

    def open(self, url: str | None = None) -> Any:
        """Open ``url`` (default: ``--store``, else ``INTENTGRAPH_URL``, else the default
        SQLite file); closed when the command ends."""
        from intentgraph.factory import open_store

        store = open_store(url if url is not None else self.store_url)
        self._opened.append(store)
        click.get_current_context().call_on_close(store.close)
        return store


def state() -> State:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = State()
    return root.obj  # type: ignore[no-any-return]


def _set(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:
            setattr(state(), name, value)

    return callback


def options(func: F) -> F:
    """The options every command takes: ``--json``, ``--quiet``, ``--debug``."""
    for name, help_text in reversed(
        [
            ("json", "Print the result as JSON (the shapes are in docs/cli.md)."),
            ("quiet", "Print nothing but errors."),
            ("debug", "Show the traceback of an error."),
        ]
    ):
        func = click.option(
            f"--{name}",
            is_flag=True,
            expose_value=False,
            callback=_set(name),
            help=help_text,
        )(func)
    return func


def store_option(func: F) -> F:
    """``--store URL``: which store (else ``INTENTGRAPH_URL``, else the default file)."""
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        expose_value=False,
        callback=_set("store_url"),
        help="The store, e.g. sqlite:///goals.db (default: $INTENTGRAPH_URL, else "
        "sqlite:///./intentgraph.db).",
    )(func)


def _version() -> str:
    from intentgraph import __version__

    return __version__


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: intentgraph --store sqlite:///goals.db ready",
)
@click.version_option(_version(), "--version", prog_name="intentgraph")
@store_option
@options
def cli() -> None:
    """Look after an intentgraph store: back it up, restore, copy, verify, export,
    and look at its goals.

    Exit codes: 0 ok, 1 check failed or not found, 2 usage, 3 store unreachable,
    4 data error, 130 interrupted.
    """


def exit_code(exc: BaseException) -> int:
    """Return the documented exit code for an error (see ``EXIT_CODES``)."""
    if isinstance(exc, e.IntentNotFound | e.EdgeNotFound | e.MissingEndpoint):
        return 1
    if isinstance(exc, e.InvalidURL | e.InvalidFilter | e.TargetIsStore):
        return 2
    if isinstance(exc, e.StoreCorrupted | e.BackupError):
        return 4
    if isinstance(
        exc,
        e.StorageError | e.BackendNotInstalled | e.StoreClosed | e.ReadOnlyStore,
    ):
        return 3
    if isinstance(exc, e.IntentGraphError):
        return 4  # the remaining ones are constraint violations and conflicts
    if _file_error(exc):
        return 2  # a file named on the command line (stores raise StorageError)
    return 1


def _file_error(exc: BaseException) -> TypeGuard[OSError]:
    """An error of the OS about a named file (a backup or export path)."""
    return isinstance(exc, OSError) and exc.errno is not None and exc.filename is not None


def _fail(code: int, message: str, kind: str, argv: Sequence[str]) -> NoReturn:
    if "--json" in argv:
        error = {"exit_code": code, "type": kind, "message": message}
        sys.stdout.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
    click.echo(f"intentgraph: {message}", err=True)
    sys.exit(code)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class InterruptedAfterWrite(click.exceptions.Abort):
    """Ctrl-C or SIGTERM after a command's write was committed: it is whole, not undone,
    and the message says so (exit 130 still: the command did not finish)."""


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``) and exit with its code."""
    if threading.current_thread() is threading.main_thread():
        # ``kill``, a service manager or a container stopping the command: stop as Ctrl-C
        # does (what was being written is as before, temporary files removed), where
        # Python's default would end the process with nothing cleaned up.
        signal.signal(signal.SIGTERM, _terminated)
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="intentgraph", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, InterruptedAfterWrite):
            _fail(130, str(exc), "Interrupted", args)
        _fail(130, "interrupted; nothing was left half done", "Interrupted", args)
    except click.ClickException as exc:  # usage errors: click's own message and hint
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        code = exit_code(exc)
        if isinstance(exc, e.IntentGraphError):
            message = str(exc)
        elif _file_error(exc):
            message = f"{exc.filename}: {exc.strerror}"
        else:
            message = f"unexpected error: {type(exc).__name__}: {exc} (--debug shows where)"
        _fail(code, message, type(exc).__name__, args)
    sys.exit(result if isinstance(result, int) else 0)
