"""Parameter discovery at the grid kernel's speed, and the size of its captured signals.

One synthetic minute series whose selection period holds ``--bars`` bars (default
100,000), two rule families (momentum and mean reversion) of ``--lookbacks`` lookbacks ×
14 thresholds × 5 z-limits = 1,400 trials by default, one GMM classifier of two regimes
(so every trial is simulated overall and in each regime: 3 cells). Timed in one process,
best of ``--repeats``:

* the discovery phase as the workflow runs it (predictions, kernel, metrics, signal
  capture, Parquet and JSON files, checkpoints), and
* what ``factory backtest`` does for the same cells: for each lookback, its rule's
  predictions and one ``simulate_grid`` over thresholds × z-limits × regime filters.

The two are timed in turn (ours, peer, ours, peer, …) so that other work on the machine
weighs on both alike.

It prints cells per second for both and their ratio (target: discovery within 20% of the
backtest), in wall time and per CPU-second of the process (all its threads): on a machine
shared with other work the CPU figure is the steadier one, since a busy neighbour
stretches wall time without changing the work done. It also prints the size on disk of
the captured signals: each trial's signal kept as its changes (rows of trial, bar,
signal; zstd Parquet), the bars' timestamps once per family.

    .venv/bin/python benchmarks/bench_workflow.py
    .venv/bin/python benchmarks/bench_workflow.py --bars 20000 --lookbacks 2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from strategy_factory.backtest import StrategyGrid, rule_predictions, simulate_grid
from strategy_factory.data import synthetic_bars
from strategy_factory.evaluate import metrics_table
from strategy_factory.workflow.bars import prepare_bars
from strategy_factory.workflow.config import WorkflowConfig
from strategy_factory.workflow.phases import discovery
from strategy_factory.workflow.phases.context import PhaseContext

THRESHOLDS = {
    "momentum": [round(0.0002 * i, 6) for i in range(14)],
    "mean_reversion": [round(0.2 * i, 6) for i in range(14)],
}
Z_LIMITS = [None, 0.5, 1.0, 1.5, 2.0]


def workflow(lookbacks: int) -> WorkflowConfig:
    """The benchmark's workflow: discovery only, on the symbol BENCH."""
    families = [
        {
            "name": rule,
            "kind": "rule",
            "rule": rule,
            "parameters": {
                "lookback": [5 * (i + 1) for i in range(lookbacks)],
                "threshold": THRESHOLDS[rule],
                "z_limit": Z_LIMITS,
            },
        }
        for rule in ("momentum", "mean_reversion")
    ]
    return WorkflowConfig.load(
        {
            "data": {"symbol": "BENCH", "selection_fraction": 0.4, "holdout_fraction": 0.3},
            "classifiers": {"regime_vol": {"type": "gmm", "params": {"n_regimes": 2}}},
            "phases": [{"type": "parameter_discovery", "families": families}],
        }
    )


def time_discovery(
    config: WorkflowConfig, data: object, folder: Path, executor: object = None
) -> tuple[float, float]:
    """Wall and CPU seconds (this process's threads) of one discovery phase from scratch,
    in process or (``executor``) as the executor's tasks."""
    shutil.rmtree(folder, ignore_errors=True)
    context = PhaseContext(
        config=config,
        phase=config.phases[0],
        inputs={},
        outputs={
            "performance": folder / "performance.json",
            "cells": folder / "cells.parquet",
            "signals": folder / "signals",
        },
        checkpoints=folder / "checkpoints",
        executor=lambda: executor,
    )
    context.__dict__["data"] = data  # the bars are prepared once, outside the timing
    started, cpu = time.perf_counter(), time.process_time()
    discovery.run(context)
    return time.perf_counter() - started, time.process_time() - cpu


def time_backtest(config: WorkflowConfig, data: object) -> tuple[float, float, int]:
    """Wall and CPU seconds (and cells) of the same cells as ``factory backtest`` grids
    per lookback."""
    filters = [None, {"regime_vol": [0]}, {"regime_vol": [1]}]
    started, cpu, cells = time.perf_counter(), time.process_time(), 0
    for family in config.phases[0].families:
        for lookback in family.parameters["lookback"]:
            predictions = rule_predictions(data.bars["close"], family.rule, lookback)
            grid = StrategyGrid(
                thresholds=family.parameters["threshold"],
                z_limits=Z_LIMITS,
                regime_filters=filters,
            )
            stats = simulate_grid(data.market("selection", predictions), grid, blocks=16)
            metrics_table(stats)
            cells += len(stats)
    return time.perf_counter() - started, time.process_time() - cpu, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000, help="bars in the selection period")
    parser.add_argument("--lookbacks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    config = workflow(options.lookbacks)
    total = int(options.bars / 0.4)
    bars = synthetic_bars(total, freq="1min", seed=3, planted_strength=0.05)
    data = prepare_bars(bars, {}, config.data, config.classifiers)
    trials = sum(f.grid_size() for f in config.phases[0].families)
    selection = data.period("selection")
    print(f"{trials:,} trials × {selection.stop - selection.start:,} selection bars, 3 cells each")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        small = workflow(1)
        time_discovery(small, data, folder / "warm")  # Numba and imports warm
        time_backtest(small, data)
        # Alternated, so that a burst of other work on the machine slows both alike.
        ours, peer = (float("inf"),) * 2, (float("inf"),) * 2
        for _ in range(options.repeats):
            ours = min(ours, time_discovery(config, data, folder / "run"))
            *seconds, cells = time_backtest(config, data)
            peer = min(peer, tuple(seconds))
        signals = folder / "run" / "signals"
        sizes = {p.name: p.stat().st_size for p in signals.glob("*.parquet")}
        parts = sum(p.stat().st_size for p in signals.glob("*/trials-*.parquet"))
        timestamps = sum(p.stat().st_size for p in signals.glob("*/timestamps.parquet"))
    assert cells == trials * 3
    for name, (wall, cpu) in (("discovery phase ", ours), ("factory backtest", peer)):
        print(
            f"{name}: {wall:7.2f} s  {cells / wall / 1e3:8.1f} k cells/s   "
            f"{cpu:7.2f} CPU-s  {cells / cpu / 1e3:8.1f} k cells per CPU-s"
        )
    print(
        f"discovery / backtest cells per second: {peer[0] / ours[0]:.2f} wall, "
        f"{peer[1] / ours[1]:.2f} per CPU-second (target >= 0.80)"
    )
    labels, prices = sizes["regimes.parquet"], sizes["prices.parquet"]
    signal_bytes = parts + timestamps + labels
    raw = trials * (selection.stop - selection.start)
    print(
        f"captured signals: {signal_bytes / 2**20:.1f} MiB for {trials:,} trials × "
        f"{selection.stop - selection.start:,} bars ({raw / 2**20:.0f} MiB as raw int8, "
        f"{8 * signal_bytes / raw:.3f} bits per trial-bar): the trials' changes "
        f"{parts / 2**20:.1f} MiB, timestamps {timestamps / 2**10:.0f} KiB, regime labels "
        f"{labels / 2**10:.0f} KiB; prices {prices / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
