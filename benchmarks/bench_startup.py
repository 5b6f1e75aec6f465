"""Start-up of the ``factory`` command: how long a user waits before anything happens.

Every case runs as a fresh process, the way a user runs it, once to warm the file cache
and then ``--repeats`` times; the figures are the median wall time and the median CPU time
of the process (user + system, its children included), which other work on a shared
machine inflates much less than the wall time. Cases:

* ``factory --help``;
* ``factory runs list`` against an existing SQLite store (``factory.db`` in the working
  directory, 20 recorded runs), the command that needs the store and nothing else;
* for comparison, importing every library module the commands use — what each command
  paid when ``strategy_factory.cli`` imported them all up front;
* the main job, ``factory evolve --symbol SP500 --reference NASDAQ`` (what ``make run``
  runs) on the bundled data (cached, as after a first use), whole command, each time in a
  new store (nothing to reuse by fingerprint): as the command chooses (in-process for this
  work) and with ``--workers 2`` (the pool), interleaved. For each, how long the interpreter
  took to exit after its last atexit handler (the final garbage collections it used to run).

    .venv/bin/python benchmarks/bench_startup.py
    .venv/bin/python benchmarks/bench_startup.py --repeats 15 --evolve-repeats 7
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from strategy_factory.store import create_store

FACTORY = [sys.executable, "-c", "from strategy_factory.cli import main; main()"]
# The modules strategy_factory.cli imported, directly or not, before its imports were lazy.
EVERYTHING = [
    "strategy_factory.backtest",
    "strategy_factory.backtest.assemble",
    "strategy_factory.cli",
    "strategy_factory.data",
    "strategy_factory.evaluate",
    "strategy_factory.evolution",
    "strategy_factory.evolution.ownership",
    "strategy_factory.evolution.report",
    "strategy_factory.execution",
    "strategy_factory.features",
    "strategy_factory.features.report",
    "strategy_factory.models",
    "strategy_factory.service",
    "strategy_factory.store",
    "uvicorn",
]
MAIN_JOB = ["evolve", "--symbol", "SP500", "--reference", "NASDAQ"]
# The command, saying on stderr when its last atexit handler ran (registered first, it runs
# last): what follows is the interpreter's own exit.
STAMPED = [
    sys.executable,
    "-c",
    "import atexit, sys, time\n"
    "atexit.register(lambda: print(f'exit-stamp {time.time()!r}', file=sys.stderr))\n"
    "from strategy_factory.cli import main\n"
    "main()",
]


def cpu_seconds() -> float:
    """CPU time (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(command: list[str], folder: Path, repeats: int) -> tuple[float, float]:
    """Median wall and CPU time of ``command`` run in ``folder``, after one unmeasured run."""
    wall, cpu = [], []
    for attempt in range(repeats + 1):
        started, used = time.perf_counter(), cpu_seconds()
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
        if attempt:
            wall.append(time.perf_counter() - started)
            cpu.append(cpu_seconds() - used)
    return statistics.median(wall), statistics.median(cpu)


def main_job(folder: Path, repeats: int, variants: dict[str, list[str]]) -> dict[str, list]:
    """Wall, CPU and exit seconds of each variant of the main job, ``repeats`` runs each,
    interleaved (so a change in the machine's load hits every variant), each in a new store."""
    measured: dict[str, list] = {label: [] for label in variants}
    for attempt in range(repeats):
        for label, extra in variants.items():
            where = folder / f"main-{label.replace(' ', '_')}-{attempt}"
            where.mkdir()
            started, used = time.perf_counter(), cpu_seconds()
            done = subprocess.run(
                [*STAMPED, *MAIN_JOB, *extra], cwd=where, check=True, capture_output=True, text=True
            )
            ended, wall = time.time(), time.perf_counter() - started
            stamp = float(done.stderr.rsplit("exit-stamp ", 1)[1].split()[0])
            measured[label].append((wall, cpu_seconds() - used, ended - stamp))
    return measured


def record_runs(folder: Path, count: int) -> None:
    """A store in ``folder`` holding ``count`` runs, some finished."""
    store = create_store(f"sqlite:///{folder / 'factory.db'}")
    for i in range(count):
        run = store.runs.create("SP500", "ElasticNet", {"symbol": "SP500"}, max_generations=4)
        if i % 2:
            store.runs.finish(run.id, "completed", stop_reason="max_generations")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--evolve-repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        os.environ["FACTORY_HOME"] = str(folder / "home")
        os.environ.pop("FACTORY_DB", None)
        record_runs(folder, 20)
        everything = [sys.executable, "-c", "import " + ", ".join(EVERYTHING)]
        cases = {
            "factory --help": [*FACTORY, "--help"],
            "factory runs list": [*FACTORY, "runs", "list"],
            "import everything (the old start-up)": everything,
        }
        seconds = {label: median_seconds(cmd, folder, args.repeats) for label, cmd in cases.items()}
        print(f"median of {args.repeats} runs, each a fresh process:       wall      CPU")
        for label, (wall, cpu) in seconds.items():
            print(f"  {label:38s} {wall:6.2f} s {cpu:6.2f} s")
        eager_wall, eager_cpu = seconds["import everything (the old start-up)"]
        for label in ("factory --help", "factory runs list"):
            wall, cpu = seconds[label]
            print(
                f"  {label}: {eager_wall / wall:.1f}× faster than importing everything "
                f"({eager_cpu / cpu:.1f}× less CPU)"
            )
        # The bundled data cached and the Numba caches written, as after a first use.
        subprocess.run([*FACTORY, *MAIN_JOB], cwd=folder, check=True, capture_output=True)
        variants = {"as chosen": [], "--workers 2": ["--workers", "2"]}
        measured = main_job(folder, args.evolve_repeats, variants)
        print(f"factory {' '.join(MAIN_JOB)}, median of {args.evolve_repeats}, new store each:")
        print("                                wall      CPU     exit")
        for label, runs in measured.items():
            wall, cpu, exit_ = (statistics.median(column) for column in zip(*runs, strict=True))
            print(f"  {label:28s} {wall:6.2f} s {cpu:6.2f} s {exit_:6.2f} s")
        print(f"  (load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
