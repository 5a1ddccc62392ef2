"""``python -m intentgraph``: the ``intentgraph`` command."""

from intentgraph.cli import main

if __name__ == "__main__":
    main()
