"""Parameter discovery on a local 2-worker Dask cluster against the same phase in process.

``bench_workflow.py``'s discovery (two rule families, ``--lookbacks`` lookbacks × 14
thresholds × 5 z-limits, 3 cells per trial) on ``--bars`` selection bars, run in process
and on a cluster of ``--workers`` one-thread workers started by ``factory cluster
local``'s function, alternated over ``--repeats`` rounds; the files of both must be the
same (compared by hash) before any figure is printed. It prints the wall time of each
(medians and every round) and their ratio, also round by round (a run in process beside
a run on Dask, which a neighbour's load weighs on alike), and the ratio of their CPU
seconds (on Dask: this process's, the workers' and the scheduler's); the tasks the phase
made of its chunks (``workflow.task_size``'s rule) and their compute in the phase; the
bytes shipped (the phase's data, scattered once per phase; the tasks' payloads and
results); and the overhead of a task of the chosen size: the first task's round trip as
the client saw it less the compute Dask's task stream recorded on the worker, the task
submitted alone and waited for ``--trips`` times (medians).

    .venv/bin/python benchmarks/bench_workflow_dask.py
    .venv/bin/python benchmarks/bench_workflow_dask.py --bars 20000 --lookbacks 2
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import statistics
import tempfile
import time
from pathlib import Path

from bench_workflow import time_discovery, workflow
from strategy_factory.data import synthetic_bars
from strategy_factory.execution.dask_cluster import DaskExecutor, local_cluster
from strategy_factory.workflow.bars import prepare_bars
from strategy_factory.workflow.chunks import chunks_payload, discovery_data, trade_chunks
from strategy_factory.workflow.config import WorkflowConfig
from strategy_factory.workflow.phases import discovery
from strategy_factory.workflow.task_size import chunk_seconds, task_bundles


def run_phase(config: WorkflowConfig, data: object, folder: Path, executor: object) -> float:
    """Wall seconds of one discovery phase from scratch (``executor`` None: in process)."""
    return time_discovery(config, data, folder, executor)[0]


def cpu_seconds(executor: DaskExecutor | None) -> float:
    """CPU seconds so far of this process, and of the cluster's workers and scheduler."""
    spent = time.process_time()
    if executor is not None:
        spent += sum(executor.client.run(time.process_time).values())
        spent += executor.client.run_on_scheduler(time.process_time)
    return spent


def timed(config: WorkflowConfig, data: object, folder: Path, executor: object) -> tuple:
    """Wall and CPU seconds (every process of the phase) of one discovery phase."""
    cpu = cpu_seconds(executor)
    wall = run_phase(config, data, folder, executor)
    return wall, cpu_seconds(executor) - cpu


def hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every output file of a phase (not its checkpoints)."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "checkpoints" not in p.parts
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000, help="bars in the selection period")
    parser.add_argument("--lookbacks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trips", type=int, default=20)
    options = parser.parse_args()
    config = workflow(options.lookbacks)
    bars = synthetic_bars(int(options.bars / 0.4), freq="1min", seed=3, planted_strength=0.05)
    data = prepare_bars(bars, {}, config.data, config.classifiers)
    families = config.phases[0].families
    trials = sum(f.grid_size() for f in families)
    print(f"{trials:,} trials × {options.bars:,} selection bars, {options.workers} workers")
    shared = discovery_data(data, families, config.costs.execution(), "selection")
    with (
        tempfile.TemporaryDirectory() as scratch,
        local_cluster(options.workers) as cluster,
    ):
        folder = Path(scratch)
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            from distributed import get_task_stream

            run_phase(workflow(1), data, folder / "warm", None)  # Numba and imports warm
            run_phase(workflow(1), data, folder / "warm", executor)
            here, there, streams = [], [], []
            for _ in range(options.repeats):
                here.append(timed(config, data, folder / "here", None))
                with get_task_stream(client=executor.client) as stream:
                    there.append(timed(config, data, folder / "dask", executor))
                streams.append(_compute_seconds(stream.data))
            assert hashes(folder / "here") == hashes(folder / "dask"), "different files"
            payloads = _planned_payloads(config, options.bars, executor.threads())
            trips, alone = _round_trips(executor, shared, payloads[0], options.trips)
        finally:
            executor.close()
    _report_phase(here, there)
    assert all(len(compute) == len(payloads) for compute in streams), "tasks not as planned"
    sizes = [len(payload["chunks"]) for payload in payloads]
    in_phase = [statistics.median(compute) for compute in streams]
    print(
        f"tasks: {len(payloads)} a phase of {sum(sizes)} chunks ({_sizes(sizes)} chunks each); "
        f"their compute in the phase, median per round: {_list(in_phase, 3)} s"
    )
    trip, compute = statistics.median(trips), statistics.median(alone)
    print(
        f"a task of {sizes[0]} chunks alone ({options.trips} trips): round trip "
        f"{trip * 1e3:.1f} ms, compute {compute * 1e3:.1f} ms, overhead "
        f"{(trip - compute) * 1e3:.1f} ms = {(trip - compute) / compute:.1%} of its compute "
        f"(target < 5%)"
    )
    results = [len(pickle.dumps(trade_chunks(shared, payload))) for payload in payloads]
    print(
        f"shipped: the phase's data {len(pickle.dumps(shared)) / 2**20:.2f} MiB once per "
        f"phase; payloads {sum(len(pickle.dumps(p)) for p in payloads) / 2**10:.0f} KiB; "
        f"results {sum(results) / 2**20:.2f} MiB ({statistics.median(results) / 2**10:.0f} "
        "KiB a task)"
    )


def _report_phase(here: list[tuple], there: list[tuple]) -> None:
    """Wall seconds of each round, and the ratios of wall and CPU seconds."""
    walls = [wall for wall, _ in here], [wall for wall, _ in there]
    ratios = [b / a for a, b in zip(*walls, strict=True)]
    cpus = [b / a for (_, a), (_, b) in zip(here, there, strict=True)]
    medians = [statistics.median(w) for w in walls]
    print(f"in process: median {medians[0]:.2f} s  (rounds {_list(walls[0])})")
    print(f"on Dask:    median {medians[1]:.2f} s  (rounds {_list(walls[1])})")
    print(
        f"Dask / in process: median {statistics.median(ratios):.2f} of the rounds' "
        f"({_list(ratios)}); {medians[1] / medians[0]:.2f} of the medians; CPU seconds of "
        f"every process: median {statistics.median(cpus):.2f} ({_list(cpus)})"
    )


def _compute_seconds(stream: list[dict]) -> list[float]:
    """Each discovery task's compute time on its worker, from Dask's task stream."""
    return [
        sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
        for task in stream
        if task["key"].startswith("trade_chunks")
    ]


def chunk_list(config: WorkflowConfig) -> list[tuple]:
    """Every (family, chunk of trials) of the phase, in the phase's order."""
    from strategy_factory.workflow.backtester import Trial
    from strategy_factory.workflow.optimizer import expand

    phase = config.phases[0]
    found = []
    for family in phase.families:
        trials = [Trial(i, p) for i, p in enumerate(expand(family, phase.search))]
        found.extend((family, chunk) for chunk in discovery._chunks(trials, family))
    return found


def _planned_payloads(config: WorkflowConfig, bars: int, workers: int) -> list[dict]:
    """The payloads of the tasks the phase makes of its chunks (3 cells a trial)."""
    chunks = chunk_list(config)
    seconds = [chunk_seconds(len(trials), 3, bars) for _, trials in chunks]
    return [
        chunks_payload([chunks[i] for i in bundle]) for bundle in task_bundles(seconds, workers)
    ]


def _round_trips(
    executor: DaskExecutor, shared: object, payload: dict, trips: int
) -> tuple[list[float], list[float]]:
    """Round trips and compute seconds of one task submitted alone and waited for."""
    from distributed import get_task_stream

    tasks = executor.share(trade_chunks, shared)
    seconds = []
    try:
        tasks.submit(payload).result()  # warm: the shared value on every worker
        with get_task_stream(client=executor.client) as stream:
            for _ in range(trips):
                started = time.perf_counter()
                tasks.submit(payload).result()
                seconds.append(time.perf_counter() - started)
    finally:
        tasks.close()
    return seconds, _compute_seconds(stream.data)


def _sizes(sizes: list[int]) -> str:
    return "–".join(str(n) for n in sorted({min(sizes), max(sizes)}))


def _list(values: list[float], digits: int = 2) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values)


if __name__ == "__main__":
    main()
