"""Why a unit ran slower in a nanny-started Dask worker: the allocator, measured.

One scheduler and three one-thread workers side by side: started by a nanny as Dask
starts them (``MALLOC_TRIM_THRESHOLD_=65536`` among its pre-spawn environment), started
by a nanny without that one variable (the thread variables left as they are), and
started with ``--no-nanny``. The same training unit (the ``bench_dask.py`` run's seed
model, on the scattered dataset) runs on each in turn, one at a time; printed per worker:
the unit's thread CPU seconds (what a loaded machine hardly changes) and the minor page
faults of the worker process during the unit, and each worker's allocator variable.

    .venv/bin/python benchmarks/bench_dask_nanny.py --bars 30000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_dask import evolve_config

DASK = str(Path(sys.executable).parent / "dask")
WORKERS = {
    "nanny, Dask's environment": ["--nanny"],
    "nanny, no MALLOC_TRIM_THRESHOLD_": ["--nanny"],
    "no nanny": ["--no-nanny"],
}
NO_TRIM = "distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n"


def measured_unit(kind: str, payload: dict[str, Any], dataset: Any) -> tuple[float, float]:
    """Run a unit here; its thread CPU seconds and this process's minor page faults."""
    from strategy_factory.execution.units import run_unit

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.thread_time()
    run_unit(kind, payload, dataset)
    spent = time.thread_time() - start
    return spent, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def allocator_setting() -> str | None:
    """The worker's MALLOC_TRIM_THRESHOLD_ (None: glibc's adaptive default)."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def train_payload(folder: Path, bars: int) -> dict[str, Any]:
    """The seed model's training unit of the benchmark run."""
    from strategy_factory.evolution import create_run
    from strategy_factory.evolution.prepare import run_context
    from strategy_factory.store import create_store

    config = evolve_config(bars)
    with create_store(f"sqlite:///{folder / 'setup.db'}") as store:
        context = run_context(create_run(store, config))
    training = context.training_config(list(context.seed_features))
    return {
        "dataset": context.spec.model_dump(mode="json"),
        "training": training.model_dump(mode="json"),
    }


def start_processes(folder: Path) -> tuple[list[subprocess.Popen], str]:
    """The scheduler and the three workers; the scheduler's address."""
    file = folder / "scheduler.json"
    scheduler = subprocess.Popen(
        [
            DASK,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
        ],
        stderr=subprocess.DEVNULL,
    )
    while not (file.is_file() and file.read_text()):
        time.sleep(0.2)
    time.sleep(0.5)  # written in full
    address = json.loads(file.read_text())["address"]
    (folder / "no-trim").mkdir()
    (folder / "no-trim" / "dask.yaml").write_text(NO_TRIM)
    processes = [scheduler]
    for name, options in WORKERS.items():
        env = dict(os.environ)
        if "no MALLOC" in name:
            env["DASK_CONFIG"] = str(folder / "no-trim")
        processes.append(
            subprocess.Popen(
                [
                    DASK,
                    "worker",
                    address,
                    "--name",
                    name,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    *options,
                ],
                env=env,
                stderr=subprocess.DEVNULL,
            )
        )
    return processes, address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from distributed import Client

    from strategy_factory.execution import load_dataset
    from strategy_factory.execution.dataset import DatasetSpec

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        os.environ["FACTORY_HOME"] = str(folder / "home")
        payload = train_payload(folder, args.bars)
        processes, address = start_processes(folder)
        try:
            with Client(address, set_as_default=False) as client:
                client.wait_for_workers(len(WORKERS), timeout=600)
                workers = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
                dataset = load_dataset(DatasetSpec.model_validate(payload["dataset"]))
                shipped = client.scatter(dataset, broadcast=True)
                found: dict[str, list[tuple[float, float]]] = {name: [] for name in WORKERS}
                for _ in range(args.rounds):
                    for name in WORKERS:  # one at a time: they do not compete
                        task = client.submit(
                            measured_unit,
                            "train",
                            payload,
                            shipped,
                            workers=[workers[name]],
                            pure=False,
                        )
                        found[name].append(task.result())
                settings = {
                    n: client.run(allocator_setting, workers=[a]) for n, a in workers.items()
                }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
    print(f"one training unit, {args.bars:,} one-minute bars, {args.rounds} rounds (medians)")
    print(f"{'worker':36}{'MALLOC_TRIM_THRESHOLD_':>24}{'thread CPU':>12}{'page faults':>13}")
    for name, rows in found.items():
        cpu = statistics.median(r[0] for r in rows)
        faults = statistics.median(r[1] for r in rows)
        setting = next(iter(settings[name].values()))
        print(f"{name:36}{setting or 'unset':>24}{cpu:10.2f} s{faults:13,.0f}")


if __name__ == "__main__":
    main()
