"""Storage backends, one module each; import them as ``intentgraph.backends.<name>``.

Open a store through ``intentgraph.open_store(url)`` rather than by class, so the URL scheme
picks the backend and optional dependencies are checked with a clear error.
"""
