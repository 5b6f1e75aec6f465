"""Worker processes started with the server (``factory serve --workers N``).

They are ordinary queue workers (``run_worker`` on the same store), so a single command
gives a working system on one machine; ``factory worker`` processes elsewhere can join.
Each worker watches its parent: if the server dies without stopping them (SIGKILL), they
notice within a second, finish the job in hand and exit instead of lingering as orphans.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from multiprocessing.process import BaseProcess

from strategy_factory.execution import run_worker
from strategy_factory.service.config import configure_logging
from strategy_factory.store import create_store

log = logging.getLogger(__name__)

# A worker finishes the job in hand on the first SIGTERM and hands it back on the second.
_FINISH_SECONDS = 10.0
_ABANDON_SECONDS = 5.0
_WATCH_SECONDS = 0.5


class LocalWorkers:
    """``count`` worker processes on the store at ``db_url``."""

    def __init__(self, count: int, db_url: str) -> None:
        self.count = count
        self.db_url = db_url
        self._processes: list[BaseProcess] = []

    def start(self) -> None:
        """Start the workers (spawned: the server has threads, which a fork cannot copy)."""
        context = multiprocessing.get_context("spawn")
        for number in range(self.count):
            process = context.Process(
                target=work,
                args=(self.db_url, os.getpid()),
                name=f"factory-worker-{number}",
                daemon=True,
            )
            process.start()
            self._processes.append(process)
        if self._processes:
            log.info("started %d local worker(s)", len(self._processes))

    def stop(self) -> None:
        """Stop every worker: let it finish its job for a while, then make it hand the job
        back to the queue, and kill it only if it still does not exit."""
        self._signal_and_wait(_FINISH_SECONDS)
        self._signal_and_wait(_ABANDON_SECONDS)
        for process in self._processes:
            if process.is_alive():
                log.warning("worker %s ignored two SIGTERMs; killing it", process.pid)
                process.kill()
            process.join()
        self._processes.clear()

    def _signal_and_wait(self, seconds: float) -> None:
        running = [p for p in self._processes if p.is_alive()]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + seconds
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers."""
        return [p.pid for p in self._processes if p.pid is not None and p.is_alive()]


def work(db_url: str, parent_pid: int) -> None:
    """A worker process's body: work the queue until told to stop or orphaned."""
    configure_logging(prefix=f"[worker {os.getpid()}] ")
    stop = threading.Event()
    watchdog = threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True)
    watchdog.start()
    with create_store(db_url) as store:
        run_worker(store, stop_event=stop)


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    while not stop.wait(_WATCH_SECONDS):
        if os.getppid() != parent_pid:
            log.warning("the server (pid %d) is gone; stopping after the current job", parent_pid)
            stop.set()
