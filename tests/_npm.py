"""Install a test helper's Node packages on first use, from its committed lockfile."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path


class NodeToolError(RuntimeError):
    """Raised when node or npm is missing, or `npm ci` fails."""


def node_modules(project: Path, *, marker: str) -> Path:
    """Return `project/node_modules`, running `npm ci` first if `marker` is not installed.

    `marker` is a package name (`@scope/name`) that must be in `node_modules`. The install
    holds a lock, so test processes started together install once.

    Raises:
        NodeToolError: node or npm is not on PATH, or `npm ci` failed (its output is in the
            message).
    """
    modules = project / "node_modules"
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise NodeToolError(f"{tool} is not on PATH; {project.name} needs Node.js and npm")
    with open(project / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / marker / "package.json").is_file():
            # --ignore-scripts: the tests need the packages' files, never their install hooks.
            command = ["npm", "ci", "--prefix", str(project), "--ignore-scripts"]
            run = subprocess.run(
                [*command, "--no-audit", "--no-fund"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if run.returncode != 0:
                raise NodeToolError(
                    f"npm ci --prefix {project} failed ({run.returncode}):\n"
                    f"{run.stdout}\n{run.stderr}"
                )
    return modules
