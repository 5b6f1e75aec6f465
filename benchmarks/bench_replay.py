"""Replaying weight sets of an ensemble against re-running its members for each one.

An ensemble of 5 rule members (momentum and mean reversion of several windows, two with
a volatility z-score limit) on 100,000 synthetic one-minute bars, fee 0.5 bps and
slippage 0.5 bps. Each weight set is one blend of the members (weights drawn at random:
fractional, some negative, total |weight| from 0.5 to 1.5).

* Replay: the members' signals are computed once; ``replay_weight_sets`` gives the
  statistics of all 10,000 weight sets in one parallel kernel call.
* Re-run (the peer): for each weight set, every member again from the bars and
  features — its rule predictions (``momentum`` / ``mean_reversion``), its z-score
  where it has a limit, its signal, its own backtest (``simulate_config``) — then the
  blend of their signals with that weight set (``simulate_blend``). Timed weight set by
  weight set on a sample (``--sample``, default 20), part by part; its statistics must
  equal the replay's rows before any figure is printed. The ratio is also given
  against the re-run without the members' own backtests, which the blend's statistics
  do not need.

The replay runs on every Numba thread (the weight sets split among them) and the re-run
on one core, so the ratio is also given per core: the replay timed again on one thread.
Numba is warmed up first; every figure is measured in this run (replay: best of
``--repeat``; re-run: the median weight set).

    .venv/bin/python benchmarks/bench_replay.py
    .venv/bin/python benchmarks/bench_replay.py --bars 20000 --weight-sets 2000 --sample 5
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from strategy_factory.backtest import (
    Execution,
    GridStats,
    Market,
    StrategyConfig,
    config_signal,
    replay_weight_sets,
    rule_predictions,
    simulate_blend,
    simulate_config,
)
from strategy_factory.backtest.kernel import STAT_NAMES
from strategy_factory.data import synthetic_bars
from strategy_factory.features import volatility_zscore

EXECUTION = Execution(fill="next_open", fee_bps=0.5, slippage_bps=0.5)


@dataclass(frozen=True)
class Member:
    """One rule strategy of the ensemble."""

    rule: str
    window: int
    threshold: float
    z_limit: float | None = None


MEMBERS = (
    Member("momentum", 30, 0.0005),
    Member("momentum", 240, 0.002, z_limit=1.5),
    Member("mean_reversion", 20, 1.0),
    Member("mean_reversion", 120, 1.5, z_limit=1.0),
    Member("momentum", 60, 0.0),
)


def member_market(bars: pd.DataFrame, member: Member) -> Market:
    """The member's market from the bars: its rule predictions and, under a limit, z-score."""
    predictions = rule_predictions(bars["close"], member.rule, member.window)
    zscore = None
    if member.z_limit is not None:
        zscore = volatility_zscore(bars["close"].to_numpy(), 20, 250)
    return Market("SYN", bars, predictions, zscore=zscore)


def member_config(member: Member) -> StrategyConfig:
    return StrategyConfig("SYN", member.threshold, z_limit=member.z_limit)


def ensemble_signals(bars: pd.DataFrame) -> np.ndarray:
    """Every member's signal computed from the bars (bars × members)."""
    return np.column_stack(
        [config_signal(member_market(bars, m), member_config(m)) for m in MEMBERS]
    )


def weight_sets(count: int, seed: int) -> np.ndarray:
    """Random blends: normal weights scaled to a total |weight| between 0.5 and 1.5."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(0.3, 0.5, size=(count, len(MEMBERS)))
    scale = rng.uniform(0.5, 1.5, size=(count, 1)) / np.abs(raw).sum(axis=1, keepdims=True)
    return raw * scale


def rerun(bars: pd.DataFrame, weights: np.ndarray) -> tuple[pd.Series, dict[str, float]]:
    """One weight set the long way, and the seconds of each part: every member from the
    bars (signal, then its own backtest), then the blend."""
    seconds = dict.fromkeys(("signals", "members", "blend"), 0.0)
    signals = []
    for member in MEMBERS:
        start = time.perf_counter()
        market = member_market(bars, member)
        signals.append(config_signal(market, member_config(member)))
        middle = time.perf_counter()
        simulate_config(market, member_config(member), EXECUTION)
        seconds["signals"] += middle - start
        seconds["members"] += time.perf_counter() - middle
    start = time.perf_counter()
    stats = simulate_blend(bars, np.column_stack(signals), weights, EXECUTION).stats
    seconds["blend"] = time.perf_counter() - start
    return stats, seconds


def replay(bars: pd.DataFrame, signals: np.ndarray, sets: np.ndarray) -> GridStats:
    return replay_weight_sets(bars, signals, sets, EXECUTION)


def check_identical(replayed: GridStats, rows: np.ndarray, reruns: list[pd.Series]) -> None:
    expected = np.array([r[list(STAT_NAMES)].to_numpy(np.float64) for r in reruns])
    got = replayed.stats.iloc[rows][list(STAT_NAMES)].to_numpy(np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def best_replay(
    bars: pd.DataFrame, signals: np.ndarray, sets: np.ndarray, repeat: int
) -> tuple[GridStats, float]:
    """The replay of every weight set and its best time in seconds."""
    seconds = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        replayed = replay(bars, signals, sets)
        seconds = min(seconds, time.perf_counter() - start)
    return replayed, seconds


def best_replay_on_one_core(
    bars: pd.DataFrame, signals: np.ndarray, sets: np.ndarray, repeat: int
) -> float:
    """The best time of the replay of every weight set on one Numba thread."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return best_replay(bars, signals, sets, repeat)[1]
    finally:
        numba.set_num_threads(threads)


def report(
    signals: np.ndarray,
    sets: np.ndarray,
    replay_seconds: float,
    one_core_seconds: float,
    parts: pd.DataFrame,
) -> None:
    """Print the figures: replay and re-run per weight set, their ratio, ns per weight-set-bar."""
    n_bars = len(signals)
    per_replay = replay_seconds / len(sets)
    per_core = one_core_seconds / len(sets)
    full = float((parts["signals"] + parts["members"] + parts["blend"]).median())
    lean = float((parts["signals"] + parts["blend"]).median())
    median = parts.median() * 1e3
    fills = float(np.mean(np.any(signals[1:] != signals[:-1], axis=1)))
    print(
        f"{n_bars:,} bars, {len(MEMBERS)} members (some signal changes at {fills:.0%} of "
        f"bars), {len(sets):,} weight sets, fee {EXECUTION.fee_bps} bps, slippage "
        f"{EXECUTION.slippage_bps} bps, {numba.get_num_threads()} Numba threads"
    )
    print(
        f"replay:   {replay_seconds:8.3f} s for {len(sets):,} weight sets = "
        f"{per_replay * 1e3:8.3f} ms per weight set, "
        f"{replay_seconds / (len(sets) * n_bars) * 1e9:5.2f} ns per weight-set-bar "
        f"({per_core * 1e3:.3f} ms and {one_core_seconds / (len(sets) * n_bars) * 1e9:.2f} ns "
        "on one core)"
    )
    print(
        f"re-run:   {full * 1e3:8.1f} ms per weight set (median of {len(parts)}): members' "
        f"signals {median['signals']:.1f} ms, their backtests {median['members']:.1f} ms, "
        f"the blend {median['blend']:.1f} ms; statistics equal to the replay's"
    )
    print(
        f"ratio:    replay is {full / per_replay:,.0f}x faster per weight set than the re-run "
        f"({lean / per_replay:,.0f}x than the re-run without the members' own backtests)"
    )
    print(
        f"per core: replay on one core is {full / per_core:,.0f}x faster per weight set than "
        f"the re-run ({lean / per_core:,.0f}x without the members' own backtests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--weight-sets", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=20, help="weight sets re-run the long way")
    parser.add_argument("--repeat", type=int, default=3, help="replay timings (best is kept)")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    bars = synthetic_bars(arguments.bars, freq="1min", seed=arguments.seed)
    sets = weight_sets(arguments.weight_sets, arguments.seed)
    warm = bars.iloc[:2000]
    replay(warm, ensemble_signals(warm), sets[:4])
    rerun(warm, sets[0])

    signals = ensemble_signals(bars)
    replayed, replay_seconds = best_replay(bars, signals, sets, arguments.repeat)
    rows = np.linspace(0, len(sets) - 1, arguments.sample).astype(np.int64)
    reruns = [rerun(bars, sets[k]) for k in rows]
    check_identical(replayed, rows, [stats for stats, _ in reruns])
    one_core = best_replay_on_one_core(bars, signals, sets, arguments.repeat)
    parts = pd.DataFrame([seconds for _, seconds in reruns])
    report(signals, sets, replay_seconds, one_core, parts)


if __name__ == "__main__":
    main()
