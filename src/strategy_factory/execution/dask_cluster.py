"""The Dask executor: units run on a Dask distributed cluster, with the data shipped to it.

A run's dataset (bars, features, regime labels, targets, z-scores) is built once on this
machine and scattered to every worker of the cluster once per run; each unit's task
references it, so nothing is read from a worker's ``FACTORY_HOME`` and a symbol imported
only here works on the cluster. Results come back as the units' plain JSON values (model
artifacts in the store's safe format), which the engine validates and records
idempotently, as it does for every executor. The same holds for shared tasks
(:meth:`DaskExecutor.share`, e.g. a workflow's discovery chunks): their value (the
workflow's prepared bars) is scattered once, and their results are plain arrays that
the caller checks before it writes anything.

Every worker's version is checked when the client connects (a worker of another version
refuses the cluster), and a :class:`~.dask_admission.VersionGate` keeps it so for the
workers that join later: units run only on workers of this client's version, and any
other worker is reported in :meth:`DaskExecutor.notices` (and to ``on_refused``).

Dask retries the tasks of a worker that dies (up to the scheduler's
``distributed.scheduler.allowed-failures``). The data is scattered to every worker; a
scheduler running Dask's active memory manager (on by default; off in
:func:`local_cluster`) soon drops the extra copies (a worker fetches the data from its
holder when it needs it), so a lost worker may take the only copy: the tasks that read
it are then cancelled, and this executor scatters the data again and reruns them
(``LOST_DATA_RETRIES`` times at most). Dask's own wire protocol pickles: the
cluster is trusted like the machines of ``factory worker`` processes, never an open
network.

Example::

    executor = DaskExecutor("tcp://10.0.0.5:8786")
    Evolution(store, executor).run(run.id)
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from strategy_factory.errors import FactoryError
from strategy_factory.execution import dask_admission
from strategy_factory.execution.dataset import Dataset, DatasetSpec, load_dataset
from strategy_factory.execution.local import SharedFunction, SharedTasks
from strategy_factory.execution.units import run_unit

if TYPE_CHECKING:
    import distributed

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 30.0
# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
# glibc's adaptive mmap threshold: every NumPy temporary over 128 KiB is then mapped
# fresh and unmapped on release, and a training unit takes ~45x the page faults and
# ~1.4x the CPU time (benchmarks/bench_dask_nanny.py). Workers we start keep glibc's
# default instead; they also run without the statistical profiler, which samples the
# running unit every 10 ms and whose report nothing here reads.
#
# Its scheduler runs without the active memory manager: the manager drops the copies of a
# scattered dataset on every worker but one, so the others fetch it from the holder again
# and again, and the scheduler, weighing that transfer, keeps most tasks on the holder —
# 2 workers ran the simulation-bound benchmark at 1.32x one worker with it, 1.76x
# without (benchmarks/bench_dask.py).
LOCAL_WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.active-memory-manager.start": False,
}
# Times a unit is run again because its dataset was lost (every worker holding it died).
LOST_DATA_RETRIES = 3


class ClusterVersionError(FactoryError):
    """A Dask worker runs another ``strategy-factory`` version than this client."""


def installed_version() -> str:
    """The ``strategy_factory.__version__`` of this process (asked of each worker)."""
    import strategy_factory

    return strategy_factory.__version__


def check_versions(client: distributed.Client) -> dict[str, str]:
    """Every worker's ``strategy-factory`` version (returned), refused unless it is ours.

    Raises :class:`ClusterVersionError` naming the worker and both versions.
    """
    expected = installed_version()
    reported = client.run(installed_version, on_error="return")
    for worker, version in sorted(reported.items()):
        if isinstance(version, BaseException):
            raise ClusterVersionError(
                f"Dask worker {worker} could not report its strategy-factory version "
                f"({type(version).__name__}: {version}): install strategy-factory "
                f"{expected} on it, as on this client"
            )
        if version != expected:
            raise ClusterVersionError(
                f"Dask worker {worker} runs strategy-factory {version}, this client "
                f"{expected}: install strategy-factory {expected} on every worker"
            )
    return reported


def connect(scheduler: str, timeout: float | None = None) -> distributed.Client:
    """A client of the Dask scheduler at ``scheduler``, once a worker has joined it
    (waiting ``timeout`` seconds for each, default :data:`CONNECT_TIMEOUT_SECONDS`)."""
    from distributed import Client

    timeout = CONNECT_TIMEOUT_SECONDS if timeout is None else timeout

    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except OSError as exc:
        raise FactoryError(
            f"cannot reach the Dask scheduler at {scheduler} ({exc}): check the address "
            "(tcp://host:8786), or start one with `factory cluster local`"
        ) from exc
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError as exc:
        client.close()
        raise FactoryError(
            f"the Dask scheduler at {scheduler} has no worker after {timeout:g} s: "
            "start `dask worker` processes against it"
        ) from exc
    return client


def local_cluster(workers: int, **options: Any) -> distributed.LocalCluster:
    """A scheduler and ``workers`` nanny-started worker processes of one thread on this
    machine, with glibc's default allocator settings, no profiler and no active memory
    manager (``LOCAL_WORKER_CONFIG``).

    ``options``: more ``distributed.LocalCluster`` arguments (``host``,
    ``scheduler_port``, …).
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set(LOCAL_WORKER_CONFIG):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            **options,
        )


class DaskExecutor:
    """Runs units as tasks of a Dask cluster (see the module's docstring).

    ``scheduler`` is the scheduler's address (``tcp://host:8786``) or a connected
    ``distributed.Client``; every worker's version is checked when it connects, and a
    worker of another version that joins later runs none of the units: it is named in
    :meth:`notices` and passed to ``on_refused`` (called on Dask's event loop: keep it
    short).
    """

    def __init__(
        self,
        scheduler: str | distributed.Client,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.client = connect(scheduler) if isinstance(scheduler, str) else scheduler
        self._owns_client = isinstance(scheduler, str)
        self._datasets: dict[str, distributed.Future] = {}
        self._tasks: set[distributed.Future] = set()
        self._refused: dict[str, str] = {}
        self.on_refused = on_refused
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.versions = check_versions(self.client)
        except ClusterVersionError:
            self.close()
            raise
        self._resource = self._gate()

    def notices(self) -> list[str]:
        """What the user should know: the workers refused since connecting, and why."""
        with self._lock:
            return list(self._refused.values())

    def _gate(self) -> str:
        """Admit only workers of this version, now and later; the resource units ask for."""
        import cloudpickle

        version = installed_version()
        topic = dask_admission.refused_topic(version)
        self.client.subscribe_topic(topic, self._on_refused_event)
        # By value: a worker without the package can still run the gate, and be refused.
        cloudpickle.register_pickle_by_value(dask_admission)
        self.client.register_plugin(dask_admission.VersionGate(version))
        present = set(self.client.scheduler_info()["workers"])
        for _, event in self.client.get_events(topic):  # refused before we subscribed
            if event["worker"] in present:
                self._on_refused_event((None, event))
        return dask_admission.resource_name(version)

    def _on_refused_event(self, event: tuple[Any, dict[str, str]]) -> None:
        _, message = event
        with self._lock:
            known = message["worker"] in self._refused
            self._refused[message["worker"]] = message["message"]
        if not known:
            log.warning(message["message"])
            if self.on_refused is not None:
                self.on_refused(message["message"])

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        """Start unit ``kind`` on the cluster; a future of its result.

        Higher ``priority`` (the parent's SQN) runs first among queued tasks. Cancelling
        the future cancels the task.
        """

        def task() -> distributed.Future:
            dataset = self.scattered(payload["dataset"]) if "dataset" in payload else None
            return self.task(run_unit, kind, payload, dataset, name=kind, priority=priority)

        return self.follow(task)

    def share(self, function: SharedFunction, value: Any) -> SharedTasks:
        """Scatter ``value`` to every admitted worker now; tasks of ``function(value,
        payload)`` on it (the value shipped again if every worker holding it is lost)."""
        return ClusterTasks(self, function, value)

    def task(
        self, function: Callable[..., Any], *args: Any, name: str, priority: float | None = None
    ) -> distributed.Future:
        """Submit ``function(*args)`` as a task named ``name-…`` (on the dashboard and task
        stream), to run only on workers of this version."""
        return self.client.submit(
            function,
            *args,
            key=f"{name}-{uuid.uuid4().hex}",
            priority=_rank(priority),
            resources={self._resource: 1},
        )

    def follow(self, task: Callable[[], distributed.Future]) -> Future:
        """A future of the task ``task()`` submits, submitted again (up to
        :data:`LOST_DATA_RETRIES` times) if the data it reads is lost with every worker
        that held it; ``task`` ships the data again when it must. Cancelling the future
        cancels the task."""
        future: Future = Future()
        current: list[distributed.Future] = []

        def cancel(done: Future) -> None:
            if done.cancelled():
                current[-1].cancel()

        future.add_done_callback(cancel)
        self._start(future, current, task, LOST_DATA_RETRIES)
        return future

    def scattered(self, spec_fields: dict[str, Any]) -> distributed.Future:
        """The dataset named by ``spec_fields`` on every worker, scattered at its first use
        (and again if every worker holding it was lost)."""
        spec = DatasetSpec.model_validate(spec_fields)
        key = spec.key()
        with self._lock:
            held = self._datasets.get(key)
            if held is None or held.status != "finished":
                dataset: Dataset = load_dataset(spec)
                self._datasets[key] = self.broadcast(dataset)
                log.info("scattered the dataset of %s to the cluster", spec.symbol)
            return self._datasets[key]

    def broadcast(self, value: Any) -> distributed.Future:
        """``value`` scattered to every worker of this version (later ones fetch it)."""
        return self.client.scatter(
            value, workers=self._admitted() or None, broadcast=True, hash=False
        )

    def threads(self) -> int:
        """How many tasks the admitted workers run at once (their threads; at least 1)."""
        workers = self.client.scheduler_info()["workers"].values()
        admitted = [w for w in workers if w.get("resources", {}).get(self._resource)]
        return max(sum(w.get("nthreads", 1) for w in admitted), 1)

    def _admitted(self) -> list[str]:
        """The workers that hold this version's resource (a later one fetches from them)."""
        workers = self.client.scheduler_info()["workers"]
        return [a for a, w in workers.items() if w.get("resources", {}).get(self._resource)]

    def close(self) -> None:
        """Cancel the tasks still running and release the scattered data."""
        with self._lock:
            tasks, self._tasks = self._tasks, set()
            self._datasets, self._closed = {}, True
        for task in tasks:
            task.cancel()
        if self._owns_client:
            self.client.close()

    def _start(
        self,
        future: Future,
        current: list[distributed.Future],
        submit: Callable[[], distributed.Future],
        retries: int,
    ) -> None:
        """Submit the task; ``future`` follows it (``current`` holds the task)."""
        task = submit()
        current.append(task)
        with self._lock:
            self._tasks.add(task)

        def settle(done: distributed.Future) -> None:
            with self._lock:
                self._tasks.discard(done)
                closed = self._closed
            if future.cancelled():
                return
            if done.status == "cancelled" and retries > 0 and not closed:
                # Its data was lost with the workers that held it: ship it and rerun.
                threading.Thread(
                    target=self._restart, args=(future, current, submit, retries - 1), daemon=True
                ).start()
                return
            if future.set_running_or_notify_cancel():
                if done.status == "finished":
                    future.set_result(done.result())
                else:
                    future.set_exception(_failure(done))

        task.add_done_callback(settle)

    def _restart(self, future: Future, *task: Any) -> None:
        try:
            self._start(future, *task)
        except Exception as exc:  # handed to the caller through the future
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)


class ClusterTasks:
    """Shared tasks on a Dask cluster (see :meth:`DaskExecutor.share`)."""

    def __init__(self, executor: DaskExecutor, function: SharedFunction, value: Any) -> None:
        self.executor = executor
        self.function = function
        self.value = value
        self.workers = executor.threads()
        self._lock = threading.Lock()
        self._scattered = executor.broadcast(value)

    def scattered(self) -> distributed.Future:
        """The value on the cluster, scattered again if every worker holding it was lost."""
        with self._lock:
            if self._scattered.status != "finished":
                self._scattered = self.executor.broadcast(self.value)
                log.info("scattered the shared value again: its workers were lost")
            return self._scattered

    def submit(self, payload: dict[str, Any]) -> Future:
        name = getattr(self.function, "__name__", "shared")
        return self.executor.follow(
            lambda: self.executor.task(self.function, self.scattered(), payload, name=name)
        )

    def close(self) -> None:
        with self._lock:
            self._scattered.release()


def _failure(task: distributed.Future) -> BaseException:
    """Why ``task`` did not finish: its exception, or that it was cancelled."""
    if task.status == "cancelled":
        return FactoryError(f"the Dask task {task.key} was cancelled by the cluster")
    return task.exception()


def _rank(priority: float | None) -> int:
    """Dask's integer priority of a parent SQN: ordered, and 0 when there is none."""
    if priority is None or math.isnan(priority):
        return 0
    return round(max(min(priority, 1e6), -1e6) * 1000)
