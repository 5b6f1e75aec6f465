"""The coordinator: drives evolution runs inside the server, one thread per run.

Each run is ``Evolution(store, executor).run(run_id)`` with an executor that puts its
units of work into the durable queue (``QueueExecutor``); workers anywhere do the work.
Everything a run does is recorded as it happens, so the coordinator keeps no state worth
saving: on startup it picks up the runs a previous server left ``running`` (or created
and never started) and continues them, and the engine resumes each without retraining.

Stopping differs from shutting down. A stop request ends a run as ``stopped``: its
waiting futures fail with :class:`StopRequestedError`, which the engine handles. A server
shutdown must leave runs ``running`` so the next server resumes them: the futures fail
with :class:`ServiceShutdown`, a ``BaseException`` like ``SystemExit``, which the engine's
``except Exception`` deliberately does not catch and record as a failure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from strategy_factory.evolution import Evolution, StopRequestedError
from strategy_factory.execution import Executor, QueueExecutor
from strategy_factory.store import RunStatus, Store

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[Store, str], Executor]
_UNFINISHED = (RunStatus.RUNNING.value, RunStatus.PENDING.value)
_RESUME_LIMIT = 10_000


class ServiceShutdown(BaseException):
    """The server is going away; the run stays ``running`` for the next server to resume."""


def queue_executor(store: Store, run_id: str) -> Executor:
    """The default: units go into the durable ``priority_jobs`` queue for workers."""
    return QueueExecutor(store, run_id=run_id)


class InterruptibleExecutor:
    """Wraps an executor so that every future it handed out can be failed at once.

    The engine blocks on ``future.result()`` while workers do a unit; :meth:`interrupt`
    makes those calls (and any later ``submit``) raise ``error`` instead.
    """

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._waiting: set[Future] = set()
        self._error: BaseException | None = None

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        """Submit to the wrapped executor; the returned future can be interrupted."""
        with self._lock:
            if self._error is not None:
                raise self._error
        inner = self.inner.submit(kind, payload, priority)
        outer: Future = Future()
        with self._lock:
            self._waiting.add(outer)
        inner.add_done_callback(lambda done: self._settle(outer, done))
        outer.add_done_callback(lambda done: done.cancelled() and inner.cancel())
        return outer

    def _settle(self, outer: Future, inner: Future) -> None:
        with self._lock:
            self._waiting.discard(outer)
        # An interrupted or cancelled future keeps that first outcome.
        with contextlib.suppress(InvalidStateError):
            if inner.cancelled():
                outer.cancel()
            elif inner.exception() is not None:
                outer.set_exception(inner.exception())
            else:
                outer.set_result(inner.result())

    def interrupt(self, error: BaseException) -> None:
        """Fail every waiting future (and every later submit) with ``error``.

        The first interrupt wins: a run asked to stop still ends ``stopped`` when the
        server shuts down before the engine noticed.
        """
        with self._lock:
            self._error = self._error or error
            error = self._error
            waiting, self._waiting = self._waiting, set()
        for future in waiting:
            # A future that finished a moment ago keeps its result.
            with contextlib.suppress(InvalidStateError):
                future.set_exception(error)

    def close(self) -> None:
        """Close the wrapped executor."""
        self.inner.close()


class Coordinator:
    """Runs evolution runs in background threads of this process.

    Example::

        coordinator = Coordinator(store)
        coordinator.resume()            # runs a previous server left unfinished
        coordinator.launch(run.id)      # a run just created by create_run
    """

    def __init__(self, store: Store, executor_factory: ExecutorFactory = queue_executor) -> None:
        self.store = store
        self.executor_factory = executor_factory
        self._lock = threading.Lock()
        self._active: dict[str, tuple[threading.Thread, InterruptibleExecutor]] = {}
        self._closed = False

    def active(self) -> list[str]:
        """Ids of the runs this process is driving now."""
        with self._lock:
            return sorted(self._active)

    def resume(self) -> list[str]:
        """Continue every run left ``running`` or ``pending``, oldest first; their ids."""
        unfinished = [
            run
            for status in _UNFINISHED
            for run in self.store.runs.recent(status=status, limit=_RESUME_LIMIT)
        ]
        unfinished.sort(key=lambda run: run.created_at)
        return [run.id for run in unfinished if self.launch(run.id)]

    def launch(self, run_id: str) -> bool:
        """Start driving ``run_id`` in a thread; False if it is already being driven."""
        with self._lock:
            if self._closed or run_id in self._active:
                return False
            executor = InterruptibleExecutor(self.executor_factory(self.store, run_id))
            thread = threading.Thread(
                target=self._drive, args=(run_id, executor), name=f"run-{run_id}", daemon=True
            )
            self._active[run_id] = (thread, executor)
        thread.start()
        return True

    def stop(self, run_id: str) -> None:
        """End a run whose stop was requested now, instead of after its current unit."""
        with self._lock:
            entry = self._active.get(run_id)
        if entry is not None:
            entry[1].interrupt(StopRequestedError())

    def shutdown(self, timeout: float = 10.0) -> None:
        """Let go of every run (they stay ``running`` and resume on the next start)."""
        with self._lock:
            self._closed = True
            entries = list(self._active.values())
        for _, executor in entries:
            executor.interrupt(ServiceShutdown())
        for thread, _ in entries:
            thread.join(timeout)

    def _drive(self, run_id: str, executor: InterruptibleExecutor) -> None:
        try:
            Evolution(self.store, executor).run(run_id)
        except ServiceShutdown:
            log.info("run %s left running for the next server to resume", run_id)
        except Exception as exc:
            log.exception("run %s failed", run_id)
            self._record_failure(run_id, exc)
        finally:
            executor.close()
            with self._lock:
                self._active.pop(run_id, None)

    def _record_failure(self, run_id: str, exc: Exception) -> None:
        """Mark the run failed when it broke before the engine could (e.g. its data vanished)."""
        if self.store.runs.get(run_id).status in _UNFINISHED:
            self.store.runs.finish(run_id, "failed", "failed", error=f"{type(exc).__name__}: {exc}")
