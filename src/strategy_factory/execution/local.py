"""Executors that run work units on this machine: in-process, or a pool of processes.

Besides the units, the pool runs *shared tasks* (:meth:`LocalExecutor.share`): one
function over many payloads that all read one large value, which each worker receives
once rather than with every task (a workflow's bars and regime labels).
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from strategy_factory.execution.units import run_unit


class Executor(Protocol):
    """Runs units of work (see :mod:`.units`) and hands back futures of their results."""

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        """Start unit ``kind`` on ``payload``; ``priority`` (e.g. parent SQN) orders queued work."""
        ...

    def close(self) -> None:
        """Release workers; pending futures are cancelled."""
        ...


# ``function(value, payload)``: a shared task's function, a module-level one (workers
# import it by name; nothing but the value and the payload travels).
SharedFunction = Callable[[Any, dict[str, Any]], dict[str, Any]]


class SharedTasks(Protocol):
    """Tasks of one function over payloads that share one value, shipped once."""

    workers: int  # how many tasks run at once (a caller sizes its tasks for balance)

    def submit(self, payload: dict[str, Any]) -> Future:
        """Start ``function(value, payload)``; a future of its result."""
        ...

    def close(self) -> None:
        """Release the workers' copies of the value; pending futures are cancelled."""
        ...


class SharingExecutor(Executor, Protocol):
    """An executor that also runs shared tasks (the local pool, the Dask cluster)."""

    def share(self, function: SharedFunction, value: Any) -> SharedTasks:
        """Ship ``value`` to the workers once; tasks of ``function`` on it."""
        ...


def executor_notices(executor: Executor) -> list[str]:
    """What ``executor`` has to tell the user about itself (e.g. the Dask workers it
    refused), from its optional ``notices()``; most executors have nothing to say."""
    notices = getattr(executor, "notices", None)
    return list(notices()) if callable(notices) else []


class InlineExecutor:
    """Runs each unit immediately in this process (tests, notebooks, small runs).

    ``threads``: the cores a unit may use; training fits that many grid paths at once on
    threads (the grid kernel runs on Numba's threads, every core unless limited).
    """

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        future: Future = Future()
        try:
            future.set_result(run_unit(kind, payload, threads=self.threads))
        except Exception as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future

    def close(self) -> None:
        return None


class LocalExecutor:
    """A pool of worker processes, one per core by default.

    The pool starts at the first unit. Workers are forked where that is safe, so they
    inherit the datasets this process already built (a run builds its features once,
    not once per worker); they are spawned instead when this process has already started
    Numba's parallel threads, which a fork cannot carry over. Each worker is one core's:
    it runs Numba and BLAS on one thread (see :func:`one_thread_each`).
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        return self.pool().submit(run_unit, kind, payload)

    def share(self, function: SharedFunction, value: Any) -> SharedTasks:
        """Tasks of ``function(value, payload)`` on a pool of their own, whose workers
        get ``value`` once each: inherited when they are forked, else pickled to each.

        The workers start now, so that a fork happens before the caller starts threads.
        """
        return PoolTasks(self.workers, function, value)

    def pool(self) -> ProcessPoolExecutor:
        """The worker pool, started on first use."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context(start_method()),
                initializer=one_thread_each,
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def one_thread_each() -> None:
    """Start of a pool worker: one Numba thread and one BLAS/OpenMP thread.

    The pool already has a process per core; threads on top of that oversubscribe the
    cores (two workers × two Numba threads on two cores). A spawned worker also leaves
    without the final garbage collections of its libraries (see ``strategy_factory.cli``),
    which the pool's shutdown would wait for; a forked one leaves by ``os._exit``.
    """
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    threadpool_limits(limits=1)  # called, not entered: the limit stays for the process
    atexit.register(gc.freeze)


def start_method() -> str:
    """``fork`` when it is available and safe here, else ``spawn``."""
    if "fork" not in multiprocessing.get_all_start_methods() or _numba_threads_started():
        return "spawn"
    return "fork"


def _numba_threads_started() -> bool:
    from numba.np.ufunc import parallel

    return bool(parallel._is_initialized)


# The value and function of a pool worker's shared tasks, set once when it starts.
_HELD: dict[str, Any] = {}


def _hold(function: SharedFunction, value: Any) -> None:
    one_thread_each()
    _HELD.update(function=function, value=value)


def _run_held(payload: dict[str, Any]) -> dict[str, Any]:
    return _HELD["function"](_HELD["value"], payload)


class PoolTasks:
    """Shared tasks on a process pool (see :meth:`LocalExecutor.share`)."""

    def __init__(self, workers: int, function: SharedFunction, value: Any) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(start_method()),
            initializer=_hold,
            initargs=(function, value),
        )
        self._pool.submit(int)  # a forking pool starts all its workers at its first task

    def submit(self, payload: dict[str, Any]) -> Future:
        return self._pool.submit(_run_held, payload)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
