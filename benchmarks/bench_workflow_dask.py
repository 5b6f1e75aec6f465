"""Parameter discovery on a local 2-worker Dask cluster against the same phase in process.

``bench_workflow.py``'s discovery (two rule families, ``--lookbacks`` lookbacks × 14
thresholds × 5 z-limits, 3 cells per trial) on ``--bars`` selection bars, run in process
and on a cluster of ``--workers`` one-thread workers started by ``factory cluster
local``'s function, alternated over ``--repeats`` rounds; the files of both must be the
same (compared by hash) before any figure is printed. It prints the wall time of each,
the bytes shipped (the phase's data, scattered once per phase; the chunks' payloads and
results), and each chunk task's overhead: its round trip as the client saw it less the
compute time Dask's task stream recorded on the worker.

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
from strategy_factory.workflow.chunks import chunk_payload, discovery_data, trade_chunk
from strategy_factory.workflow.config import WorkflowConfig
from strategy_factory.workflow.phases import discovery


def run_phase(config: WorkflowConfig, data: object, folder: Path, executor: object) -> float:
    """Wall seconds of one discovery phase from scratch (``executor`` None: in process)."""
    return time_discovery(config, data, folder, executor)[0]


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
    options = parser.parse_args()
    config = workflow(options.lookbacks)
    bars = synthetic_bars(int(options.bars / 0.4), freq="1min", seed=3, planted_strength=0.05)
    data = prepare_bars(bars, {}, config.data, config.classifiers)
    families = config.phases[0].families
    trials = sum(f.grid_size() for f in families)
    print(f"{trials:,} trials × {options.bars:,} selection bars, {options.workers} workers")
    shipped = len(pickle.dumps(discovery_data(data, families, config.costs.execution(), "x")))
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
            here, there = [], []
            for _ in range(options.repeats):
                here.append(run_phase(config, data, folder / "here", None))
                with get_task_stream(client=executor.client) as stream:
                    there.append(run_phase(config, data, folder / "dask", executor))
            assert hashes(folder / "here") == hashes(folder / "dask"), "different files"
            compute = _compute_seconds(stream.data)
            trip, alone = _round_trips(executor, config, data)
        finally:
            executor.close()
    listed = _chunk_list(config)
    payloads = sum(len(pickle.dumps(chunk_payload(f, c))) for f, c in listed)
    family, chunk = listed[0]
    shared = discovery_data(data, families, config.costs.execution(), "selection")
    result = len(pickle.dumps(trade_chunk(shared, chunk_payload(family, chunk))))
    print(f"in process: median {statistics.median(here):.2f} s  (rounds {_list(here)})")
    print(f"on Dask:    median {statistics.median(there):.2f} s  (rounds {_list(there)})")
    print(f"Dask / in process: {statistics.median(there) / statistics.median(here):.2f}")
    print(
        f"chunks: {len(compute)} tasks per phase, compute median "
        f"{statistics.median(compute) * 1e3:.0f} ms; one chunk alone: round trip "
        f"{trip * 1e3:.1f} ms, compute {alone * 1e3:.1f} ms, overhead "
        f"{(trip - alone) * 1e3:.1f} ms ({(trip - alone) / alone:.1%} of its compute)"
    )
    print(
        f"shipped: the phase's data {shipped / 2**20:.2f} MiB once per phase; payloads "
        f"{payloads / 2**10:.0f} KiB in all; a chunk's result {result / 2**10:.0f} KiB"
    )


def _compute_seconds(stream: list[dict]) -> list[float]:
    """Each chunk task's compute time on its worker, from Dask's task stream."""
    return [
        sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
        for task in stream
        if task["key"].startswith("trade_chunk")
    ]


def _chunk_list(config: WorkflowConfig) -> list[tuple]:
    """Every (family, chunk of trials) of the phase, as discovery forms them."""
    from strategy_factory.workflow.backtester import Trial
    from strategy_factory.workflow.optimizer import expand

    phase = config.phases[0]
    found = []
    for family in phase.families:
        trials = [Trial(i, p) for i, p in enumerate(expand(family, phase.search))]
        found.extend((family, chunk) for chunk in discovery._chunks(trials, family))
    return found


def _round_trips(
    executor: DaskExecutor, config: WorkflowConfig, data: object
) -> tuple[float, float]:
    """Median round trip and compute seconds of one chunk task submitted alone and waited
    for, 20 times."""
    from distributed import get_task_stream

    phase = config.phases[0]
    shared = discovery_data(data, phase.families, config.costs.execution(), "selection")
    tasks = executor.share(trade_chunk, shared)
    family, chunk = _chunk_list(config)[0]
    seconds = []
    try:
        with get_task_stream(client=executor.client) as stream:
            for _ in range(20):
                started = time.perf_counter()
                tasks.submit(chunk_payload(family, chunk)).result()
                seconds.append(time.perf_counter() - started)
    finally:
        tasks.close()
    return statistics.median(seconds), statistics.median(_compute_seconds(stream.data))


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
