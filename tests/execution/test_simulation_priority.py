"""Children of the best parents first, end to end: runs driven through the durable queue
queue each child's simulation with its parent's best SQN, and a worker claims the waiting
children in descending parent SQN.

A run's lineage is a chain (one child per generation), so children of different parents
wait side by side when several runs share the queue, as a batch does.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import SIMULATE, TRAIN, QueueExecutor, run_unit, run_worker
from strategy_factory.store import ClaimedJob, Store

CEILING_SECONDS = 600


def _drive(store: Store, run_id: str, failures: list[BaseException]) -> None:
    executor = QueueExecutor(store, run_id=run_id, poll_interval=0.05)
    try:
        Evolution(store, executor).run(run_id)
    except BaseException as exc:  # handed to the test thread
        failures.append(exc)
    finally:
        executor.close()


def _claim(store: Store) -> ClaimedJob | None:
    """Training first, as when a fast training finishes before its parent's simulation."""
    return store.queue.claim("test", kinds=[TRAIN], lease_seconds=CEILING_SECONDS) or (
        store.queue.claim("test", kinds=[SIMULATE], lease_seconds=CEILING_SECONDS)
    )


def _hold_every_child(store: Store, runs: list[str]) -> list[ClaimedJob]:
    """Run every job until each run's child simulation is queued; hold those unrun."""
    simulations: Counter[str | None] = Counter()
    held: list[ClaimedJob] = []
    deadline = time.monotonic() + CEILING_SECONDS
    while len(held) < len(runs):
        assert time.monotonic() < deadline, f"children still missing: {held}"
        job = _claim(store)
        if job is None:
            time.sleep(0.05)
            continue
        if job.kind == SIMULATE:
            simulations[job.run_id] += 1
            if simulations[job.run_id] == 2:  # the seed's came first: this is the child's
                held.append(job)
                continue
        assert store.queue.complete(job.id, job.lease_token, run_unit(job.kind, job.payload))
    return held


def test_a_worker_claims_children_by_their_parents_sqn(catalog: BarCatalog, store: Store) -> None:
    # Ridge uses every feature, so a pruned child predicts differently and is simulated.
    runs = []
    for symbol, strength, seed in (("WEAK", 0.15, 11), ("STRONG", 0.3, 5)):
        bars = synthetic_bars(3000, freq="1h", seed=seed, planted_strength=strength)
        catalog.save(symbol, bars)
        config = EvolveConfig(symbol=symbol, algorithm="Ridge", max_generations=2, early_stop=False)
        runs.append(create_run(store, config).id)
    failures: list[BaseException] = []
    drivers = [threading.Thread(target=_drive, args=(store, r, failures)) for r in runs]
    for driver in drivers:
        driver.start()
    held: list[ClaimedJob] = []
    try:
        held = _hold_every_child(store, runs)
        for job in held:
            assert store.queue.release(job.id, job.lease_token)
        assert [job.parent_sqn for job in held if job.parent_sqn is None] == [], held
        report = run_worker(store, worker_id="worker", max_jobs=len(held), poll_interval=0.05)
    finally:
        for run_id in runs:  # a failed check leaves nothing for the drivers to wait on
            store.queue.cancel_pending(run_id, "the test ended")
        for driver in drivers:
            driver.join(CEILING_SECONDS)
    assert failures == []
    claimed = [store.queue.get(job_id) for job_id in report.completed]
    priorities = [job.parent_sqn for job in claimed]
    assert len(set(priorities)) == len(runs)  # parents of different SQN
    assert priorities == sorted(priorities, reverse=True)
    for job in claimed:
        child = store.lineage.of_run(job.run_id)[1]
        assert child.parent_sqn == job.parent_sqn  # the parent's best SQN, as recorded
        assert store.runs.get(job.run_id).status == "completed"
