"""Backups of a store: a streaming, versioned JSON Lines format, restore and copy.

The library behind ``intentgraph backup``, ``restore`` and ``copy``; see
``docs/backup-format.md`` for the format and ``docs/cli.md`` for the commands::

    from intentgraph import backup, open_store

    with open_store("sqlite:///goals.db") as store:
        backup.write_backup(store, "goals.jsonl.gz")
    with open_store("json:///copy.json") as target:
        backup.restore("goals.jsonl.gz", target, mode="replace")
"""

from intentgraph.backup._format import FORMAT, READS, VERSION, parse_edge, parse_intent
from intentgraph.backup._restore import (
    Mode,
    RestorePlan,
    RestoreSummary,
    apply,
    check_backup,
    copy_store,
    restore,
)
from intentgraph.backup._writer import BackupSummary, Progress, write_backup

__all__ = [
    "FORMAT",
    "READS",
    "VERSION",
    "BackupSummary",
    "Mode",
    "Progress",
    "RestorePlan",
    "RestoreSummary",
    "apply",
    "check_backup",
    "copy_store",
    "parse_edge",
    "parse_intent",
    "restore",
    "write_backup",
]
