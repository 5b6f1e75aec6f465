"""The overfitting monitor's false-alarm rate and detection delay, measured by simulation.

Each simulated strategy trades daily bars (252 a year) with independent per-bar returns
of standard deviation 1% and an annual Sharpe ratio of 1 or 2, normal or Student-t(4)
(fat tails, scaled to the same spread). It draws a holdout of 250, 500 or 1000 bars, the
monitor takes its promise (mean and spread) from that sample — estimation error included,
as in production — and then judges forward bars with the default settings (ARL 10 years
= 2520 bars, tuned to an edge that is gone, flag on the first bar above the threshold).

* In control: the forward bars come from the same process as the holdout. Reported: the
  share of strategies flagged within 250, 500 and 1000 forward bars, against the nominal
  ``1 − e^(−n/ARL)`` of a run length with mean ARL.
* Decay: the edge holds for 250 forward bars, then the mean drops to ``(1 − d)·μ`` (d =
  0.5 halved, 1 gone, 2 reversed) for 3000 bars. Reported: false alarms before the
  change, the share of the rest flagged within 3000 bars after it, the median, mean and
  90th percentile delay (bars from the change to the flag) of those flagged, and the
  delay the monitor states (Siegmund's ARL at the decayed drift, at the true figures).

A holdout sample can show no edge at all (mean ≤ 0, about 8% of 500-bar holdouts at an
annual Sharpe of 1); the monitor does not judge those ("unjudged": nothing promised, so
nothing to decay — such a strategy would not have been promoted); every other rate is
among the strategies judged.

    .venv/bin/python benchmarks/bench_monitor.py                   # the README's figures
    .venv/bin/python benchmarks/bench_monitor.py --strategies 300  # a quick look

It prints both tables and the time per judgement, and writes
``benchmarks/results/monitor.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from strategy_factory.learning.monitor import (
    MonitorSettings,
    Promise,
    average_run_length,
    cusum_threshold,
    monitor,
)

RESULTS = Path(__file__).resolve().parent / "results"
PERIODS_PER_YEAR = 252
SPREAD = 0.01
SHARPES = (1.0, 2.0)
HOLDOUTS = (250, 500, 1000)
LOOKS = (250, 500, 1000)
DECAYS = (0.5, 1.0, 2.0)
GOOD_BARS = 250
AFTER_CHANGE = 3000
TAILS = ("normal", "student-t(4)")


def draw(rng: np.random.Generator, tails: str, mean: np.ndarray | float, bars: int) -> np.ndarray:
    """Per-bar returns of spread SPREAD around ``mean``, with normal or t(4) tails."""
    if tails == "normal":
        shocks = rng.standard_normal(bars)
    else:
        shocks = rng.standard_t(4, bars) / math.sqrt(2)  # t(4) has variance 2
    return mean + SPREAD * shocks


def per_bar_mean(annual_sharpe: float) -> float:
    return annual_sharpe / math.sqrt(PERIODS_PER_YEAR) * SPREAD


def in_control(
    rng: np.random.Generator,
    settings: MonitorSettings,
    tails: str,
    sharpe: float,
    holdout: int,
    n: int,
) -> dict[str, Any]:
    mean = per_bar_mean(sharpe)
    first_flags, unjudged = [], 0
    for _ in range(n):
        promise = Promise.from_holdout(draw(rng, tails, mean, holdout))
        result = monitor(promise, draw(rng, tails, mean, max(LOOKS)), settings, PERIODS_PER_YEAR)
        if result.state == "not_judged":
            unjudged += 1
        else:
            first_flags.append(result.flagged_at if result.flagged else math.inf)
    flags = np.array(first_flags, dtype=float)
    arl = settings.arl_years * PERIODS_PER_YEAR
    return {
        "tails": tails,
        "sharpe": sharpe,
        "holdout_bars": holdout,
        "strategies": n,
        "not_judged": unjudged / n,
        "false_alarm_rate": {look: float(np.mean(flags < look)) for look in LOOKS},
        "nominal": {look: 1 - math.exp(-look / arl) for look in LOOKS},
    }


def decay(
    rng: np.random.Generator,
    settings: MonitorSettings,
    tails: str,
    sharpe: float,
    size: float,
    n: int,
) -> dict[str, Any]:
    mean = per_bar_mean(sharpe)
    early, unjudged, delays = 0, 0, []
    for _ in range(n):
        promise = Promise.from_holdout(draw(rng, tails, mean, 500))
        forward = np.concatenate(
            [draw(rng, tails, mean, GOOD_BARS), draw(rng, tails, (1 - size) * mean, AFTER_CHANGE)]
        )
        result = monitor(promise, forward, settings, PERIODS_PER_YEAR)
        if result.state == "not_judged":  # the holdout itself showed no edge
            unjudged += 1
        elif result.flagged and result.flagged_at < GOOD_BARS:
            early += 1
        else:
            delays.append(result.flagged_at - GOOD_BARS + 1 if result.flagged else math.inf)
    found = np.array([d for d in delays if math.isfinite(d)])
    per_bar_sharpe = sharpe / math.sqrt(PERIODS_PER_YEAR)
    allowance = settings.decay * per_bar_sharpe / 2
    threshold = cusum_threshold(allowance, settings.arl_years * PERIODS_PER_YEAR)
    return {
        "tails": tails,
        "sharpe": sharpe,
        "decay": size,
        "strategies": n,
        "not_judged": unjudged / n,
        "false_alarms_before_change": early / max(n - unjudged, 1),
        "detected": len(found) / max(len(delays), 1),
        "median_delay": float(np.median(found)) if len(found) else None,
        "mean_delay": float(found.mean()) if len(found) else None,
        "p90_delay": float(np.percentile(found, 90)) if len(found) else None,
        "stated_delay": average_run_length(size * per_bar_sharpe - allowance, threshold),
    }


def print_tables(alarms: list[dict[str, Any]], delays: list[dict[str, Any]]) -> None:
    print("False alarms on strategies that keep their promise (share flagged by n forward bars)")
    looks = "  ".join(f"n={n:<4}" for n in LOOKS)
    print(f"{'tails':<13} {'SR':>3} {'holdout':>7} {'unjudged':>8}  {looks}")
    for row in alarms:
        rates = "  ".join(f"{row['false_alarm_rate'][n]:6.3f}" for n in LOOKS)
        print(
            f"{row['tails']:<13} {row['sharpe']:>3g} {row['holdout_bars']:>7} "
            f"{row['not_judged']:8.3f}  {rates}"
        )
    nominal = "  ".join(f"{alarms[0]['nominal'][n]:6.3f}" for n in LOOKS)
    print(f"{'nominal':<13} {'':>3} {'':>7} {'':>8}  {nominal}")
    print("\nDetection of a decayed edge (after 250 good forward bars; holdout 500 bars)")
    print(
        f"{'tails':<13} {'SR':>3} {'decay':>5} {'unjudged':>8} {'early':>6} {'found':>6} "
        f"{'median':>7} {'mean':>7} {'p90':>7} {'stated':>7}"
    )
    for row in delays:
        figures = [row["median_delay"], row["mean_delay"], row["p90_delay"], row["stated_delay"]]
        shown = " ".join(f"{f:7.0f}" if f is not None else f"{'-':>7}" for f in figures)
        print(
            f"{row['tails']:<13} {row['sharpe']:>3g} {row['decay']:>5g} {row['not_judged']:8.3f} "
            f"{row['false_alarms_before_change']:6.3f} {row['detected']:6.3f} {shown}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=2000, help="simulated per cell")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    settings = MonitorSettings()
    started = time.perf_counter()
    alarms = [
        in_control(rng, settings, tails, sharpe, holdout, args.strategies)
        for tails in TAILS
        for sharpe in SHARPES
        for holdout in HOLDOUTS
    ]
    delays = [
        decay(rng, settings, tails, sharpe, size, args.strategies)
        for tails in TAILS
        for sharpe in SHARPES
        for size in DECAYS
    ]
    elapsed = time.perf_counter() - started
    print_tables(alarms, delays)
    judgements = args.strategies * (len(alarms) + len(delays))
    print(
        f"\n{judgements} judgements in {elapsed:.1f} s ({elapsed / judgements * 1e3:.2f} ms each)"
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "monitor.json"
    payload = {
        "settings": settings.model_dump(),
        "periods_per_year": PERIODS_PER_YEAR,
        "seed": args.seed,
        "in_control": alarms,
        "decay": delays,
        "ms_per_judgement": elapsed / judgements * 1e3,
    }
    path.write_text(json.dumps(payload, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
