"""Run the whole test suite several times in a row while busy loops keep every core busy.

The suite must not depend on the machine's speed: CI machines are shared and loaded.
This keeps one pure-Python busy loop per core running (the tests then get about half the
CPU they would alone) and runs the README's test command ``make test`` (tests, then
linters) ``--runs`` times, printing each run's outcome and wall time.

    python benchmarks/suite_under_load.py --runs 3            # from the repository root
    python benchmarks/suite_under_load.py --runs 1 --command "bash .ci/run"
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shlex
import subprocess
import sys
import time


def busy(stop: multiprocessing.synchronize.Event) -> None:
    """Spin on the CPU until told to stop."""
    count = 0
    while not stop.is_set():
        for _ in range(100_000):
            count += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--loops", type=int, default=os.cpu_count() or 1, help="busy loops")
    parser.add_argument("--command", default="make test")
    options = parser.parse_args()
    stop = multiprocessing.Event()
    loops = [multiprocessing.Process(target=busy, args=(stop,)) for _ in range(options.loops)]
    for loop in loops:
        loop.start()
    outcomes = []
    try:
        for run in range(1, options.runs + 1):
            started = time.monotonic()
            result = subprocess.run(shlex.split(options.command), check=False)
            seconds = time.monotonic() - started
            outcomes.append(result.returncode)
            verdict = "passed" if result.returncode == 0 else f"FAILED ({result.returncode})"
            print(
                f"run {run}/{options.runs} under {options.loops} busy loops: {verdict} "
                f"in {seconds / 60:.1f} min",
                flush=True,
            )
    finally:
        stop.set()
        for loop in loops:
            loop.join()
    passed = sum(code == 0 for code in outcomes)
    print(f"{passed} of {len(outcomes)} runs passed with every core kept busy")
    return 0 if passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
