"""A real ``factory serve`` process for the tests that need one (restart, browser)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_SECONDS = 60.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``factory serve`` in a subprocess, its log in a file."""

    def __init__(
        self,
        home: Path,
        db: str,
        log: Path,
        workers: int,
        port: int,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.db = db
        self.log = log
        extra = env or {}
        env = {**os.environ, "FACTORY_HOME": str(home), "FACTORY_DB": db, **extra}
        if "FACTORY_API_TOKEN" not in extra:
            env.pop("FACTORY_API_TOKEN", None)
        command = [sys.executable, "-c", "from strategy_factory.cli import main; main()"]
        command += ["serve", "--port", str(port), "--workers", str(workers)]
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=log.parent
            )
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
        raise AssertionError(f"the server did not answer in {STARTUP_SECONDS}s: {self.tail()}")

    def tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind, as in a crash."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM: a graceful shutdown; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def serving(
    home: Path, db: str, log: Path, workers: int = 2, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """A started server, stopped (or killed, if it will not stop) afterwards.

    ``env``: extra environment of the server process (e.g. ``FACTORY_API_TOKEN``).
    """
    server = Server(home, db, log, workers, free_port(), env)
    try:
        yield server
    finally:
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.kill()


def alive(pid: int) -> bool:
    """Whether a process with this id still exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())
