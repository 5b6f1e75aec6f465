"""The worker loop: claim the highest-priority job, run it under a heartbeated lease, record it.

One loop serves both ways of reaching the queue (the store directly, or the service over
HTTP; see :mod:`.job_source`). While a job runs, a heartbeat thread renews its lease every
``heartbeat_every`` seconds and stamps the worker's own heartbeat row with the job's id.
Completion is fenced by the lease token: if the lease was lost (the worker stalled past it
and another worker took the job over), the store refuses the late result and the worker
moves on, so a result is never recorded twice.

Nothing stops the loop but a stop request: when the database or server goes away, every
operation is retried with a capped backoff until it is back. The first SIGTERM/SIGINT
lets the current job finish and be recorded; a second one abandons it (handed back to
the queue untried where the source can, else its lease simply runs out).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from strategy_factory.errors import FactoryError
from strategy_factory.execution.job_source import (
    JobSource,
    Lease,
    SourceUnavailableError,
    StoreJobSource,
)
from strategy_factory.execution.units import UNITS
from strategy_factory.store import Store

T = TypeVar("T")
Unit = Callable[[dict[str, Any]], Any]
log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 5.0


class WorkerInterruptedError(BaseException):
    """A second stop signal: abandon the current job now (not an error of the job)."""


@dataclass
class WorkerReport:
    """What one worker did: ids of the jobs it completed, failed, and lost to others."""

    worker_id: str
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)

    @property
    def jobs(self) -> int:
        """Jobs this worker ran to an end (completed, failed or lost)."""
        return len(self.completed) + len(self.failed) + len(self.lost)


class _Heartbeat(threading.Thread):
    """Renews the leases of the jobs in hand and stamps the worker's heartbeat row."""

    def __init__(self, source: JobSource, worker_id: str, lease: float, every: float) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.source, self.worker_id, self.lease, self.every = source, worker_id, lease, every
        self.held: list[Lease] = []
        self.current: int | None = None
        self.settling = False
        self.lock = threading.Lock()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            with self.lock:
                held, current = list(self.held), self.current
            try:
                for lease in held:
                    renewed = self.source.heartbeat(lease, self.lease, self.worker_id)
                    if not renewed and self.holds(lease):  # not being recorded meanwhile
                        log.warning(
                            "lost the lease of job %s: another worker may rerun it", lease.id
                        )
                self.source.worker_heartbeat(self.worker_id, current)
            except SourceUnavailableError as exc:
                log.warning("heartbeat missed (%s); retrying in %.1f s", exc, self.every)
            except Exception:  # keep beating: a dead heartbeat thread would lose every lease
                log.exception("heartbeat failed; retrying in %.1f s", self.every)

    def holds(self, lease: Lease) -> bool:
        """Whether the lease is in hand and not being recorded (which ends it)."""
        with self.lock:
            return lease in self.held and not self.settling

    def hold(self, leases: Sequence[Lease], current: int | None, settling: bool = False) -> None:
        """The leases to renew, the job running now, and whether they are being recorded."""
        with self.lock:
            self.held, self.current, self.settling = list(leases), current, settling


class _Control:
    """Stop requests: ``stop`` ends the loop after the current job, ``abandon`` at once.

    A signal handler runs between two bytecodes of the main thread, which may be inside
    ``Event.wait`` holding the very lock ``Event.set`` takes: setting an event there can
    deadlock the worker (it then never exits). So the handler only counts the signal and
    writes a byte to a pipe; a relay thread reads it and sets the event.
    """

    STOP, ABANDON, CLOSE = b"s", b"a", b"c"

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.abandon = threading.Event()
        self.busy = False
        self.received = 0
        self.pipe: tuple[int, int] | None = None

    def signal(self, signum: int, _frame: Any) -> None:
        self.received += 1
        second = self.received > 1 or self.stop.is_set()  # reading the flag takes no lock
        if self.pipe is not None:
            os.write(self.pipe[1], self.ABANDON if second else self.STOP)
        if second and self.busy:  # only a running job needs interrupting
            raise WorkerInterruptedError

    def relay(self, read_end: int) -> None:
        """Turn the handler's bytes into events (and log them) until told to close."""
        while (request := os.read(read_end, 1)) not in (self.CLOSE, b""):
            if request == self.STOP:
                log.info("stop requested: stopping after the current job (again to abandon it)")
                self.stop.set()
            else:
                log.info("second stop request: abandoning the current job")
                self.abandon.set()

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Handle SIGTERM/SIGINT while the loop runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.pipe = os.pipe()
        relay = threading.Thread(
            target=self.relay, args=(self.pipe[0],), name="stop-signals", daemon=True
        )
        relay.start()
        previous = {s: signal.signal(s, self.signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.write(self.pipe[1], self.CLOSE)
            relay.join()
            for end in self.pipe:
                os.close(end)
            self.pipe = None


def _persist(call: Callable[[], T], give_up: threading.Event, what: str) -> T | None:
    """``call()``, retried with a capped backoff while the source is unavailable.

    Returns None without calling again once ``give_up`` is set, so a worker told to stop
    while the database is down still exits.
    """
    delay = 0.1
    while True:
        try:
            return call()
        except SourceUnavailableError as exc:
            if give_up.is_set():
                log.warning("gave up %s while stopping: %s", what, exc)
                return None
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
            give_up.wait(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


def _run(lease: Lease, units: Mapping[str, Unit]) -> tuple[bool, Any]:
    """Run one job: (True, result) or (False, "ExceptionType: message")."""
    if lease.kind not in units:
        return False, f"FactoryError: this worker cannot run jobs of kind {lease.kind!r}"
    try:
        return True, units[lease.kind](lease.payload)
    except Exception as exc:  # recorded on the job, which is retried or ends failed
        log.exception("job %s (%s) failed on attempt %s", lease.id, lease.kind, lease.attempts)
        return False, f"{type(exc).__name__}: {exc}"


class _Loop:
    """One worker's claim → run → record cycle."""

    def __init__(
        self,
        source: JobSource,
        report: WorkerReport,
        control: _Control,
        heartbeat: _Heartbeat,
        units: Mapping[str, Unit],
    ) -> None:
        self.source, self.report, self.control = source, report, control
        self.heartbeat, self.units = heartbeat, units

    def claim(self, kinds: Sequence[str] | None, lease_seconds: float, limit: int) -> list[Lease]:
        """Lease up to ``limit`` jobs (empty when there is none, or when told to stop)."""
        worker_id, stop = self.report.worker_id, self.control.stop
        leases = _persist(
            lambda: self.source.claim(worker_id, kinds, lease_seconds, limit), stop, "claiming"
        )
        return leases or []

    def run(self, leases: list[Lease]) -> None:
        """Run a claimed batch in priority order, then record it; stop early if asked."""
        outcomes: list[tuple[Lease, bool, Any]] = []
        try:
            for position, lease in enumerate(leases):
                if self.control.stop.is_set() and position > 0:
                    self.give_back(leases[position:])
                    break
                self.heartbeat.hold(leases, lease.id)
                self.control.busy = True
                ok, value = _run(lease, self.units)
                self.control.busy = False
                outcomes.append((lease, ok, value))
        except WorkerInterruptedError:
            self.control.busy = False
            abandoned = leases[len(outcomes) :]
            log.warning("abandoning job(s) %s", [lease.id for lease in abandoned])
            self.give_back(abandoned)
        # Still renewed while being recorded (the store may be down); a renewal that meets a
        # job this worker has just completed is expected then, not a lost lease.
        self.heartbeat.hold([lease for lease, _, _ in outcomes], None, settling=True)
        self.settle(outcomes)
        self.heartbeat.hold([], None)

    def settle(self, outcomes: list[tuple[Lease, bool, Any]]) -> None:
        """Record results (one round trip for a batch) and failures, fenced by their tokens."""
        give_up = self.control.abandon
        results = [(lease, value) for lease, ok, value in outcomes if ok]
        if results:
            won = set(_persist(lambda: self.source.complete(results), give_up, "recording") or [])
            for lease, _ in results:
                if lease.id in won:
                    self.report.completed.append(lease.id)
                else:
                    log.warning("job %s: its lease was lost, the result is dropped", lease.id)
                    self.report.lost.append(lease.id)
        for lease, ok, error in outcomes:
            if ok:
                continue
            failed = _persist(partial(self.source.fail, lease, error), give_up, "recording")
            (self.report.failed if failed else self.report.lost).append(lease.id)

    def give_back(self, leases: Sequence[Lease]) -> None:
        """Hand untried jobs back to the queue (or leave their leases to run out)."""
        for lease in leases:
            released = _persist(
                partial(self.source.release, lease), self.control.abandon, "releasing"
            )
            if not released:
                log.info("job %s is left to its lease, which will run out", lease.id)


def run_worker(
    source: Store | JobSource,
    worker_id: str | None = None,
    kinds: Sequence[str] | None = None,
    lease_seconds: float = 30.0,
    heartbeat_every: float | None = None,
    poll_interval: float = 0.2,
    max_jobs: int | None = None,
    stop_event: threading.Event | None = None,
    units: Mapping[str, Unit] | None = None,
    batch: int = 1,
) -> WorkerReport:
    """Claim and run jobs until stopped (or ``max_jobs`` have run); returns what it did.

    ``source``: a :class:`Store` (direct database access) or a :class:`JobSource` such as
    :class:`HttpJobSource`. ``heartbeat_every`` defaults to a third of the lease.
    ``units`` maps job kinds to functions of the payload (default: the factory's
    ``train``/``simulate``). ``batch`` claims and records up to that many jobs per round
    trip (for short jobs; each keeps its own lease). Stops on ``stop_event``, or on
    SIGTERM/SIGINT when run in the main thread.
    Example: ``run_worker(create_store("postgresql://…"), kinds=["simulate"])``.
    """
    if not lease_seconds > 0 or not poll_interval > 0 or batch < 1:
        raise FactoryError("lease_seconds and poll_interval must be positive and batch >= 1")
    if max_jobs is not None and max_jobs < 1:
        raise FactoryError(f"max_jobs must be at least 1, got {max_jobs}")
    if kinds is not None and not kinds:
        raise FactoryError("kinds is empty: leave it out to run every kind of job")
    jobs: JobSource = StoreJobSource(source) if isinstance(source, Store) else source
    control = _Control(stop_event or threading.Event())
    with control.signals():
        registered = _persist(lambda: jobs.register(worker_id), control.stop, "registering")
        if registered is None:
            return WorkerReport(worker_id or "unregistered")
        report = WorkerReport(registered)
        heartbeat = _Heartbeat(
            jobs, registered, lease_seconds, heartbeat_every or lease_seconds / 3
        )
        heartbeat.start()
        loop = _Loop(jobs, report, control, heartbeat, UNITS if units is None else units)
        log.info("worker %s started (kinds: %s)", registered, ", ".join(kinds or ["all"]))
        try:
            while not control.stop.is_set() and (max_jobs is None or report.jobs < max_jobs):
                limit = batch if max_jobs is None else min(batch, max_jobs - report.jobs)
                leases = loop.claim(kinds, lease_seconds, limit)
                if leases:
                    loop.run(leases)
                else:
                    control.stop.wait(poll_interval)
        finally:
            heartbeat.done.set()
            heartbeat.join()
            _persist(lambda: jobs.stop(registered), control.abandon, "marking the worker stopped")
    log.info(
        "worker %s stopped: %d completed, %d failed, %d lost",
        *(registered, len(report.completed), len(report.failed), len(report.lost)),
    )
    return report
