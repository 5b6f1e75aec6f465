"""Grid kernel throughput per CPU-second: today's kernel against the one before this work.

Times ``simulate_cells`` alone (inputs prepared once) on the synthetic 100,000-minute-bar
market of ``bench_backtest.py`` and its grids, in one process, the two kernels
interleaved, each size ``--repeats`` times; prints medians of CPU-seconds
(``time.process_time``, all threads), ns per cell-bar, cell-bars per CPU-second, the
ratio to the baseline and the ratio to the bookkeeping roofline of issue 16 (2.6–2.9 ns
per cell-bar on this machine). The baseline is ``backtest/kernel.py`` as stored in git at
``--baseline`` (default: the commit before the rewrite), imported from a temporary copy.
Both kernels' statistics must be bit-identical before a figure is printed.

    .venv/bin/python benchmarks/bench_kernel.py                   # 140, 1,400, 14,000
    .venv/bin/python benchmarks/bench_kernel.py --peak-rss        # + 14,000 × 1M bars
    # steady instruction counts on a loaded machine (one kernel, small grid):
    NUMBA_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file=/tmp/new.out \\
        .venv/bin/python benchmarks/bench_kernel.py --only new --sizes 140 --bars 20000
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from strategy_factory.backtest import Market, StrategyGrid, simulate_grid
from strategy_factory.backtest.grid import _cells, block_numbers, weeks_passed, z_mask
from strategy_factory.backtest.grid_kernel import simulate_cells

sys.path.insert(0, str(Path(__file__).parent))
from bench_backtest import EXECUTION, SHAPES, grid, market

BASELINE = "bb9f5c2"
ROOFLINE_NS = (2.6, 2.9)
Kernel = Callable[[], tuple[np.ndarray, np.ndarray]]


def baseline_module(commit: str) -> object:
    """``backtest/kernel.py`` at ``commit``, imported from a copy in a temporary folder."""
    source = subprocess.run(
        ["git", "show", f"{commit}:src/strategy_factory/backtest/kernel.py"],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    ).stdout
    # One folder per commit, so that Numba's cache of the copy is reused between runs.
    folder = Path(tempfile.gettempdir()) / f"baseline_kernel_{commit}"
    folder.mkdir(exist_ok=True)
    path = folder / "baseline_kernel.py"
    if not path.exists() or path.read_text() != source:
        path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_kernel", path)
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: Numba's cache names a kernel's module, and reloads it by
    # that name the next time (an unregistered one is "<dynamic>", and cannot be).
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def kernels(data: Market, strategy_grid: StrategyGrid, blocks: int, baseline: object) -> dict:
    """Zero-argument calls of each kernel on the same grid (inputs prepared here)."""
    cells = _cells(1, strategy_grid)
    z_ok = np.stack([z_mask(data, z) for z in strategy_grid.z_limits])
    regime_ok = np.stack([data.regime_mask(f) for f in strategy_grid.regime_filters])
    long_only = np.asarray([m == "long_only" for m in strategy_grid.modes])[cells["mode"]]
    thresholds = np.asarray(strategy_grid.thresholds, dtype=np.float64)[cells["threshold"]]
    prediction = data.predictions.to_numpy(dtype=np.float64)
    fill = data.bars["open"].to_numpy(dtype=np.float64)
    close = data.bars["close"].to_numpy(dtype=np.float64)
    bounds = np.array([0]), np.array([len(close)])
    common = (*bounds, cells["market"], thresholds, cells["z"], cells["regime"], long_only)
    costs = (EXECUTION.fee, EXECUTION.slippage)
    block = block_numbers(len(close), blocks)
    calls = {
        "new": lambda: simulate_cells(
            prediction,
            fill,
            close,
            weeks_passed(data),
            z_ok,
            regime_ok,
            *common,
            *costs,
            block if blocks else None,
            blocks,
        ),
    }
    if baseline is not None:
        calls["baseline"] = lambda: baseline.simulate_cells(
            prediction,
            fill,
            close,
            data.weeks(),
            z_ok,
            regime_ok,
            *common,
            *costs,
            block.astype(np.int64),
            blocks,
        )
    return calls


def cpu_seconds(call: Kernel) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
    start = time.process_time()
    result = call()
    return time.process_time() - start, result


def compare(sizes: list[int], n_bars: int, repeats: int, blocks: int, only: str | None) -> None:
    data = market(n_bars)
    baseline = None if only == "new" else baseline_module(BASELINE)
    for position, size in enumerate([140, *sizes]):  # the first compiles (or loads) both
        warm_up = position == 0
        calls = kernels(data, grid(size, data.predictions), blocks, baseline)
        if only:
            calls = {only: calls[only]}
        times: dict[str, list[float]] = {name: [] for name in calls}
        results = {}
        for _ in range(1 if warm_up else repeats):
            for name, call in calls.items():
                seconds, results[name] = cpu_seconds(call)
                times[name].append(seconds)
        if len(results) == 2:
            for new, old in zip(results["new"], results["baseline"], strict=True):
                assert np.array_equal(new, old), "the kernels' statistics differ"
        if warm_up:
            continue
        cell_bars = size * (n_bars - 1)
        line = [f"{size:>6} cells, blocks {blocks}:"]
        for name, seconds in times.items():
            median = statistics.median(seconds)
            ns = median / cell_bars * 1e9
            line.append(
                f"{name} {median:6.3f} CPU-s ({ns:5.2f} ns/cell-bar, "
                f"{cell_bars / median / 1e6:5.0f} M cell-bars/CPU-s, "
                f"{ns / ROOFLINE_NS[1]:4.2f}–{ns / ROOFLINE_NS[0]:4.2f}× roofline)"
            )
        if len(times) == 2:
            ratio = statistics.median(times["baseline"]) / statistics.median(times["new"])
            line.append(f"ratio {ratio:4.2f}× per CPU-s, bit-identical")
        print(" | ".join(line), flush=True)


def peak_rss_child(n_bars: int) -> None:
    """Simulate 14,000 cells on ``n_bars`` bars through ``simulate_grid``; print peak RSS."""
    data = market(n_bars)
    start = time.perf_counter()
    result = simulate_grid(data, grid(14000, data.predictions), EXECUTION)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"14,000 cells × {n_bars:,} bars: peak RSS {peak / 2**20:.0f} MiB, {seconds:.1f} s wall, "
        f"{int(result.stats['trades'].sum()):,} trades"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sorted(SHAPES))
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--blocks", type=int, nargs="+", default=[0, 16])
    parser.add_argument("--only", choices=["new", "baseline"])
    parser.add_argument("--peak-rss", action="store_true", help="also 14,000 cells × 1M bars")
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rss_child:
        peak_rss_child(arguments.rss_child)
        return
    print(
        f"{arguments.bars:,} bars, fee {EXECUTION.fee_bps} bps, slippage "
        f"{EXECUTION.slippage_bps} bps; medians of {arguments.repeats}; baseline {BASELINE}"
    )
    for blocks in arguments.blocks:
        compare(arguments.sizes, arguments.bars, arguments.repeats, blocks, arguments.only)
    if arguments.peak_rss:
        subprocess.run([sys.executable, __file__, "--rss-child", "1000000"], check=True)


if __name__ == "__main__":
    main()
