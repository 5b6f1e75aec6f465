"""Workers: registration, heartbeats on the database clock, liveness, shutdown."""

from __future__ import annotations

import os
import time

import pytest

from strategy_factory.errors import NotFoundError
from strategy_factory.store import Job, Store


def test_a_worker_is_live_while_it_heartbeats(store: Store) -> None:
    worker = store.workers.register("w-1", hostname="node-a", pid=4242)
    assert (worker.hostname, worker.pid, worker.status) == ("node-a", 4242, "running")
    assert [w.id for w in store.workers.live(within_seconds=60)] == ["w-1"]

    store.queue.enqueue([Job("train", {"n": 1})])
    job = store.queue.claim("w-1")
    assert job is not None
    beat = store.workers.heartbeat("w-1", current_job_id=job.id)
    assert beat.current_job_id == job.id
    assert beat.last_heartbeat > worker.last_heartbeat

    time.sleep(1.0)
    assert store.workers.live(within_seconds=0.8) == []
    store.workers.heartbeat("w-1")
    assert [w.id for w in store.workers.live(within_seconds=0.8)] == ["w-1"]

    stopped = store.workers.stop("w-1")
    assert (stopped.status, stopped.current_job_id) == ("stopped", None)
    assert store.workers.live() == []


def test_registering_again_restarts_the_same_worker(store: Store) -> None:
    first = store.workers.register("w-1", hostname="node-a", pid=1)
    store.workers.stop("w-1")
    again = store.workers.register("w-1", hostname="node-b", pid=2)
    assert (again.hostname, again.pid, again.status) == ("node-b", 2, "running")
    assert again.started_at > first.started_at
    default = store.workers.register()
    assert default.pid == os.getpid()
    assert {w.id for w in store.workers.live()} == {"w-1", default.id}


def test_an_unknown_worker_says_to_register(store: Store) -> None:
    with pytest.raises(NotFoundError, match="register the worker first"):
        store.workers.heartbeat("ghost")


def test_a_worker_that_stopped_heartbeating_is_marked_lost(store: Store) -> None:
    store.workers.register("killed", hostname="node-a", pid=1)
    store.workers.register("alive", hostname="node-b", pid=2)
    store.workers.register("stopped", hostname="node-c", pid=3)
    store.workers.stop("stopped")
    time.sleep(0.3)
    store.workers.heartbeat("alive")
    assert store.workers.mark_lost(after_seconds=0.2) == ["killed"]
    assert store.workers.mark_lost(after_seconds=0.2) == []  # once
    assert [w.id for w in store.workers.live(within_seconds=60)] == ["alive"]
    back = store.workers.heartbeat("killed")  # a lost worker that was only stalled returns
    assert back.status == "running"
