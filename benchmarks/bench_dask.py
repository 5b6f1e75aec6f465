"""The 4-generation benchmark run on a local 2-worker Dask cluster vs the local process pool.

The run is ``bench_evolve.py``'s synthetic case (one-minute bars, 46 seed features, the
294-cell ElasticNet grid, a 140-strategy grid, 4 generations). Both executors get 2
worker processes of one thread; both start warm (the Dask workers have imported the
package, as the pool's forked workers have). Printed, in one run:

- the wall time of the evolution loop on each, and their ratio (target: Dask within 15%);
- the task overhead: an empty task's round trip on the cluster, against the mean time of
  a train and a simulate task inside its worker (target: overhead < 5% of task time);
- the bytes shipped per run: the scattered dataset (Dask's serialization), the units'
  payloads and their results;
- scaling: ``--units`` simulate units of one model (``bench_queue.py``'s simulation-bound
  workload) on a local cluster of 1 and then 2 workers, Numba held to one thread per
  worker (target: 2 workers ≥ 1.8× one), beside a pure-Python loop split over 1 and 2
  processes (what this machine gives two processes at all when it is loaded).

Clusters come from :func:`~strategy_factory.execution.dask_cluster.local_cluster`: nanny
workers with glibc's default allocator settings and no profiler (``LOCAL_WORKER_CONFIG``).

    .venv/bin/python benchmarks/bench_dask.py
    .venv/bin/python benchmarks/bench_dask.py --bars 30000 --skip-scaling
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from bench_evolve import REGIME_FILTERS, timed_executor
from bench_queue import side_by_side, simulate_payloads, spin_worker

EMPTY_TASKS = 200
SPIN_LOOPS = 20_000_000


def evolve_config(bars: int) -> Any:
    """Store the synthetic bars and return the benchmark's run configuration."""
    from strategy_factory.data import BarCatalog, synthetic_bars
    from strategy_factory.evolution import EvolveConfig
    from strategy_factory.execution import load_dataset
    from strategy_factory.execution.dataset import DatasetSpec
    from strategy_factory.models import DEFAULT_REGIME_CONFIGS

    home = Path(os.environ["FACTORY_HOME"])
    BarCatalog(home / "bars").save(
        "SYN1M", synthetic_bars(bars, freq="1min", seed=7, planted_strength=0.05), replace=True
    )
    names = load_dataset(DatasetSpec(symbol="SYN1M")).feature_names
    indicators = [n for n in names if n not in ("exo_planted", "minute", "hour")]
    return EvolveConfig(
        symbol="SYN1M",
        seed_features=[*indicators[:45], "exo_planted"],
        regime_configs=[
            *(c for c in DEFAULT_REGIME_CONFIGS if c is None or "regime_vix" not in c),
            {"regime_trend": [2, 3]},
        ],
        max_generations=4,
        early_stop=False,
        strategy={"regime_filters": REGIME_FILTERS},
    )


def timed_run(config: Any, executor: Any, db: Path) -> tuple[float, Any]:
    """Seconds of the evolution loop (the run created beforehand) and the finished run."""
    from strategy_factory.evolution import Evolution, create_run
    from strategy_factory.store import create_store

    with create_store(f"sqlite:///{db}") as store:
        run = create_run(store, config)
        start = time.perf_counter()
        final = Evolution(store, executor).run(run.id)
        return time.perf_counter() - start, final


def counting(executor: Any) -> dict[str, int]:
    """Wrap ``executor.submit`` to count the JSON bytes of payloads and results."""
    shipped = {"payloads": 0, "results": 0, "tasks": 0}
    submit = executor.submit

    def counted(kind: str, payload: dict[str, Any], priority: float | None = None) -> Future:
        shipped["payloads"] += len(json.dumps(payload, default=str))
        shipped["tasks"] += 1
        future = submit(kind, payload, priority)

        def add(done: Future) -> None:
            if done.exception() is None:
                shipped["results"] += len(json.dumps(done.result(), default=str))

        future.add_done_callback(add)
        return future

    executor.submit = counted
    return shipped


def empty_task_seconds(client: Any) -> float:
    """An empty task's round trip (submit → result), the median of sequential tries."""
    rounds = []
    for n in range(EMPTY_TASKS):
        start = time.perf_counter()
        client.submit(int, n, pure=False).result()
        rounds.append(time.perf_counter() - start)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=24)
    parser.add_argument("--scaling-bars", type=int, default=200_000)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.skip_run:
        run_against_pool(args.bars, args.rounds)
    if not args.skip_scaling:
        scaling(args.units, args.scaling_bars, args.rounds)


def run_against_pool(bars: int, rounds: int) -> None:
    """The 4-generation run on the process pool and on a local Dask cluster, alternated
    ``rounds`` times (a loaded machine's load moves between runs): wall seconds and the
    CPU seconds the worker processes spent, which the machine's load hardly changes."""
    from distributed import get_task_stream

    from strategy_factory.execution.dask_cluster import DaskExecutor, local_cluster
    from strategy_factory.execution.units import run_unit

    wall: dict[str, list[float]] = {"pool": [], "dask": []}
    cpu: dict[str, list[float]] = {"pool": [], "dask": []}
    with tempfile.TemporaryDirectory() as folder, local_cluster(2) as cluster:
        os.environ["FACTORY_HOME"] = str(Path(folder) / "home")
        config = evolve_config(bars)
        executor = DaskExecutor(cluster.scheduler_address)
        shipped = counting(executor)
        try:
            dask_pids = list(executor.client.run(os.getpid).values())
            executor.client.run(lambda: run_unit.__module__)  # workers import the package
            for n in range(rounds):
                pool = timed_executor(2)
                try:
                    pool.pool().submit(int).result()  # started, like the cluster's workers
                    pids = list(pool.pool()._processes)
                    before = _cpu_seconds(pids)
                    seconds, local_run = timed_run(config, pool, Path(folder) / f"local{n}.db")
                    cpu["pool"].append(_cpu_seconds(pids) - before)
                    wall["pool"].append(seconds)
                finally:
                    pool.close()
                before = _cpu_seconds(dask_pids)
                with get_task_stream(client=executor.client) as stream:
                    seconds, dask_run = timed_run(config, executor, Path(folder) / f"dask{n}.db")
                cpu["dask"].append(_cpu_seconds(dask_pids) - before)
                wall["dask"].append(seconds)
                print(f"  round {n + 1}: pool {wall['pool'][-1]:.2f} s, dask {seconds:.2f} s")
            scatter_seconds = _scatter_seconds(executor)
            dataset = _scattered_bytes(executor)
            overhead = empty_task_seconds(executor.client)
        finally:
            executor.close()
    inside_pool = dict(type(pool).spent)
    report(bars, wall, cpu, local_run, dask_run)
    print(
        f"  inside the pool's workers: train {inside_pool.get('train', 0):.2f} s, "
        f"simulate {inside_pool.get('simulate', 0):.2f} s in all ({rounds} runs); scattering "
        f"the dataset again takes {scatter_seconds:.2f} s"
    )
    shipped = {k: v // rounds for k, v in shipped.items()}
    _report_tasks(stream.data, shipped, overhead, dataset)


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have spent so far."""
    import psutil

    times = [psutil.Process(pid).cpu_times() for pid in pids]
    return sum(t.user + t.system for t in times)


def scaling(units: int, bars: int, rounds: int) -> None:
    """``units`` simulate units on a local cluster of 1 and one of 2 workers (one thread
    each), alternated ``rounds`` times with the pure-Python loop on 1 and 2 processes."""
    from strategy_factory.execution.dask_cluster import DaskExecutor, local_cluster
    from strategy_factory.execution.units import run_unit

    seconds: dict[int, list[float]] = {1: [], 2: []}
    spin: dict[int, list[float]] = {1: [], 2: []}
    per_task: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FACTORY_HOME"] = str(Path(folder) / "home")
        payloads = simulate_payloads(units + 1, bars)
        os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the workers: one core each
        with local_cluster(1) as one, local_cluster(2) as two:
            executors = {n: DaskExecutor(c.scheduler_address) for n, c in ((1, one), (2, two))}
            try:
                for executor in executors.values():  # kernels loaded on every worker
                    executor.client.run(run_unit, "simulate", payloads[0])
                    executor.submit("simulate", payloads[0]).result()  # dataset scattered
                for _ in range(rounds):
                    for workers, executor in executors.items():
                        start = time.perf_counter()
                        futures = [executor.submit("simulate", p) for p in payloads[1:]]
                        for future in futures:
                            future.result()
                        seconds[workers].append(time.perf_counter() - start)
                    for n in (1, 2):
                        spin[n].append(side_by_side(spin_worker, [SPIN_LOOPS // n] * n))
                per_task = {n: empty_task_seconds(e.client) for n, e in executors.items()}
            finally:
                for executor in executors.values():
                    executor.close()
    _report_scaling(units, bars, seconds, spin, per_task)


def _report_scaling(
    units: int,
    bars: int,
    seconds: dict[int, list[float]],
    spin: dict[int, list[float]],
    per_task: dict[int, float],
) -> None:
    print(f"\nscaling: {units} simulate units ({bars:,} hourly bars, one model's grid each)")
    print(f"{'(medians)':42}{'1 worker':>10}{'2 workers':>11}{'speed-up':>10}  per round")
    for name, timing in (
        ("local Dask cluster (target ≥ 1.8x)", seconds),
        ("pure-Python loop (the machine's ceiling)", spin),
    ):
        one, two = statistics.median(timing[1]), statistics.median(timing[2])
        rounds = ", ".join(f"{a / b:.2f}" for a, b in zip(timing[1], timing[2], strict=True))
        print(f"{name:42}{one:9.2f}s{two:10.2f}s{one / two:9.2f}x  {rounds}")
    mean_unit = statistics.median(seconds[1]) / units
    print(
        f"  mean simulate unit {mean_unit:.3f} s; empty task round trip "
        f"{per_task[1] * 1000:.2f} / {per_task[2] * 1000:.2f} ms "
        f"= {per_task[1] / mean_unit:.2%} of a unit"
    )


def _scatter_seconds(executor: Any) -> float:
    """Seconds to scatter the run's dataset to every worker (as a run's first unit does)."""
    (future,) = executor._datasets.values()
    dataset = future.result()
    start = time.perf_counter()
    executor.client.scatter(dataset, broadcast=True, hash=False).release()
    return time.perf_counter() - start


def _scattered_bytes(executor: Any) -> int:
    """Bytes of the run's dataset as Dask serializes it to ship it (once per worker)."""
    from distributed.protocol import serialize_bytes

    (future,) = executor._datasets.values()
    return len(serialize_bytes(future.result()))


def report(
    bars: int,
    wall: dict[str, list[float]],
    cpu: dict[str, list[float]],
    local_run: Any,
    dask_run: Any,
) -> None:
    same = (local_run.configurations_tried, local_run.best_sqn_100) == (
        dask_run.configurations_tried,
        dask_run.best_sqn_100,
    )
    print(f"4-generation run, {bars:,} one-minute bars, 2 workers of one thread each")
    print(f"{'':24}{'wall (median)':>15}{'worker CPU (median)':>21}")
    for name, label in (("pool", "local process pool"), ("dask", "local Dask cluster")):
        print(
            f"  {label:22}{statistics.median(wall[name]):13.2f} s"
            f"{statistics.median(cpu[name]):19.2f} s"
        )
    ratio = statistics.median(wall["dask"]) / statistics.median(wall["pool"])
    cpu_ratio = statistics.median(cpu["dask"]) / statistics.median(cpu["pool"])
    pairs = sorted(d / p for d, p in zip(wall["dask"], wall["pool"], strict=True))
    print(
        f"  ratio dask/pool: wall {ratio:.3f} (target ≤ 1.15; per round "
        f"{', '.join(f'{r:.2f}' for r in pairs)}), worker CPU {cpu_ratio:.3f}"
    )
    print(f"  same results: {same} (configurations tried, best SQN-100)")


def _report_tasks(
    tasks: list[dict[str, Any]], shipped: dict[str, int], overhead: float, dataset: int
) -> None:
    seconds: dict[str, list[float]] = {"train": [], "simulate": []}
    for task in tasks:
        kind = str(task["key"]).split("-", 1)[0]
        if kind in seconds:
            compute = [s for s in task["startstops"] if s["action"] == "compute"]
            seconds[kind].append(sum(s["stop"] - s["start"] for s in compute))
    for kind, times in seconds.items():
        print(
            f"  {kind} tasks {len(times)}: {sum(times):.2f} s inside Dask workers in all, mean "
            f"{statistics.fmean(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})"
        )
    mean = min(statistics.fmean(times) for times in seconds.values())
    print(
        f"  empty task round trip {overhead * 1000:.2f} ms (median of {EMPTY_TASKS}) = "
        f"{overhead / mean:.2%} of the shorter kind's mean task (target < 5%)"
    )
    print(
        f"  bytes shipped per run: dataset {dataset / 1e6:.1f} MB (scattered once, to each "
        f"worker), payloads {shipped['payloads'] / 1e6:.2f} MB and results "
        f"{shipped['results'] / 1e6:.2f} MB over {shipped['tasks']} tasks"
    )


if __name__ == "__main__":
    main()
