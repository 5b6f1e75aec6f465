"""The durable job queue: throughput of no-op jobs against pgqueuer, and worker scaling.

Throughput: 8 worker processes drain the same number of no-op jobs from a fresh local
PostgreSQL database — our ``priority_jobs`` queue with ``run_worker`` (one job per round
trip, and ``--batch`` claims), and the peer, pgqueuer (a ``QueueManager`` per process, its
own batched dequeue and buffered completions), each after a warm-up round. The clock runs
from the moment every worker is connected and waiting to the moment the queue holds no
unfinished job. Overhead per job is the wall time per job (the jobs do nothing): amortized
over all workers, and as each worker sees it (× workers).

Scaling: ``simulate`` units of one trained model on synthetic hourly bars (each job a
different fee, so a different unit), drained by 1 and then 2 workers on this machine.
Workers hold Numba and BLAS to one thread each, as one worker per core should; each builds
its dataset and runs one unit before the clock starts. Beside it, the same units split by
hand over 1 and 2 processes without any queue, and a pure-Python loop split the same way:
together they show what two processes can get out of this machine at all.

    .venv/bin/python benchmarks/bench_queue.py
    .venv/bin/python benchmarks/bench_queue.py --jobs 5000 --units 8
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from strategy_factory.store import Job, Store, create_store

POSTGRES_URL = os.environ.get(
    "FACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["strategy_factory.execution", "strategy_factory.store"])


def fresh_database() -> str:
    """A new, empty PostgreSQL database (default durability settings); its URL."""
    name = f"sf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'drop database if exists "{make_url(url).database}" with (force)'))
    admin.dispose()


def noop(payload: dict[str, Any]) -> dict[str, Any]:
    return {}


def our_worker(url: str, name: str, options: dict[str, Any], barrier: Any) -> None:
    from strategy_factory.execution import run_worker

    with create_store(url) as store:
        barrier.wait()
        run_worker(store, worker_id=name, **options)


def timed_drain(
    start: Callable[[Any], list[Any]], workers: int, remaining: Callable[[], int]
) -> float:
    """Start the workers, wait until all are ready, time until nothing is left; stop them."""
    barrier = CONTEXT.Barrier(workers + 1)
    processes = start(barrier)
    barrier.wait(timeout=300)  # a worker that died before it was ready breaks the barrier
    began = time.perf_counter()
    while remaining() > 0:
        if any(process.exitcode is not None for process in processes):
            raise RuntimeError("a worker process died during the benchmark")
        time.sleep(0.02)
    elapsed = time.perf_counter() - began
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(60)
    return elapsed


def ours(url: str, jobs: int, workers: int, batch: int) -> float:
    """Seconds for ``workers`` processes to drain ``jobs`` no-op jobs from our queue."""
    with create_store(url) as store:
        drain_id = uuid.uuid4().hex  # fresh units each round (equal payloads are one job)
        added = store.queue.enqueue(
            Job("noop", {"n": n, "drain": drain_id}, parent_sqn=float(n % 10)) for n in range(jobs)
        )
        assert added == jobs
        options = {"units": {"noop": noop}, "batch": batch, "poll_interval": 0.01}

        def start(barrier: Any) -> list[Any]:
            processes = [
                CONTEXT.Process(target=our_worker, args=(url, f"w{w}", options, barrier))
                for w in range(workers)
            ]
            for process in processes:
                process.start()
            return processes

        elapsed = timed_drain(start, workers, lambda: _unfinished(store))
        assert store.queue.counts_by_status()["done"] >= jobs
    return elapsed


def _unfinished(store: Store) -> int:
    # One indexed count, as cheap as the peer's count of its (shrinking) queue table.
    query = text("select count(*) from priority_jobs where status in ('pending', 'running')")
    with store.database.read() as connection:
        return connection.execute(query).scalar_one()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pgqueuer_worker(dsn: str, batch: int, barrier: Any) -> None:
    from pgqueuer import PsycopgDriver, Queries, QueueManager

    async def main() -> None:
        connection = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        manager = QueueManager(Queries(PsycopgDriver(connection)))

        @manager.entrypoint("noop")
        async def run(job: Any) -> None:
            return None

        barrier.wait()
        await manager.run(batch_size=batch, dequeue_timeout=timedelta(seconds=0.01))

    asyncio.run(main())


def pgqueuer(url: str, jobs: int, workers: int, batch: int) -> float:
    """Seconds for ``workers`` pgqueuer processes to drain ``jobs`` no-op jobs."""
    from pgqueuer import PsycopgDriver, Queries

    dsn = _dsn(url)

    async def enqueue() -> None:
        connection = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        queries = Queries(PsycopgDriver(connection))
        if not await queries.has_table("pgqueuer"):
            await queries.install()
        await queries.enqueue(["noop"] * jobs, [None] * jobs, [n % 10 for n in range(jobs)])
        await connection.close()

    asyncio.run(enqueue())
    counter = psycopg.connect(dsn, autocommit=True)

    def start(barrier: Any) -> list[Any]:
        processes = [
            CONTEXT.Process(target=pgqueuer_worker, args=(dsn, batch, barrier))
            for _ in range(workers)
        ]
        for process in processes:
            process.start()
        return processes

    def remaining() -> int:
        row = counter.execute("select count(*) from pgqueuer where status <> 'failed'").fetchone()
        return int(row[0]) if row else 0

    try:
        return timed_drain(start, workers, remaining)
    finally:
        counter.close()


def throughput(jobs: int, workers: int, batch: int) -> None:
    url = fresh_database()
    try:
        contenders: dict[str, Callable[[int], float]] = {
            "ours, one job per round trip": lambda n: ours(url, n, workers, 1),
            f"ours, --batch {batch}": lambda n: ours(url, n, workers, batch),
            f"pgqueuer, batch_size {batch}": lambda n: pgqueuer(url, n, workers, batch),
        }
        results = {}
        for name, drain in contenders.items():
            drain(max(200, jobs // 20))  # warm-up: connections, plans, imports
            results[name] = drain(jobs)
    finally:
        drop_database(url)
    print(f"\nqueue throughput: {jobs} no-op jobs, {workers} worker processes, PostgreSQL")
    print(f"{'':34}{'seconds':>9}{'jobs/s':>10}{'ms/job':>9}{'ms/job/worker':>15}")
    for name, seconds in results.items():
        per_job = seconds / jobs * 1000
        print(
            f"{name:34}{seconds:9.2f}{jobs / seconds:10.0f}{per_job:9.3f}{per_job * workers:15.2f}"
        )
    peer = results[f"pgqueuer, batch_size {batch}"]
    for name, seconds in list(results.items())[:2]:
        print(f"pgqueuer time / {name}: {peer / seconds:.2f}x")


def simulate_payloads(units: int, bars: int) -> list[dict[str, Any]]:
    """``units`` simulate payloads of one model trained on synthetic bars (fees differ)."""
    from strategy_factory.data import BarCatalog, synthetic_bars
    from strategy_factory.evolution import EvolveConfig, create_run, run_context
    from strategy_factory.execution import train_unit

    BarCatalog(Path(os.environ["FACTORY_HOME"]) / "bars").save(
        "BENCH", synthetic_bars(bars, freq="1h", seed=3, planted_strength=0.2), replace=True
    )
    with create_store(f"sqlite:///{os.environ['FACTORY_HOME']}/setup.db") as store:
        context = run_context(create_run(store, EvolveConfig(symbol="BENCH")))
    dataset = context.spec.model_dump(mode="json")
    features = context.seed_features
    trained = train_unit(
        {"dataset": dataset, "training": context.training_config(features).model_dump(mode="json")}
    )
    strategy = context.config.strategy.model_dump(mode="json")
    return [
        {
            "dataset": dataset,
            "artifact": trained["artifact"],
            "strategy": {**strategy, "fee_bps": 1.0 + unit / 100},
            "default_regime_filters": context.default_regime_filters(),
            "blocks": 16,
        }
        for unit in range(units)
    ]


def simulation_worker(url: str, name: str, warm_up: dict[str, Any], barrier: Any) -> None:
    from strategy_factory.execution import run_worker, simulate_unit

    simulate_unit(warm_up)  # dataset built and kernels loaded before the clock starts
    with create_store(url) as store:
        barrier.wait()
        run_worker(store, worker_id=name, poll_interval=0.05)


def drain_simulations(payloads: list[dict[str, Any]], workers: int) -> float:
    """Seconds for ``workers`` processes to drain the simulate units of ``payloads[1:]``."""
    url = fresh_database()
    try:
        with create_store(url) as store:
            store.queue.enqueue(
                Job("simulate", payload, dedup_key=f"bench-{n}")
                for n, payload in enumerate(payloads[1:])
            )

            def start(barrier: Any) -> list[Any]:
                processes = [
                    CONTEXT.Process(
                        target=simulation_worker, args=(url, f"w{w}", payloads[0], barrier)
                    )
                    for w in range(workers)
                ]
                for process in processes:
                    process.start()
                return processes

            elapsed = timed_drain(start, workers, lambda: _unfinished(store))
            assert store.queue.counts_by_status()["done"] == len(payloads) - 1
        return elapsed
    finally:
        drop_database(url)


def direct_worker(payloads: list[dict[str, Any]], barrier: Any, seconds: Any) -> None:
    from strategy_factory.execution import simulate_unit

    simulate_unit(payloads[0])
    barrier.wait()
    began = time.perf_counter()
    for payload in payloads[1:]:
        simulate_unit(payload)
    seconds.put(time.perf_counter() - began)


def spin_worker(loops: int, barrier: Any, seconds: Any) -> None:
    barrier.wait()
    began, total = time.perf_counter(), 0
    for step in range(loops):
        total += step * step
    seconds.put(time.perf_counter() - began)


def side_by_side(target: Callable[..., None], shares: list[Any]) -> float:
    """Wall seconds for one process per share to run ``target(share, barrier, seconds)``."""
    barrier, seconds = CONTEXT.Barrier(len(shares) + 1), CONTEXT.Queue()
    processes = [CONTEXT.Process(target=target, args=(s, barrier, seconds)) for s in shares]
    for process in processes:
        process.start()
    barrier.wait()
    began = time.perf_counter()
    for _ in processes:
        seconds.get()
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    return elapsed


def scaling(units: int, bars: int) -> None:
    """1 vs 2 workers through the queue, beside the same units split by hand (no queue) and
    a pure-Python loop: what two processes can get out of this machine at all."""
    payloads = simulate_payloads(units + 1, bars)
    queued = {workers: drain_simulations(payloads, workers) for workers in (1, 2)}
    split = {
        n: side_by_side(direct_worker, [payloads[:1] + payloads[1 + i :: n] for i in range(n)])
        for n in (1, 2)
    }
    loops = 20_000_000
    spin = {n: side_by_side(spin_worker, [loops // n] * n) for n in (1, 2)}
    print(f"\nscaling: {units} simulate units ({bars} hourly bars, one model's whole grid each)")
    print(f"{'':44}{'1 process':>10}{'2 processes':>13}{'speed-up':>10}")
    for name, timing in (
        ("through the queue (factory worker loop)", queued),
        ("split by hand, no queue (the peer)", split),
        ("pure-Python loop (the machine's ceiling)", spin),
    ):
        print(f"{name:44}{timing[1]:9.2f}s{timing[2]:12.2f}s{timing[1] / timing[2]:9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--units", type=int, default=24)
    parser.add_argument("--bars", type=int, default=200_000)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    options = parser.parse_args()
    # One thread per worker process (one worker per core); the fork server and so every
    # worker starts after this, and reads it before importing Numba or a BLAS.
    for threads in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(threads, "1")
    os.environ["FACTORY_HOME"] = tempfile.mkdtemp(prefix="bench-queue-")
    if not options.skip_throughput:
        throughput(options.jobs, options.workers, options.batch)
    if not options.skip_scaling:
        scaling(options.units, options.bars)


if __name__ == "__main__":
    main()
