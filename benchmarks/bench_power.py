"""Power and honesty of the whole search: promotion rate against the strength of a planted
edge, and the false-positive rate on random walks, under each criteria preset.

Series come from the project's generator (``synthetic_bars``): 5 years of hourly 24/7 bars
(volatility regimes of 50% and 90% a year) and 20 years of business-daily bars (12% and
35%). A planted feature leads the next bar's return with a chosen strength; the strength
is expressed as the **true annualised Sharpe ratio of the ideal strategy** — long when the
planted feature is positive, short when negative, filled at the next open with the default
costs (1 bp fee + 1 bp slippage per fill) — measured by our backtest on four independent
series of twice the benchmark's length (40 holdouts), so the figure is the population
value, not one sample's. Each
point runs ``--seeds`` independent series through the default ``factory evolve`` (4
generations, early stop) once per preset, in fresh stores. Random walks (no planted
feature, Student-t(3) innovations, volatility regimes) measure the false-positive rate.

    .venv/bin/python benchmarks/bench_power.py                       # the README's figures
    .venv/bin/python benchmarks/bench_power.py --seeds 4 --walks 10   # a quick look

It prints one table per frequency and writes ``benchmarks/results/power.json`` and
``benchmarks/results/power.png`` (the curve of the README).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = ("holy_grail", "evidence")


@dataclass(frozen=True)
class Frequency:
    """One kind of series: its bars, calendar, regimes and the Sharpe ratios to test."""

    name: str
    bars: int
    freq: str
    volatility: tuple[float, float]
    sharpes: tuple[float, ...]


FREQUENCIES = {
    "hourly": Frequency(
        "hourly",
        5 * 8766,
        "1h",
        (0.5, 0.9),
        (1, 2, 3, 4, 6, 8, 12, 16, 20, 24, 28, 32, 40, 48),
    ),
    "daily": Frequency("daily", 20 * 261, "B", (0.12, 0.35), (0.5, 1, 1.5, 2, 3, 4, 6, 8, 12)),
}


def series(kind: Frequency, seed: int, strength: float, length: int | None = None) -> Any:
    """The generator's bars for one point; a random walk (fat tails) when strength is 0."""
    from strategy_factory.data import Regime, synthetic_bars

    regimes = tuple(Regime(0.0, v) for v in kind.volatility)
    return synthetic_bars(
        length or kind.bars,
        freq=kind.freq,
        seed=seed,
        regimes=regimes,
        mean_duration=500 if kind.freq == "1h" else 120,
        planted_strength=strength,
        tail_df=None if strength else 3.0,
    )


def true_sharpe(kind: Frequency, strength: float) -> float:
    """Annualised Sharpe ratio of the ideal strategy at ``strength``, over 40 holdouts."""
    from strategy_factory.backtest import Market, StrategyConfig, simulate_config
    from strategy_factory.evaluate import strategy_metrics
    from strategy_factory.evolution.config import StrategyOptions

    costs = StrategyOptions().execution()  # the default costs of every run
    if strength == 0:
        return 0.0
    found = []
    for seed in range(10_000, 10_004):  # four series, each short enough not to overflow
        bars = series(kind, seed=seed, strength=strength, length=kind.bars * 2)
        market = Market("IDEAL", bars.drop(columns=["planted"]), bars["planted"])
        detail = simulate_config(market, StrategyConfig("IDEAL", 0.0), costs)
        found.append(float(strategy_metrics(detail)["sharpe"]))
    return float(np.mean(found))


def strength_for(kind: Frequency, sharpe: float) -> float:
    """The planted strength whose ideal strategy has this true annual Sharpe (bisection)."""
    low, high = 0.0, 0.97  # strength² + the open's share of variance must stay below 1
    for _ in range(30):
        middle = (low + high) / 2
        if true_sharpe(kind, middle) < sharpe:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def one_run(task: tuple[str, str, int, float, str]) -> dict[str, Any]:
    """Evolve one series under one preset in a fresh store; what came of it."""
    kind_name, label, seed, strength, preset = task
    kind = FREQUENCIES[kind_name]
    with tempfile.TemporaryDirectory() as home:
        os.environ["FACTORY_HOME"] = home
        from strategy_factory.data import BarCatalog
        from strategy_factory.evolution import Evolution, EvolveConfig, create_run
        from strategy_factory.execution import InlineExecutor
        from strategy_factory.store import create_store

        BarCatalog(Path(home) / "bars").save("SYN", series(kind, seed, strength))
        with create_store(f"sqlite:///{home}/factory.db") as store:
            config = EvolveConfig.load({"symbol": "SYN", "criteria": preset})
            run = Evolution(store, InlineExecutor()).run(create_run(store, config).id)
            holdouts = [
                r.metrics for m in store.models.of_run(run.id)
                for r in store.simulations.top(run.id, model_id=m.id, period="holdout", limit=1)
            ]  # fmt: skip
    return {
        "frequency": kind_name,
        "label": label,
        "seed": seed,
        "strength": strength,
        "preset": preset,
        "promoted": run.promoted,
        "stop_reason": run.stop_reason,
        "best_holdout_sharpe": max((h.get("sharpe") or -math.inf for h in holdouts), default=None),
    }


def _workers() -> None:
    # One thread per worker process: the machine's cores are shared by processes.
    for variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = "1"


def _rate(hits: int, total: int) -> str:
    """A rate with its 95% Wilson interval."""
    if total == 0:
        return "—"
    p, z = hits / total, 1.96
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return f"{100 * p:5.1f}% [{100 * max(centre - half, 0):.0f}–{100 * min(centre + half, 1):.0f}]"


def summarize(results: list[dict[str, Any]], calibration: dict[str, list[dict]]) -> None:
    for kind_name, points in calibration.items():
        print(f"\n{kind_name}: promoted share by true annual Sharpe of the ideal strategy")
        print(f"{'true Sharpe':>12} {'strength':>9}  " + "  ".join(f"{p:>20}" for p in PRESETS))
        for point in points:
            runs = [
                r for r in results if r["frequency"] == kind_name and r["label"] == point["label"]
            ]
            cells = []
            for preset in PRESETS:
                mine = [r for r in runs if r["preset"] == preset]
                cells.append(f"{_rate(sum(r['promoted'] for r in mine), len(mine)):>20}")
            print(f"{point['label']:>12} {point['strength']:9.4f}  " + "  ".join(cells))


def plot(results: list[dict[str, Any]], calibration: dict[str, list[dict]]) -> Path:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(calibration), figsize=(6 * len(calibration), 4))
    for axis, (kind_name, points) in zip(np.atleast_1d(axes), calibration.items(), strict=True):
        planted = [p for p in points if p["label"] != "walk"]
        for preset in PRESETS:
            rates = []
            for point in planted:
                mine = [
                    r["promoted"] for r in results
                    if r["frequency"] == kind_name and r["label"] == point["label"]
                    and r["preset"] == preset
                ]  # fmt: skip
                rates.append(100 * np.mean(mine) if mine else np.nan)
            axis.plot([p["sharpe"] for p in planted], rates, marker="o", label=preset)
        axis.axhline(5, color="grey", linestyle=":", linewidth=1)
        axis.axhline(80, color="grey", linestyle=":", linewidth=1)
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_xticks([p["sharpe"] for p in planted][::2])
        axis.set_xlabel("true annual Sharpe of the ideal strategy")
        axis.set_ylabel("runs promoted (%)")
        axis.set_title(FREQUENCIES[kind_name].name)
        axis.set_ylim(-2, 102)
        axis.legend()
    figure.tight_layout()
    path = RESULTS / "power.png"
    figure.savefig(path, dpi=110)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="series per planted strength")
    parser.add_argument("--walks", type=int, default=100, help="random walks per frequency")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--frequency", choices=[*FREQUENCIES, "both"], default="both")
    args = parser.parse_args()
    kinds = list(FREQUENCIES) if args.frequency == "both" else [args.frequency]
    calibration: dict[str, list[dict]] = {}
    tasks = []
    for kind_name in kinds:
        kind = FREQUENCIES[kind_name]
        points = [
            {"label": f"{s:g}", "sharpe": s, "strength": strength_for(kind, s)}
            for s in kind.sharpes
        ]
        for point in points:
            point["measured"] = true_sharpe(kind, point["strength"])
        calibration[kind_name] = [*points, {"label": "walk", "sharpe": 0.0, "strength": 0.0}]
        for preset in PRESETS:
            tasks += [(kind_name, "walk", 1_000 + k, 0.0, preset) for k in range(args.walks)]
            tasks += [
                (kind_name, p["label"], seed, p["strength"], preset)
                for p in points
                for seed in range(args.seeds)
            ]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.processes, initializer=_workers) as pool:
        results = pool.map(one_run, tasks, chunksize=1)
    elapsed = time.perf_counter() - started
    print(f"{len(results)} runs in {elapsed / 60:.1f} min on {args.processes} processes")
    summarize(results, calibration)
    for kind_name in kinds:
        for preset in PRESETS:
            walks = [
                r for r in results
                if r["frequency"] == kind_name and r["label"] == "walk" and r["preset"] == preset
            ]  # fmt: skip
            found = sum(r["promoted"] for r in walks)
            print(f"false positives, {kind_name}, {preset}: {found} of {len(walks)} random walks")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "power.json").write_text(
        json.dumps({"calibration": calibration, "runs": results}, indent=1, default=str)
    )
    print(f"plot: {plot(results, calibration)}")


if __name__ == "__main__":
    main()
