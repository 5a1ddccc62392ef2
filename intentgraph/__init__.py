"""intentgraph: persist the goals of AI agent orchestrators as a graph.

Importing the package does nothing else: no environment reads, no connections.
"""

from intentgraph import errors
from intentgraph.factory import StorageFactory, open_store
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus
from intentgraph.protocol import (
    BlockedIntent,
    GraphStats,
    Health,
    IntentContext,
    IntentFilter,
    IntentStorage,
    TreeNode,
)

__version__ = "0.1.0"

__all__ = [
    "BlockedIntent",
    "Edge",
    "EdgeType",
    "GraphStats",
    "Health",
    "Intent",
    "IntentContext",
    "IntentFilter",
    "IntentStatus",
    "IntentStorage",
    "StorageFactory",
    "TreeNode",
    "__version__",
    "errors",
    "open_store",
]
