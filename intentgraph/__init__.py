"""intentgraph: persist the goals of AI agent orchestrators as a graph.

Importing the package does nothing else: no environment reads, no connections.
"""

from intentgraph import errors
from intentgraph._workloop import default_worker
from intentgraph.factory import StorageFactory, open_store
from intentgraph.models import Edge, EdgeType, Intent, IntentStatus, Lease
from intentgraph.protocol import (
    DEFAULT_LEASE,
    BlockedIntent,
    GraphStats,
    Health,
    IntegrityProblem,
    IntentContext,
    IntentFilter,
    IntentStorage,
    LoadResult,
    Snapshot,
    TreeNode,
)
from intentgraph.results import Change, ChangeBatch

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LEASE",
    "BlockedIntent",
    "Change",
    "ChangeBatch",
    "Edge",
    "EdgeType",
    "GraphStats",
    "Health",
    "IntegrityProblem",
    "Intent",
    "IntentContext",
    "IntentFilter",
    "IntentStatus",
    "IntentStorage",
    "Lease",
    "LoadResult",
    "Snapshot",
    "StorageFactory",
    "TreeNode",
    "__version__",
    "default_worker",
    "errors",
    "open_store",
]
