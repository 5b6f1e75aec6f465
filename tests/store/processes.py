"""Several real processes against one store, for the concurrency tests.

Children come from a fork server that has already imported the store, so each one costs
a fork rather than a fresh interpreter, and none inherits the test process's connections.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Sequence
from typing import Any

from strategy_factory.store import create_store

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["strategy_factory.store", __name__])


def run_together(target: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, barrier, results)`` in one process per ``arguments`` entry.

    The processes start their work at the same moment (a barrier); returns what each put
    on ``results``, after checking every process exited cleanly.
    """
    barrier = _CONTEXT.Barrier(len(arguments))
    results = _CONTEXT.Queue()
    processes = [
        _CONTEXT.Process(target=target, args=(*args, barrier, results)) for args in arguments
    ]
    for process in processes:
        process.start()
    collected = []
    while len(collected) < len(processes):
        try:
            collected.append(results.get(timeout=1))
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                break  # a child crashed: report its exit code below instead of waiting
    for process in processes:
        process.join(30)
    assert [process.exitcode for process in processes] == [0] * len(processes)
    return collected


def open_store(url: str, barrier: Any, results: Any) -> None:
    """Open (and so migrate) the store."""
    barrier.wait()
    create_store(url).close()
    results.put(True)


def drain_queue(url: str, worker_id: str, barrier: Any, results: Any) -> None:
    """Claim and complete jobs until none is left; report (job id, completed?) pairs."""
    done: list[tuple[int, bool]] = []
    with create_store(url) as store:
        barrier.wait()
        while (job := store.queue.claim(worker_id, lease_seconds=60)) is not None:
            done.append((job.id, store.queue.complete(job.id, job.lease_token, {"by": worker_id})))
    results.put((worker_id, done))
