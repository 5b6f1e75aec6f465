"""Workflows started over the API: each runs in a process of its own, ``slots`` at once.

A workflow's phases are NumPy and Numba work that holds the GIL for long stretches, so
they do not run in the server's threads (the API and the dashboard would stall while
they run), just as an evolution's units of work go to worker processes. Each workflow
gets a spawned child that runs it exactly as ``factory workflow resume`` does
(:func:`~strategy_factory.workflow.recording.run_recorded`: the workspace's run lock
held, every manifest save recorded in the store). A thread of the server waits for a
slot, starts the child and waits for it; :meth:`WorkflowRunner.active` names the
workflows this server has queued or running. A server whose executor is a Dask cluster
(``factory serve --executor dask``) runs each workflow's discovery chunks there, the
child connecting when its discovery starts; with the job queue they run in the child.

Stopping the server asks each child to stop (SIGTERM): the workflow ends ``failed``
with the error ``interrupted`` at its next step, finished work kept, and resumes from
there. A child that does not stop in time is killed; its manifest still says
``running`` while nobody holds its lock, which the API reports as interrupted (not
live), resumable too. A child whose server died without stopping it (SIGKILL) notices
within a second and stops the same way, instead of running on unwatched.
"""

from __future__ import annotations

import _thread
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from strategy_factory.errors import FactoryError
from strategy_factory.execution.settings import ExecutorSettings
from strategy_factory.service.config import configure_logging
from strategy_factory.store import Store, create_store
from strategy_factory.workflow import WorkflowBusyError, WorkflowExecutor, Workspace
from strategy_factory.workflow.recording import record_workspace, run_recorded

log = logging.getLogger(__name__)

STOP_SECONDS = 10.0
_WATCH_SECONDS = 0.5


@dataclass
class _Entry:
    root: Path
    from_phase: str | None
    process: BaseProcess | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def workflow_id(self) -> str:
        return self.root.name


class WorkflowRunner:
    """Runs workflows in child processes on the store at ``db_url``, ``slots`` at once;
    their discovery chunks on the Dask cluster of ``executor`` if it is one.

    Example::

        runner = WorkflowRunner(store, settings.db, slots=1)
        runner.submit(workspace.root)            # queued, then run in a child process
        runner.submit(workspace.root, "validation")  # False: this server has it already
    """

    def __init__(
        self,
        store: Store,
        db_url: str,
        slots: int,
        stop_seconds: float = STOP_SECONDS,
        executor: ExecutorSettings | None = None,
    ) -> None:
        self.store = store
        self.db_url = db_url
        self.slots = slots
        self.executor = executor if executor is not None and executor.executor == "dask" else None
        self.stop_seconds = stop_seconds
        self._condition = threading.Condition()
        self._entries: dict[str, _Entry] = {}
        self._running = 0
        self._closed = False

    @property
    def closing(self) -> bool:
        """Whether the runner is shutting down (it starts nothing more)."""
        with self._condition:
            return self._closed

    def active(self) -> list[str]:
        """Ids of the workflows this server has queued or running."""
        with self._condition:
            return sorted(self._entries)

    def submit(self, root: Path, from_phase: str | None = None) -> bool:
        """Queue the workflow at ``root`` (from ``from_phase``); False if queued here already."""
        entry = _Entry(root, from_phase)
        with self._condition:
            if self._closed or entry.workflow_id in self._entries:
                return False
            self._entries[entry.workflow_id] = entry
            entry.thread = threading.Thread(
                target=self._drive, args=(entry,), name=f"workflow-{entry.workflow_id}", daemon=True
            )
        entry.thread.start()
        return True

    def shutdown(self) -> None:
        """Stop every child (SIGTERM, then SIGKILL after ``stop_seconds``); start no more."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
            entries = list(self._entries.values())
        children = [e.process for e in entries if e.process is not None and e.process.is_alive()]
        for child in children:
            child.terminate()
        deadline = time.monotonic() + self.stop_seconds
        for child in children:
            child.join(max(0.0, deadline - time.monotonic()))
            if child.is_alive():
                log.warning("workflow child %s did not stop in time; killing it", child.pid)
                child.kill()
                child.join()
        for entry in entries:
            if entry.thread is not None:
                entry.thread.join(self.stop_seconds)

    def _drive(self, entry: _Entry) -> None:
        try:
            if self._take_slot():
                try:
                    self._run_child(entry)
                finally:
                    self._give_slot()
                record_workspace(self.store, Workspace(entry.root))
        except Exception:
            log.exception("workflow %s: the runner failed", entry.workflow_id)
        finally:
            with self._condition:
                self._entries.pop(entry.workflow_id, None)

    def _run_child(self, entry: _Entry) -> None:
        context = multiprocessing.get_context("spawn")  # the server has threads: no fork
        child = context.Process(
            target=run_child,
            args=(str(entry.root), self.db_url, entry.from_phase, os.getpid(), self.executor),
            name=f"factory-workflow-{entry.workflow_id}",
            daemon=True,
        )
        with self._condition:
            if self._closed:
                return
            entry.process = child
            child.start()
        log.info("workflow %s started in process %s", entry.workflow_id, child.pid)
        child.join()
        log.info("workflow %s: its process ended (exit code %s)", entry.workflow_id, child.exitcode)

    def _take_slot(self) -> bool:
        with self._condition:
            while not self._closed and self._running >= self.slots:
                self._condition.wait()
            if self._closed:
                return False
            self._running += 1
            return True

    def _give_slot(self) -> None:
        with self._condition:
            self._running -= 1
            self._condition.notify_all()


def run_child(
    root: str,
    db_url: str,
    from_phase: str | None,
    parent_pid: int,
    executor: ExecutorSettings | None = None,
) -> None:
    """A workflow process's body: run the workflow, recorded, until done or told to stop;
    discovery's chunks on ``executor`` (default here)."""
    path = Path(root)
    configure_logging(prefix=f"[workflow {path.name}] ")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
    watchdog = threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True)
    watchdog.start()
    chunks = WorkflowExecutor(executor, on_refused=log.warning)
    with create_store(db_url) as store:
        try:
            workspace = Workspace.open(path.parent, path.name)
            manifest = run_recorded(store, workspace, from_phase, executor=chunks)
        except KeyboardInterrupt:
            log.warning("stopped before it finished; resume it to go on from where it stopped")
            raise SystemExit(1) from None
        except WorkflowBusyError as exc:
            log.warning("%s", exc)
            raise SystemExit(1) from None
        except FactoryError as exc:
            log.error("failed: %s", exc)
            raise SystemExit(1) from None
        finally:
            chunks.close()
    log.info("finished: %s", manifest["state"])


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        if os.getppid() != parent_pid:
            log.warning("the server (pid %d) is gone; stopping the workflow", parent_pid)
            _thread.interrupt_main()
            return
