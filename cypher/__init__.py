"""The Cypher query files (package data of intentgraph, never a top-level import name)."""
