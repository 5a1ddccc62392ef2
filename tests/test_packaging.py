"""The repository layout (top-level ``backends/``) installs as ``intentgraph.backends`` only."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import intentgraph, intentgraph.backends.memory as m, intentgraph.backends.jsonfile as j; "
    "import importlib.util as u; "
    "print(m.__file__); print(j.__file__); print(u.find_spec('backends'), u.find_spec('cypher'))"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("intentgraph-*.whl")
    return found


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"intentgraph"}
    assert "intentgraph/backends/memory.py" in names
    assert "intentgraph/backends/jsonfile.py" in names
    assert "intentgraph/py.typed" in names
    assert "intentgraph/cypher/ready.cypher" in names
    assert "intentgraph/cypher/intentgraph.grass" in names


def test_the_installed_wheel_loads_the_query_files_from_its_own_package_data(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import intentgraph.backends._cypher_dialect as d, importlib.resources as r; "
        "print(r.files('intentgraph.cypher')); print(len(d.load_all())); print(d.load('get'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == str(site / "intentgraph" / "cypher")
    assert int(out[1]) == len(list((ROOT / "cypher").glob("*.cypher")))
    assert out[2] == "MATCH (i:Intent {id: $id}) RETURN i.data"


def test_the_installed_wheel_imports_backends_under_intentgraph(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == str(site / "intentgraph" / "backends" / "memory.py")
    assert out[1] == str(site / "intentgraph" / "backends" / "jsonfile.py")
    assert out[2] == "None None"


def test_the_editable_install_maps_backends_to_the_repository_folder(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == str(ROOT / "backends" / "memory.py")
    assert out[1] == str(ROOT / "backends" / "jsonfile.py")
    assert out[2] == "None None"


def test_importing_the_package_reads_no_environment_and_opens_nothing(tmp_path: Path) -> None:
    code = (
        "import os, sys; os.environ['INTENTGRAPH_URL'] = 'bogus://'; import intentgraph; "
        "print(sorted(m for m in sys.modules if m.startswith('intentgraph.backends')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    assert list(tmp_path.iterdir()) == []
