"""The ``intentgraph`` command: a thin layer over the library (``intentgraph.backup``,
``intentgraph.verify``, ``intentgraph.export`` and the store's own queries).

``main()`` runs it (the console script and ``python -m intentgraph``); ``cli`` is the click
group, for embedding or testing.
"""

from intentgraph.cli import _data, _inspect  # noqa: F401 - registers the commands
from intentgraph.cli._app import EXIT_CODES, cli, exit_code, main

__all__ = ["EXIT_CODES", "cli", "exit_code", "main"]
