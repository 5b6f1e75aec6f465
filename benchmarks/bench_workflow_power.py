"""The workflow's honesty and power: false passes on random walks, detections of planted edges.

Each series is 3,000 business days of :func:`regime_autocorrelated_bars` (two regimes a
2-state GMM on volatility can see). The workflow is the one of the tests: momentum and
mean-reversion rules (8 trials each) → regime analysis → ensemble by replay → validation
on the last 35 % under the ``evidence`` criteria (holdout p ≤ 0.05 Šidák-corrected, PBO
≤ 0.5, ≥ 30 trades, drawdown ≥ -50 %). For random walks (``phi = 0``) it counts how often
validation passes (the false-positive rate, to compare with the 5 % test level); for
planted edges of AR(1) strength ``phi`` (momentum +phi when calm, reversal -phi when
volatile) how often it passes (the detection rate), with seeds disjoint from the tests'.

    .venv/bin/python benchmarks/bench_workflow_power.py --seeds 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from strategy_factory.data import BarCatalog, regime_autocorrelated_bars
from strategy_factory.workflow import WorkflowConfig, create_workflow, run_workflow

STRENGTHS = (0.0, 0.05, 0.1, 0.15, 0.25)


def config(symbol: str) -> WorkflowConfig:
    """The tests' small workflow on ``symbol``."""
    families = [
        {"name": "momentum", "kind": "rule", "rule": "momentum",
         "parameters": {"lookback": [1, 2, 5, 20], "threshold": [0.0, 0.005]}},
        {"name": "reversion", "kind": "rule", "rule": "mean_reversion",
         "parameters": {"lookback": [2, 3, 5, 20], "threshold": [0.0, 0.5]}},
    ]  # fmt: skip
    return WorkflowConfig.load(
        {
            "data": {"symbol": symbol, "selection_fraction": 0.35, "holdout_fraction": 0.35},
            "classifiers": {"regime_vol": {"type": "gmm", "params": {"n_regimes": 2}}},
            "phases": [
                {"type": "parameter_discovery", "families": families},
                {"type": "regime_analysis", "min_trades": 10},
                {"type": "ensemble_optimization", "step": 0.25},
                {"type": "validation", "criteria": "evidence"},
            ],
        }
    )


def passes(catalog: BarCatalog, results: Path, phi: float, seed: int) -> bool:
    """Whether validation passes on one series."""
    symbol = f"S{int(phi * 1000)}X{seed}"
    catalog.save(symbol, regime_autocorrelated_bars(3000, seed=seed, phi=(phi, -phi))[0])
    manifest = run_workflow(create_workflow(config(symbol), results))
    return bool(manifest["phases"][-1]["summary"]["passed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="series per strength")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["FACTORY_HOME"] = str(Path(scratch) / "home")
        catalog = BarCatalog(Path(scratch) / "home" / "bars")
        started = time.perf_counter()
        for phi in STRENGTHS:
            seeds = range(1000, 1000 + options.seeds)
            passed = sum(passes(catalog, Path(scratch) / "results", phi, s) for s in seeds)
            kind = "random walk (false passes)" if phi == 0 else f"planted phi={phi} (detections)"
            print(f"{kind:34s}: {passed:3d} of {options.seeds} ({passed / options.seeds:.0%})")
        print(
            f"{len(STRENGTHS) * options.seeds} workflows in {time.perf_counter() - started:.0f} s"
        )


if __name__ == "__main__":
    main()
