"""A real Dask cluster for the tests: a ``dask scheduler`` and ``dask worker`` processes.

Workers get an empty ``FACTORY_HOME`` of their own (and no other ``FACTORY_`` setting),
so whatever they compute came with the work, never from a bar store of theirs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.execution.conftest import wait_for

DASK = str(Path(sys.executable).parent / "dask")
SCHEDULER = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
# One thread each, and no nanny: a killed worker stays dead instead of being restarted.
WORKER = ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"]
# A worker imports the numeric stack before it registers: slow on a loaded machine.
START_CEILING_SECONDS = 180.0
STOP_CEILING_SECONDS = 30.0


class DaskProcesses:
    """A scheduler on a free port and the workers started on it; all ended by :meth:`stop`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.worker_home = root / "worker-home"
        self.worker_home.mkdir(parents=True)
        self.scheduler_file = root / "scheduler.json"
        self.workers: dict[str, subprocess.Popen] = {}
        self.scheduler = subprocess.Popen(
            [*SCHEDULER, "--scheduler-file", str(self.scheduler_file)],
            stdout=subprocess.DEVNULL,
            stderr=(root / "scheduler.log").open("w"),
        )
        self.address: str = wait_for(
            self._address, START_CEILING_SECONDS, "the Dask scheduler to write its address"
        )

    def _address(self) -> str | None:
        if self.scheduler.poll() is not None:
            raise RuntimeError(f"the Dask scheduler exited: {self.log('scheduler')}")
        try:
            return json.loads(self.scheduler_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return None

    def start_worker(self, name: str, *options: str) -> subprocess.Popen:
        """Start ``dask worker`` ``name`` with extra command-line ``options``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORY_")}
        env["FACTORY_HOME"] = str(self.worker_home)
        process = subprocess.Popen(
            [DASK, "worker", self.address, "--name", name, *WORKER, *options],
            env=env,
            cwd=self.worker_home,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / f"{name}.log").open("w"),
        )
        self.workers[name] = process
        return process

    def wait_registered(self, client: Any, names: set[str]) -> dict[str, str]:
        """Wait until workers ``names`` are connected; their addresses by name."""

        def registered() -> dict[str, str] | None:
            for name in names:
                if self.workers[name].poll() is not None:
                    raise RuntimeError(f"Dask worker {name} exited: {self.log(name)}")
            found = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
            return found if names <= set(found) else None

        return wait_for(registered, START_CEILING_SECONDS, f"Dask workers {sorted(names)}")

    def stop_worker(self, client: Any, name: str) -> None:
        """End worker ``name`` and wait until the scheduler has let it go."""
        process = self.workers.pop(name)
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_CEILING_SECONDS)

        def gone() -> bool:
            return name not in {w["name"] for w in client.scheduler_info()["workers"].values()}

        wait_for(gone, STOP_CEILING_SECONDS, f"the scheduler to drop worker {name}")

    def log(self, name: str) -> str:
        """The last lines a process wrote to its log."""
        return "\n".join((self.root / f"{name}.log").read_text().splitlines()[-20:])

    def stop(self) -> None:
        """End every process started here: the workers, then the scheduler they report to."""
        for group in (list(self.workers.values()), [self.scheduler]):
            for process in group:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in group:
                try:
                    process.wait(STOP_CEILING_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def two_workers(folder: Path) -> Iterator[DaskProcesses]:
    """A scheduler and two workers (``w0``, ``w1``) in ``folder``, stopped afterwards."""
    processes = DaskProcesses(folder)
    try:
        for name in ("w0", "w1"):
            processes.start_worker(name)
        yield processes
    finally:
        processes.stop()
