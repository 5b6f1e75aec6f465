"""The coordinator: drives evolution runs inside the server, one thread per run.

Each run is ``Evolution(store, executor).run(run_id)`` with an executor that puts its
units of work into the durable queue (``QueueExecutor``); workers anywhere do the work.
Everything a run does is recorded as it happens, so the coordinator keeps no state worth
saving.

One coordinator per run, however many servers share the store: the coordinator holds
the lease of every run it drives (:class:`LeaseKeeper`, renewed every third of
``lease_seconds``) and every write of the run is fenced by it. Every renewal tick also
sweeps the store: runs whose lease is free — created and never started, left by a server
that died, or abandoned by a ``factory evolve`` that was killed — are taken over and
resumed (the engine resumes each without retraining), and workers that stopped
heartbeating are marked lost. A second server therefore starts without stealing live
runs, and takes over a dead server's runs once their leases expire.

When the store goes away, a run's writes fail past their retries and the run is left as
it is (:class:`StoreUnavailableError`); its lease runs out, and the sweep resumes it once
the store is back. Nothing is marked failed for an outage, nothing is stranded.

Stopping differs from shutting down. A stop request ends a run as ``stopped``: its
waiting futures fail with :class:`StopRequestedError`, which the engine handles. A server
shutdown must leave runs ``running`` so the next server resumes them: the futures fail
with :class:`ServiceShutdown`, a ``BaseException`` like ``SystemExit``, which the engine's
``except Exception`` deliberately does not catch and record as a failure; the run's lease
is released, so the next server need not wait it out.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from strategy_factory.evolution import Evolution, StopRequestedError
from strategy_factory.evolution.ownership import DEFAULT_LEASE_SECONDS, LeaseKeeper, new_owner_id
from strategy_factory.execution import Executor, QueueExecutor, executor_notices
from strategy_factory.execution.settings import ExecutorSettings
from strategy_factory.store import LeaseLostError, Store, StoreUnavailableError

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[Store, str], Executor]


class ServiceShutdown(BaseException):
    """The server is going away; the run stays ``running`` for the next server to resume."""


def queue_executor(store: Store, run_id: str) -> Executor:
    """The default: units go into the durable ``priority_jobs`` queue for workers."""
    return QueueExecutor(store, run_id=run_id)


def executors_for(settings: ExecutorSettings) -> ExecutorFactory:
    """Each run's executor: the durable queue, or a client of the Dask cluster of
    ``settings`` (connected, its workers' versions checked, per run)."""
    if settings.executor == "queue":
        return queue_executor
    return lambda store, run_id: OnFirstUnit(settings.build)


class OnFirstUnit:
    """Builds its executor when the run submits its first unit, in the run's thread: a
    cluster is connected there, never under the coordinator's lock, and a cluster that
    cannot be reached fails the run with that message."""

    def __init__(self, build: Callable[[], Executor]) -> None:
        self._build = build
        self._inner: Executor | None = None
        self._lock = threading.Lock()

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        """Submit to the executor, built now if this is the first unit."""
        with self._lock:
            if self._inner is None:
                self._inner = self._build()
            inner = self._inner
        return inner.submit(kind, payload, priority)

    def notices(self) -> list[str]:
        """The built executor's notices (see :func:`executor_notices`)."""
        return [] if self._inner is None else executor_notices(self._inner)

    def close(self) -> None:
        """Close the executor, if it was built."""
        if self._inner is not None:
            self._inner.close()


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

    def notices(self) -> list[str]:
        """The wrapped executor's notices (see :func:`executor_notices`)."""
        return executor_notices(self.inner)

    def close(self) -> None:
        """Close the wrapped executor."""
        self.inner.close()


class Coordinator:
    """Runs evolution runs in background threads of this process, one lease per run.

    Example::

        coordinator = Coordinator(store)
        coordinator.start()             # resume free runs, then keep leases and sweep
        coordinator.launch(run.id)      # a run just created by create_run
    """

    def __init__(
        self,
        store: Store,
        executor_factory: ExecutorFactory = queue_executor,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        lost_worker_seconds: float = 60.0,
    ) -> None:
        self.store = store
        self.executor_factory = executor_factory
        self.lost_worker_seconds = lost_worker_seconds
        self.keeper = LeaseKeeper(
            store, new_owner_id("server"), lease_seconds, on_lost=self._lost, on_tick=self.sweep
        )
        self._lock = threading.Lock()
        self._active: dict[str, tuple[threading.Thread, InterruptibleExecutor]] = {}
        self._closed = False

    @property
    def owner_id(self) -> str:
        """The id this coordinator holds run leases under."""
        return self.keeper.owner_id

    def active(self) -> list[str]:
        """Ids of the runs this process is driving now."""
        with self._lock:
            return sorted(self._active)

    def start(self) -> list[str]:
        """Resume every run whose lease is free, then keep leases and sweep; resumed ids."""
        resumed = self.resume()
        self.keeper.start()
        return resumed

    def resume(self) -> list[str]:
        """Take over and continue every unfinished run nobody drives, oldest first."""
        free = self.store.runs.claimable(self.owner_id)
        return [run.id for run in free if self.launch(run.id)]

    def sweep(self) -> None:
        """One maintenance pass: mark silent workers lost, resume runs whose lease is free."""
        lost = self.store.workers.mark_lost(self.lost_worker_seconds)
        if lost:
            log.warning("worker(s) %s stopped heartbeating: marked lost", ", ".join(lost))
        resumed = self.resume()
        if resumed:
            log.info("took over run(s) %s", ", ".join(resumed))

    def launch(self, run_id: str, resume_failed: bool = False) -> bool:
        """Start driving ``run_id`` in a thread; False if it is driven already (here or by
        another process holding its lease). ``resume_failed`` also resumes a failed run."""
        with self._lock:
            if self._closed or run_id in self._active:
                return False
            if self.keeper.acquire(run_id, resume_failed) is None:
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
        self._interrupt(run_id, StopRequestedError())

    def shutdown(self, timeout: float = 10.0) -> None:
        """Let go of every run (they stay ``running`` and resume on the next start)."""
        with self._lock:
            self._closed = True
            entries = list(self._active.items())
        self.keeper.stop()
        for _, (_, executor) in entries:
            executor.interrupt(ServiceShutdown())
        for run_id, (thread, _) in entries:
            thread.join(timeout)
            if not thread.is_alive():
                self._release(run_id)

    def _interrupt(self, run_id: str, error: BaseException) -> None:
        with self._lock:
            entry = self._active.get(run_id)
        if entry is not None:
            entry[1].interrupt(error)

    def _lost(self, run_id: str) -> None:
        self._interrupt(run_id, LeaseLostError(f"run {run_id} is driven by another process"))

    def _release(self, run_id: str) -> None:
        with contextlib.suppress(Exception):  # best effort: an unreleased lease expires
            self.keeper.release(run_id)

    def _drive(self, run_id: str, executor: InterruptibleExecutor) -> None:
        try:
            Evolution(self.store, executor, owner_id=self.owner_id).run(run_id)
            self.keeper.forget(run_id)  # finishing the run ended its lease
        except ServiceShutdown:
            log.info("run %s left running for the next server to resume", run_id)
        except LeaseLostError:
            log.warning("run %s: another process holds its lease now; let go of it", run_id)
            self.keeper.forget(run_id)
        except StoreUnavailableError as exc:
            log.warning("%s", exc)
            self.keeper.forget(run_id)  # its lease runs out; the sweep resumes it later
        except Exception as exc:
            log.exception("run %s failed", run_id)
            self._record_failure(run_id, exc)
        finally:
            executor.close()
            with self._lock:
                self._active.pop(run_id, None)

    def _record_failure(self, run_id: str, exc: Exception) -> None:
        """Mark the run failed when it broke before the engine could (e.g. its data vanished)."""
        try:
            if self.store.runs.get(run_id).status in ("pending", "running"):
                self.store.runs.finish(
                    run_id,
                    "failed",
                    "failed",
                    error=f"{type(exc).__name__}: {exc}",
                    owner_id=self.owner_id,
                )
        except (LeaseLostError, Exception) as recording:  # the next sweep retries the run
            log.warning("could not record run %s as failed: %s", run_id, recording)
        finally:
            self.keeper.forget(run_id)
