"""The durable queue executor: units go into ``priority_jobs``; ``factory worker`` runs them.

``submit`` enqueues a job (deduplicated by kind + payload hash within the run) and hands
back a future; one background thread polls the store for all outstanding jobs in a single
query and resolves each future when its job is ``done`` (its result) or ``failed``
(:class:`JobFailedError`). Because jobs are durable and deduplicated, a resumed run that
submits the same unit again gets the same job: its stored result at once if it already
finished, or the same in-flight job otherwise.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from typing import Any

from sqlalchemy.exc import DBAPIError

from strategy_factory.store import Job, JobOutcome, Store, is_transient

log = logging.getLogger(__name__)
MAX_POLL_BACKOFF_SECONDS = 5.0


class JobFailedError(Exception):
    """A queued job ended ``failed``: every attempt raised, or its workers kept dying."""

    def __init__(self, job_id: int, kind: str, attempts: int, error: str | None) -> None:
        super().__init__(f"job {job_id} ({kind}) failed after {attempts} attempt(s): {error}")
        self.job_id, self.kind, self.attempts, self.error = job_id, kind, attempts, error


class QueueExecutor:
    """Runs units through the store's durable job queue (see :mod:`.worker`).

    ``run_id`` scopes deduplication to one evolution run; ``priority`` of :meth:`submit`
    becomes the job's ``parent_sqn`` (higher runs first). A job is tried ``max_attempts``
    times before it ends failed. Example::

        executor = QueueExecutor(create_store("postgresql://…"), run_id=run.id)
        Evolution(store, executor).run(run.id)   # while `factory worker` processes run
    """

    def __init__(
        self,
        store: Store,
        run_id: str | None = None,
        poll_interval: float = 0.2,
        max_attempts: int = 3,
    ) -> None:
        self.store, self.run_id = store, run_id
        self.poll_interval, self.max_attempts = poll_interval, max_attempts
        self._waiting: dict[int, tuple[str, list[Future]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        """Enqueue unit ``kind`` on ``payload`` (or find it queued); a future of its result."""
        job = Job(
            kind, payload, run_id=self.run_id, parent_sqn=priority, max_attempts=self.max_attempts
        )
        self.store.queue.enqueue([job])
        record = self.store.queue.find(job.dedup_key, self.run_id)
        if record is None:  # enqueued or found a moment ago: only a concurrent purge does this
            raise RuntimeError(f"job {job.dedup_key} vanished from the queue right after enqueue")
        if record.status == "failed" and self.store.queue.retry(record.id):
            log.info(
                "job %s had failed before: submitted again, so it gets new attempts", record.id
            )
            record = self.store.queue.get(record.id)
        future: Future = Future()
        if record.status == "done":
            future.set_result(record.result)
            return future
        with self._lock:
            self._waiting.setdefault(record.id, (kind, []))[1].append(future)
        self._start()
        return future

    def close(self) -> None:
        """Stop polling; futures still waiting are cancelled (their jobs stay queued)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for _, futures in waiting.values():
            for future in futures:
                future.cancel()

    def _start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll, name="queue-executor", daemon=True)
            self._thread.start()

    def _poll(self) -> None:
        delay = self.poll_interval
        while not self._stop.wait(delay):
            with self._lock:
                ids = list(self._waiting)
            if not ids:
                delay = self.poll_interval
                continue
            try:
                outcomes = self.store.queue.outcomes(ids)
            except DBAPIError as exc:
                if not is_transient(exc):
                    self._fail_all(exc)
                    raise
                delay = min(delay * 2, MAX_POLL_BACKOFF_SECONDS)  # wait for the store
                log.warning("polling the queue failed (%s); retrying in %.1f s", exc, delay)
                continue
            except Exception as exc:
                self._fail_all(exc)
                raise
            delay = self.poll_interval
            for outcome in outcomes:
                self._resolve(outcome)

    def _resolve(self, outcome: JobOutcome) -> None:
        with self._lock:
            kind, futures = self._waiting.pop(outcome.id, ("", []))
        for future in futures:
            if not future.set_running_or_notify_cancel():  # the caller cancelled it
                continue
            if outcome.status == "done":
                future.set_result(outcome.result)
            else:
                future.set_exception(
                    JobFailedError(outcome.id, kind, outcome.attempts, outcome.error)
                )

    def _fail_all(self, exc: Exception) -> None:
        """Hand an unexpected polling error to every waiting caller instead of hanging them."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for _, futures in waiting.values():
            for future in futures:
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
