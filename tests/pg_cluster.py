"""A private PostgreSQL server for tests that restart, stop and flap the database.

Every test shares the server at 127.0.0.1:5432, so no test may restart it. A test about
lost connections gets a server of its own instead: ``initdb`` into a temporary folder, a
free TCP port chosen once and kept across restarts (clients reconnect to the same URL), and
the unix socket inside that folder, away from the system's ``/var/run/postgresql``. As root
(CI), the server commands run as the ``postgres`` system user, because ``initdb`` and
``postgres`` refuse to run as root. Linux only: processes are watched through ``/proc``.

    with PrivatePostgres.create() as server:
        url = server.create_database("flaky")
        server.stop("immediate")
        server.start()
        flapping = server.flap(cycles=3, down_seconds=0.5, up_seconds=0.5)
        assert flapping.wait(timeout=30) == 3
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

StopMode = Literal["smart", "fast", "immediate"]

SERVER_USER = "postgres"
"""The system account that runs the server when the tests run as root."""

READY_SECONDS = 30.0
"""Ceiling for the server to start, stop or accept connections (a loaded CI machine)."""

_PORT_ATTEMPTS = 3
_LOWEST_PORT = 20000  # above the well-known and most registered service ports
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Without fsync a crash of the machine may lose a test database, but a crash of the server
# (stop "immediate") may not: commits still reach the WAL, so synchronous_commit stays on.
_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
    "logging_collector": "off",
}


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries (or no account to run them) on this machine."""


class PrivatePostgresError(RuntimeError):
    """A server command failed; the message ends with the server log's last lines."""


def find_bindir() -> Path:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, newest version first.

    Looks at ``pg_config --bindir``, then ``pg_ctl`` on the PATH, then
    ``/usr/lib/postgresql/*/bin`` (Debian and Ubuntu).
    """
    candidates = list(_candidate_bindirs())
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    looked = ", ".join(str(folder) for folder in candidates) or "nowhere"
    raise PostgresUnavailableError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; looked in "
        f"{looked}. Install the postgresql package or put pg_config on the PATH."
    )


def _candidate_bindirs() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            yield Path(found.stdout.strip())
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is not None:
        yield Path(pg_ctl).resolve().parent  # /usr/local/bin/pg_ctl may be a symlink
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    yield from sorted(versions, key=_version, reverse=True)


def _version(bindir: Path) -> tuple[int, ...]:
    name = bindir.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit()) or (0,)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie waiting to be reaped.

    The server's parent (``pg_ctl``) exits at once, so the server is adopted by PID 1, which
    in a container may reap it late: a dead server can linger as a zombie.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # The state follows the parenthesised command name, which may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the server's backends), read from /proc."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):  # the process may exit while we read
            for line in status.read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == pid:
                        found.append(int(status.parent.name))
                    break
    return found


def _wait_for(condition: Any, ceiling: float, interval: float = 0.05) -> bool:
    """Poll ``condition()`` until it holds or ``ceiling`` seconds pass; whether it held."""
    deadline = time.monotonic() + ceiling
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)  # the events polled here (process exit, socket open) have no hook
    return True


def _free_port() -> int:
    """A port free now, below the kernel's ephemeral range when it can be.

    While the server is down (a stop, a flap), its port is free for anyone: an outgoing
    client connection could take an ephemeral one as its own port and keep the server from
    coming back on it. Ports below that range are only ever taken on purpose.
    """
    try:
        ephemeral_start = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    for _ in range(50):
        port = random.randrange(_LOWEST_PORT, max(ephemeral_start, _LOWEST_PORT + 1000))
        if _bindable(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class _Account:
    """Who runs the server commands: ids of -1 mean the current user."""

    uid: int = -1
    gid: int = -1

    @classmethod
    def for_current_user(cls) -> _Account:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresUnavailableError(
                f"running as root, but there is no {SERVER_USER!r} system user to run the "
                "server as (initdb and postgres refuse to run as root)"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    def subprocess_options(self) -> dict[str, Any]:
        if self.uid == -1:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)  # -1 leaves the owner as it is


class PrivatePostgres:
    """A PostgreSQL server of a test's own, in a temporary folder; see the module docstring.

    Build one with :meth:`create` (which also starts it) and end it with :meth:`close` or a
    ``with`` block. Server operations are serialised, so a :meth:`flap` in the background
    and the test's own calls never run ``pg_ctl`` at once.
    """

    def __init__(self, root: Path, bindir: Path, port: int, account: _Account) -> None:
        self.root = root
        self.bindir = bindir
        self.port = port
        self._account = account
        self._lock = threading.RLock()
        self._flapping: Flapping | None = None

    @classmethod
    def create(cls, bindir: Path | None = None) -> PrivatePostgres:
        """Initialise a fresh cluster in a temporary folder and start it.

        Raises :class:`PostgresUnavailableError` when no server binaries are installed.
        """
        account = _Account.for_current_user()
        bindir = bindir or find_bindir()
        # Not pytest's tmp_path: root's folders there are private, and the server may run
        # as another user.
        root = Path(tempfile.mkdtemp(prefix="sf-private-postgres-"))
        server = cls(root, bindir, _free_port(), account)
        _LIVE.add(server)
        try:
            account.own(root)
            server._initdb()
            server._start_on_a_free_port()
        except BaseException:
            server.close()
            raise
        return server

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder."""
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """The server's log file (appended to across restarts)."""
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` and return its SQLAlchemy URL."""
        with self._connect() as connection:
            connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def postmaster_pid(self) -> int | None:
        """The server's pid from ``postmaster.pid``, or ``None`` when it is not running."""
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except FileNotFoundError:
            return None
        if not first_line.strip().isdigit():  # the server is just writing the file
            return None
        pid = int(first_line)
        # A server killed with SIGKILL leaves its pid file behind.
        return pid if process_alive(pid) else None

    def server_processes(self) -> list[int]:
        """Pids of the running server: the postmaster first, then its children."""
        pid = self.postmaster_pid()
        return [] if pid is None else [pid, *_children(pid)]

    def is_running(self) -> bool:
        """Whether the server process is alive (it may still be starting up)."""
        return self.postmaster_pid() is not None

    def start(self) -> None:
        """Start the server (a no-op when it runs) and wait until it accepts connections."""
        with self._lock:
            if not self.is_running():
                self._pg_ctl("start", "-l", str(self.log_path))
            self.wait_until_accepting()

    def stop(self, mode: StopMode = "immediate") -> None:
        """Stop the server (a no-op when it is stopped) and wait until its processes exit.

        ``immediate`` kills it as a crash would (the next start replays the WAL); ``fast``
        disconnects the clients and shuts down cleanly.
        """
        with self._lock:
            processes = self.server_processes()
            if processes:
                self._pg_ctl("stop", "-m", mode)
                self._wait_gone(processes)

    def restart(self, mode: StopMode = "fast") -> None:
        """``pg_ctl restart``: stop in ``mode``, start on the same port, wait for connections."""
        with self._lock:
            processes = self.server_processes()
            self._pg_ctl("restart", "-m", mode, "-l", str(self.log_path))
            self._wait_gone(processes)
            self.wait_until_accepting()

    def wait_until_accepting(self, ceiling: float = READY_SECONDS) -> None:
        """Wait until a client can connect and run a query, for at most ``ceiling`` seconds."""
        failures: list[Exception] = []

        def accepts() -> bool:
            try:
                with self._connect() as connection:
                    connection.execute("select 1")
            except psycopg.OperationalError as exc:
                failures[:] = [exc]
                return False
            return True

        if not _wait_for(accepts, ceiling):
            last = f" (last error: {failures[-1]})" if failures else ""
            raise self._error(f"the server did not accept connections in {ceiling:g} s{last}")

    def flap(
        self,
        cycles: int,
        down_seconds: float,
        up_seconds: float,
        mode: StopMode = "immediate",
    ) -> Flapping:
        """Stop and restart the server ``cycles`` times in a background thread.

        A cycle stops the server (``mode``), keeps it down ``down_seconds``, starts it and,
        unless it was the last cycle, keeps it up ``up_seconds``. The server is left up.
        """
        with self._lock:
            if self._flapping is not None and not self._flapping.done():
                raise PrivatePostgresError("the server is already flapping")
            self._flapping = Flapping(self, cycles, down_seconds, up_seconds, mode)
            return self._flapping

    def close(self) -> None:
        """Stop the server, make sure none of its processes is left, remove the folder.

        Safe to call twice. Raises :class:`PrivatePostgresError` if a server process
        survives even SIGKILL.
        """
        if self._flapping is not None:
            self._flapping.cancel()
        with self._lock:
            try:
                self._stop_for_good()
            finally:
                _LIVE.discard(self)
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _initdb(self) -> None:
        (self.root / "socket").mkdir()
        self._account.own(self.root / "socket")
        self._run(
            "initdb",
            *("-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            *("--locale=C", "--no-sync", "--no-instructions"),
        )
        settings = {**_SETTINGS, "unix_socket_directories": f"'{self.root / 'socket'}'"}
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/pg_cluster.py\ninclude 'private.conf'\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _start_on_a_free_port(self) -> None:
        """The first start: another process may take the chosen port first, so retry."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            private_conf = self.data_dir / "private.conf"
            private_conf.write_text(f"port = {self.port}\n")
            self._account.own(private_conf)
            try:
                self.start()
                return
            except PrivatePostgresError:
                if attempt == _PORT_ATTEMPTS or "in use" not in self._log_tail():
                    raise
                self.port = _free_port()

    def _stop_for_good(self) -> None:
        if self.data_dir.is_dir():
            with contextlib.suppress(PrivatePostgresError):
                self.stop("fast")
            with contextlib.suppress(PrivatePostgresError):
                self.stop("immediate")
        leftover = self.server_processes()
        for pid in leftover:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._wait_gone(leftover)

    def _wait_gone(self, pids: list[int], ceiling: float = READY_SECONDS) -> None:
        if not _wait_for(lambda: not any(process_alive(pid) for pid in pids), ceiling):
            alive = [pid for pid in pids if process_alive(pid)]
            raise self._error(f"server processes {alive} still alive after {ceiling:g} s")

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )

    def _pg_ctl(self, action: str, *options: str) -> None:
        seconds = str(int(READY_SECONDS))
        self._run("pg_ctl", action, "-D", str(self.data_dir), "-w", "-t", seconds, *options)

    def _run(self, program: str, *arguments: str) -> None:
        # The server reads PGDATA, PGPORT and the like; only our arguments may configure it.
        environment = {name: value for name, value in os.environ.items() if name[:2] != "PG"}
        command = [str(self.bindir / program), *arguments]
        try:
            subprocess.run(
                command,
                cwd=self.root,  # root's working directory may be closed to the server's user
                env=environment,
                capture_output=True,
                text=True,
                check=True,
                timeout=READY_SECONDS + 30,
                **self._account.subprocess_options(),
            )
        except subprocess.CalledProcessError as exc:
            output = (exc.stdout + exc.stderr).strip()
            raise self._error(f"{program} {arguments[0]} failed: {output}") from exc
        except subprocess.TimeoutExpired as exc:
            raise self._error(f"{program} {arguments[0]} did not finish") from exc

    def _error(self, message: str) -> PrivatePostgresError:
        return PrivatePostgresError(f"{message}\n--- {self.log_path}:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log yet)"


class Flapping:
    """A background thread that stops and restarts a :class:`PrivatePostgres`.

    Made by :meth:`PrivatePostgres.flap`. ``completed_cycles`` counts the cycles whose
    server came back up; ``postmaster_pids`` holds each restarted server's pid, so a test
    can see it was really a new process every time.
    """

    def __init__(
        self,
        server: PrivatePostgres,
        cycles: int,
        down_seconds: float,
        up_seconds: float,
        mode: StopMode,
    ) -> None:
        self.cycles = cycles
        self.postmaster_pids: list[int] = []
        self._server = server
        self._down_seconds = down_seconds
        self._up_seconds = up_seconds
        self._mode: StopMode = mode
        self._cancelled = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="postgres-flap", daemon=True)
        self._thread.start()

    @property
    def completed_cycles(self) -> int:
        """How many stop-and-start cycles have finished so far."""
        return len(self.postmaster_pids)

    def done(self) -> bool:
        """Whether the thread has finished (all cycles, cancelled, or failed)."""
        return not self._thread.is_alive()

    def wait(self, timeout: float) -> int:
        """Wait for the thread to finish; return the completed cycles.

        Re-raises the thread's error; raises ``TimeoutError`` if it runs past ``timeout``.
        """
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(
                f"flapping still running after {timeout:g} s "
                f"({self.completed_cycles} of {self.cycles} cycles done)"
            )
        if self._error is not None:
            raise self._error
        return self.completed_cycles

    def cancel(self) -> None:
        """Cut the current downtime or uptime short and end after this cycle, server up."""
        self._cancelled.set()
        self._thread.join(READY_SECONDS * 3)

    def _run(self) -> None:
        try:
            for cycle in range(self.cycles):
                self._server.stop(self._mode)
                self._cancelled.wait(self._down_seconds)  # the downtime clients must ride out
                self._server.start()  # even when cancelled: a flap always ends with the server up
                self.postmaster_pids.append(self._server.postmaster_pid() or -1)
                last = cycle == self.cycles - 1
                if last or self._cancelled.wait(self._up_seconds):
                    break
        except BaseException as exc:  # handed to wait(), which re-raises it in the test
            self._error = exc


# Servers not yet closed, stopped at interpreter exit if a test run is interrupted.
_LIVE: weakref.WeakSet[PrivatePostgres] = weakref.WeakSet()


@atexit.register
def _close_forgotten_servers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.close()
