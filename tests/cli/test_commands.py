"""Every command, run as a subprocess against memory, JSON and SQLite stores: output,
JSON shapes and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import intentgraph as ig
from intentgraph import backup
from intentgraph._scratch import ScratchDir
from tests.backends.test_sqlite_writer_lock import lock_is_free
from tests.cli._run import ROOT, data, environment, in_terminal, run
from tests.conftest import url_for

E = ig.EdgeType


def fill(url: str) -> None:
    with ig.open_store(url) as store:
        store.put_many(
            [
                ig.Intent(id="release", name="ship v1", goal="Release version 1"),
                ig.Intent(id="build", name="build", priority=3),
                ig.Intent(id="tag", name="tag"),
                ig.Intent(id="docs", name="docs", metadata={"pages": 3}),
            ]
        )
        for child in ("build", "tag", "docs"):
            store.add_edge(child, "release", E.IS_SUBGOAL_OF)
        store.add_edge("tag", "build", E.DEPENDS_ON)


@pytest.fixture(params=["json", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    made = url_for(str(request.param), tmp_path)
    fill(made)
    return made


def test_the_queries_print_their_documented_json_shapes(url: str) -> None:
    shown = data("show", "tag", "--store", url)
    assert shown["intent"]["id"] == "tag" and shown["parent"] == "release"
    assert {(e["source"], e["type"], e["target"]) for e in shown["edges"]} == {
        ("tag", "DEPENDS_ON", "build"),
        ("tag", "IS_SUBGOAL_OF", "release"),
    }
    assert [i["id"] for i in data("ready", "--store", url)] == ["build", "docs"]
    blocked = data("blocked", "--store", url)
    assert [(b["intent"]["id"], b["blocked_by"], b["subgoals"]) for b in blocked] == [
        ("release", [], ["build", "docs", "tag"]),
        ("tag", ["build"], []),
    ]
    tree = data("tree", "release", "--store", url)
    assert [(n["depth"], n["intent"]["id"], n["parent_id"]) for n in tree] == [
        (0, "release", None),
        (1, "build", "release"),
        (1, "docs", "release"),
        (1, "tag", "release"),
    ]
    assert [i["id"] for i in data("plan", "release", "--store", url)] == [
        "build",
        "tag",
        "docs",
        "release",
    ]
    stats = data("stats", "--store", url)
    assert (stats["intents"], stats["edges"], stats["by_edge_type"]["DEPENDS_ON"]) == (4, 4, 1)


def test_the_queries_print_plain_lines_when_piped(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    fill(url)
    env = environment(INTENTGRAPH_URL=url)  # the store from the environment
    done = run("list", "--status", "active", "--limit", "2", env=env)
    assert done.returncode == 0
    assert done.stdout.splitlines() == ["release\tactive\t0\tship v1", "build\tactive\t3\tbuild"]
    assert "\x1b[" not in done.stdout  # no colour in a pipe
    assert run("deps", "tag", env=env).stdout.split("\t")[0] == "build"
    assert run("dependents", "build", "--transitive", env=env).stdout.startswith("tag\t")
    assert "FOCUS" in run("context", "tag", "--hops", "1", env=env).stdout
    assert run("tree", "release", "--depth", "1", env=env).stdout.splitlines()[0] == (
        "ship v1 [active] (release)"
    )
    assert run("--store", url, "ready", "--quiet").stdout == ""


def test_scripting_commands_write_and_report_errors_with_their_exit_codes(url: str) -> None:
    added = data(
        "add",
        "write notes",
        "--id",
        "notes",
        "--parent",
        "release",
        "--depends-on",
        "docs",
        "--priority",
        "2",
        "--metadata",
        '{"k": [1]}',
        "--store",
        url,
    )
    assert (added["id"], added["priority"], added["metadata"]) == ("notes", 2, {"k": [1]})
    edge = data("link", "notes", "related_to", "tag", "--weight", "0.5", "--store", url)
    assert (edge["type"], edge["weight"]) == ("RELATED_TO", 0.5)
    moved = data("set-status", "docs", "completed", "--reason", "done", "--store", url)
    assert (moved["status"], moved["reason"], moved["version"]) == ("completed", "done", 2)
    missing = run("show", "nope", "--store", url)
    assert (missing.returncode, missing.stderr) == (1, "intentgraph: no intent with id 'nope'\n")
    cycle = run("link", "build", "DEPENDS_ON", "tag", "--store", url, "--json")
    assert cycle.returncode == 4
    assert json.loads(cycle.stdout)["error"]["type"] == "CycleError"
    assert cycle.stderr.count("\n") <= 2 and "Traceback" not in cycle.stderr
    illegal = run("set-status", "docs", "failed", "--store", url)
    assert illegal.returncode == 4 and "cannot move" in illegal.stderr
    assert run("add", " ", "--store", url).returncode == 2  # a blank name is bad usage
    assert run("list", "--bogus").returncode == 2
    assert run("list", "--store", "nosuch://x").returncode == 2
    debug = run("show", "nope", "--store", url, "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_an_unreachable_store_exits_3(tmp_path: Path) -> None:
    gone = run("list", "--store", f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert gone.returncode == 3 and gone.stderr.startswith("intentgraph: ")
    url = url_for("json", tmp_path)
    with ig.open_store(url):  # holds the write lock
        locked = run("list", "--store", url)
    assert locked.returncode == 3 and "locked" in locked.stderr


def test_a_memory_store_runs_every_write_command_in_its_own_process(tmp_path: Path) -> None:
    added = data("add", "alone", "--store", "memory://")
    assert added["name"] == "alone" and len(added["id"]) == 26
    assert data("list", "--store", "memory://") == []  # a new process, a new store
    assert data("verify", "--store", "memory://")["ok"] is True
    saved = tmp_path / "m.jsonl"
    assert data("backup", str(saved), "--store", "memory://")["intents"] == 0
    assert data("restore", str(saved), "--store", "memory://")["written_intents"] == 0


@pytest.mark.parametrize("target", ["memory", "json", "sqlite"])
def test_backup_then_restore_into_another_backend_gives_the_same_graph(
    tmp_path: Path, target: str
) -> None:
    source = url_for("sqlite", tmp_path)
    fill(source)
    saved = tmp_path / "goals.jsonl.gz"
    summary = data("backup", "--store", source, str(saved))
    assert (summary["intents"], summary["edges"], summary["compressed"]) == (4, 4, True)
    folder = tmp_path / "t"
    folder.mkdir()
    dest = url_for(target, folder)
    restored = data("restore", str(saved), "--store", dest)
    assert (restored["written_intents"], restored["written_edges"]) == (4, 4)
    if target != "memory":
        with ig.open_store(source) as a, ig.open_store(dest) as b:
            assert a.list(order_by="id") == b.list(order_by="id")
            assert a.edges() == b.edges()


def test_backup_to_standard_output_restores_from_standard_input(tmp_path: Path) -> None:
    source = url_for("sqlite", tmp_path)
    fill(source)
    out = subprocess.run(
        [sys.executable, "-m", "intentgraph", "backup", "-", "--store", source],
        capture_output=True,
        cwd=ROOT,
        env=environment(),
        check=True,
    ).stdout
    assert out.startswith(b'{"header":')
    dest = url_for("json", tmp_path)
    done = run("restore", "-", "--store", dest, "--json", input=out)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written_edges"] == 4


def test_copy_moves_a_store_and_refuses_the_same_store_twice(tmp_path: Path) -> None:
    source = url_for("sqlite", tmp_path)
    fill(source)
    dest = url_for("json", tmp_path)
    copied = data("copy", source, dest, "--mode", "merge")
    assert copied["written_intents"] == 4
    assert data("verify", "--store", dest)["intents"] == 4
    assert run("copy", source, source).returncode == 2


def test_a_refused_backup_exits_4_names_the_line_and_leaves_the_store_as_it_was(
    tmp_path: Path,
) -> None:
    url = url_for("sqlite", tmp_path)
    fill(url)
    saved = tmp_path / "b.jsonl"
    backup.write_backup(ig.open_store("memory://"), saved)  # an empty backup...
    text = saved.read_text().replace('"version":1', '"version":7', 1)  # ...of the future
    saved.write_text(text)
    with ig.open_store(url) as store:
        before = store.list(order_by="id")
    for mode in ("replace", "merge"):
        done = run("restore", str(saved), "--store", url, "--mode", mode)
        assert done.returncode == 4
        assert done.stderr.startswith(f"intentgraph: {saved}, line 1: format version 7 is newer")
        assert done.stderr.count("\n") <= 2
    with ig.open_store(url) as store:
        assert store.list(order_by="id") == before


def test_verify_exits_1_on_problems_and_repair_fixes_derived_state(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    fill(url)
    ok = run("verify", "--store", url)
    assert ok.returncode == 0 and ok.stdout.startswith("OK sqlite:///")
    import sqlite3

    conn = sqlite3.connect(tmp_path / "store.db")
    conn.execute("UPDATE intents SET unmet = 0 WHERE id = 'tag'")
    conn.commit()
    conn.close()
    bad = run("verify", "--store", url)
    assert bad.returncode == 1 and "problem [derived_state]" in bad.stdout
    fixed = data("verify", "--store", url, "--repair")
    assert fixed["ok"] and fixed["repaired"] == 1
    assert data("migrate", "--store", url)["migrated"] is False


def test_version_help_and_completion() -> None:
    assert run("--version").stdout.strip() == f"intentgraph, version {ig.__version__}"
    helped = run("restore", "--help")
    assert "Example: intentgraph restore" in helped.stdout
    assert "_INTENTGRAPH_COMPLETE" in run("completion", "bash").stdout


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "intentgraph"
    assert script.exists()
    assert subprocess.run([script, "--version"], capture_output=True, text=True).returncode == 0


def test_progress_bars_show_on_a_terminal_only(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    with ig.open_store(url) as store:
        store.put_many([ig.Intent(id=f"i{n:05d}", name="x") for n in range(5000)])
    env = environment()
    code, shown = in_terminal("backup", str(tmp_path / "a.jsonl"), "--store", url, env=env)
    assert code == 0
    assert "intents" in shown and "5000/5000" in shown and "━" in shown
    code, shown = in_terminal(
        "backup", str(tmp_path / "b.jsonl"), "--store", url, "--json", env=env
    )
    assert code == 0 and "━" not in shown
    piped = run("backup", str(tmp_path / "c.jsonl"), "--store", url)
    assert "━" not in piped.stderr


COLOUR = re.compile(r"\x1b\[([0-9;]*;)?(3[0-8]|9[0-7])(;[0-9;]*)?m")  # a foreground colour


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    url = url_for("sqlite", tmp_path)
    fill(url)
    code, shown = in_terminal("list", "--store", url, env=environment(), stdout_too=True)
    assert code == 0 and COLOUR.search(shown) and "ship v1" in shown
    code, shown = in_terminal(
        "list", "--store", url, env=environment(NO_COLOR="1"), stdout_too=True
    )
    assert code == 0 and not COLOUR.search(shown) and "ship v1" in shown


def writing(db: Path) -> bool:
    """Whether a SQLite store's writer holds its lock (no lock file yet: nobody does)."""
    return Path(f"{db}-lock").exists() and not lock_is_free(db)


def big_backup(tmp_path: Path, size: int) -> tuple[Path, str]:
    """Back up ``size`` intents; return the backup and the URL of a filled SQLite store."""
    source = ig.open_store("memory://")
    source.bulk_load(
        (ig.Intent(id=f"i{n:06d}", name=f"task {n}", version=1) for n in range(size)), []
    )
    saved = tmp_path / "big.jsonl"
    backup.write_backup(source, saved)
    url = url_for("sqlite", tmp_path)
    fill(url)
    return saved, url


def start_restore(tmp_path: Path, size: int) -> tuple[Path, str, subprocess.Popen[str]]:
    """Start restoring a backup of ``size`` intents over a filled SQLite store in a session
    of its own (a signal to its group reaches it and its checker, as from a terminal);
    return the backup, the store's URL and the process."""
    saved, url = big_backup(tmp_path, size)
    proc = subprocess.Popen(
        [sys.executable, "-m", "intentgraph", "restore", str(saved), "--store", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=environment(),
        start_new_session=True,
    )
    return saved, url, proc


@pytest.mark.parametrize(
    ("size", "signum"),
    [(40_000, signal.SIGINT), (70_000, signal.SIGINT), (70_000, signal.SIGTERM)],
    ids=["checked-in-turn", "overlapped", "overlapped-sigterm"],
)
def test_ctrl_c_during_a_restore_exits_130_and_changes_nothing(
    tmp_path: Path, size: int, signum: int
) -> None:
    """Ctrl-C reaches the whole process group, as from a terminal: a big backup (16 MB or
    more) is checked by a second process while the first loads it. SIGTERM (``kill``, a
    service manager) stops it the same way."""
    from intentgraph.backup._overlap import OVERLAP_MIN_BYTES

    saved, url, proc = start_restore(tmp_path, size)
    assert (saved.stat().st_size >= OVERLAP_MIN_BYTES) == (size > 40_000)
    # Interrupted while it loads: once its write transaction has held the writer lock for a
    # while (a fixed delay raced the load, which now takes well under a second).
    db = tmp_path / "store.db"
    deadline = time.monotonic() + 60
    while True:
        if writing(db):
            time.sleep(0.05)  # still held: the load, not a moment's lock at open
            if writing(db):
                break
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the restore never began its write"
        time.sleep(0.002)
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().endswith("interrupted; nothing was left half done")
    with ig.open_store(url) as store:
        assert [i.id for i in store.list(order_by="id")] == ["build", "docs", "release", "tag"]
        assert store.check_integrity() == []
    assert not list(tmp_path.rglob(".intentgraph-*"))  # no staging file, no spool
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the group is left running


# The command, with a real SIGINT sent to itself as soon as the library reports the write
# committed: the moment a person's Ctrl-C can only just miss.
INTERRUPTED_AFTER_THE_WRITE = """
import os, signal, sys
import intentgraph.backup as b
real = b.restore
def restore(*args, progress=None, **kwargs):
    def report(phase, done, total):
        if progress is not None:
            progress(phase, done, total)
        if phase == "written":
            os.kill(os.getpid(), signal.SIGINT)
    return real(*args, progress=report, **kwargs)
b.restore = restore
from intentgraph.cli._app import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("size", [40_000, 70_000], ids=["checked-in-turn", "overlapped"])
def test_ctrl_c_after_a_restore_is_written_says_the_store_holds_the_backup(
    tmp_path: Path, size: int
) -> None:
    saved, url = big_backup(tmp_path, size)
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_AFTER_THE_WRITE, "restore", str(saved), "--store", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
        timeout=120,
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().endswith(
        f"interrupted after the write: {url} holds the whole backup"
    )
    with ig.open_store(url) as store:
        assert store.count() == size and store.check_integrity() == []
    assert not list(tmp_path.rglob(".intentgraph-*"))


def test_a_restore_killed_half_way_changes_nothing_and_the_next_one_removes_its_files(
    tmp_path: Path,
) -> None:
    """SIGKILL leaves the overlapped restore's spool (it cannot clean up); the next
    restore beside that store removes it, and leaves a live restore's files alone."""
    from intentgraph.backup._overlap import SCRATCH_PREFIX

    _, url, proc = start_restore(tmp_path, 70_000)
    try:
        deadline = time.monotonic() + 60
        db = tmp_path / "store.db"
        while not (writing(db) and list(tmp_path.glob(SCRATCH_PREFIX + "*"))):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the restore never began"
            time.sleep(0.01)
        proc.kill()  # the loading process only: its checker is orphaned
        proc.communicate(timeout=60)
        assert list(tmp_path.glob(SCRATCH_PREFIX + "*"))  # left behind
        with ig.open_store(url) as store:
            assert [i.id for i in store.list(order_by="id")] == ["build", "docs", "release", "tag"]
        live = ScratchDir(str(tmp_path), SCRATCH_PREFIX)  # another restore's, running
        small = tmp_path / "small.jsonl"
        with ig.open_store("memory://") as other:
            other.put(ig.Intent(id="only", name="only"))
            backup.write_backup(other, small)
        done = run("restore", str(small), "--store", url)
        assert done.returncode == 0, done.stderr
        assert list(tmp_path.glob(SCRATCH_PREFIX + "*")) == [live.path]
        live.close()
        with ig.open_store(url) as store:
            assert [i.id for i in store.list()] == ["only"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_every_kind_of_damaged_backup_exits_4_and_leaves_the_store_as_it_was(
    tmp_path: Path,
) -> None:
    from tests.backup.test_backup import damaged, dump
    from tests.backup.test_backup import fill as fill_backup

    source = ig.open_store("memory://")
    fill_backup(source)
    saved = tmp_path / "saved.jsonl"
    backup.write_backup(source, saved)
    url = url_for("sqlite", tmp_path)
    fill(url)
    with ig.open_store(url) as store:
        before = dump(store)
    for how in (
        "flipped byte",
        "truncated",
        "future version",
        "wrong checksum",
        "dangling edge",
        "duplicate id",
    ):
        path, expect = damaged(saved, tmp_path, how)
        done = run("restore", str(path), "--store", url)
        assert done.returncode == 4, (how, done.stderr)
        assert expect in done.stderr and ", line " in done.stderr, (how, done.stderr)
        assert done.stderr.count("\n") <= 2, how
    with ig.open_store(url) as store:
        assert dump(store) == before


@pytest.mark.parametrize(
    "command", [["backup"], ["export", "--format", "dot"], ["export", "--format", "html"]]
)
def test_a_file_that_cannot_be_written_exits_2_naming_it(
    tmp_path: Path, command: list[str]
) -> None:
    store = f"sqlite:///{tmp_path / 's.db'}"
    run("add", "one", "--store", store)
    target = tmp_path / "missing" / "out.file"
    done = run(*command, str(target), "--store", store)
    assert done.returncode == 2
    assert done.stderr.strip() == f"intentgraph: {target}: No such file or directory"
    assert "Traceback" not in done.stderr and not (tmp_path / "missing").exists()
