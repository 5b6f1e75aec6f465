"""The event study behind a hypothesis, on plain arrays: events, effect, bootstrap CI, p-value.

An event is a bar where the condition holds; its **outcome** is the return over the
next ``horizon`` bars (close to close), signed so that the hypothesis predicts a
positive outcome (a reversal after an up-move is a fall, so it is counted with a minus).
Events are kept non-overlapping — after an event, the next one is taken at least
``horizon`` bars later — so no two outcomes share a bar's return, and the block
bootstrap (arch's circular block bootstrap, block length by Politis–White) covers what
dependence is left (volatility clustering) in the 95% confidence interval of the effect.

The p-value is one-sided, for the null that the mean outcome is at most zero: Student's t
on the non-overlapping outcomes. Under the null of no predictability the outcomes are a
martingale difference sequence, so the t-statistic is asymptotically normal whatever the
volatility clustering, and the t reference is, if anything, conservative for fat tails. A
bootstrap p-value was tried and measured worse where a correction over a hundred
hypotheses reads (5% / 100 = 0.0005): with tens of fat-tailed events its far tail is too
thin — 8 (percentile) and 11 (bootstrap-t) of 60 random walks gave a false discovery at a
nominal 5%, against 2 of 60 with the t-test (``benchmarks/bench_understanding.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
from arch.bootstrap import CircularBlockBootstrap, optimal_block_length
from scipy.stats import ttest_1samp

Side = Literal["above", "below", "beyond"]
Expect = Literal["up", "down", "with", "against"]


@dataclass(frozen=True)
class EventStudy:
    """What an event study measured; ``p_value`` is None when there were too few events."""

    events: int
    effect: float | None  # mean signed outcome (log return over the horizon)
    hit_rate: float | None  # share of events whose outcome went the predicted way
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    block_size: int
    state: Literal["tested", "too_few_events"]


@numba.njit(cache=True)
def _spaced(candidates: np.ndarray, gap: int) -> np.ndarray:
    """The candidates (ascending bar positions) kept greedily at least ``gap`` bars apart."""
    keep = np.zeros(candidates.size, dtype=np.bool_)
    next_free = -1
    for i in range(candidates.size):
        if candidates[i] >= next_free:
            keep[i] = True
            next_free = candidates[i] + gap
    return candidates[keep]


def event_positions(
    signal: np.ndarray,
    forward: np.ndarray,
    eligible: np.ndarray,
    k: float | None,
    side: Side,
    horizon: int,
) -> np.ndarray:
    """Positions of the non-overlapping events.

    ``signal`` is the feature's rolling z-score for an event (``k`` given) or the
    feature itself (``k`` None: every bar with a non-zero sign is a candidate);
    ``forward`` the returns over the horizon (NaN where unknown); ``eligible`` the bars
    allowed (the period and the regime condition).
    """
    usable = eligible & np.isfinite(signal) & np.isfinite(forward)
    if k is None:
        condition = signal != 0
    elif side == "above":
        condition = signal >= k
    elif side == "below":
        condition = signal <= -k
    else:
        condition = np.abs(signal) >= k
    candidates = np.flatnonzero(usable & condition).astype(np.int64)
    return _spaced(candidates, horizon)


def signed_outcomes(
    signal: np.ndarray, forward: np.ndarray, positions: np.ndarray, expect: Expect
) -> np.ndarray:
    """The events' outcomes signed so that the hypothesis predicts them positive."""
    direction = np.sign(signal[positions])
    orientation = {"up": 1.0, "down": -1.0, "with": direction, "against": -direction}[expect]
    return orientation * forward[positions]


def event_study(
    outcomes: np.ndarray, reps: int = 2_000, seed: int = 0, min_events: int = 30
) -> EventStudy:
    """Effect, hit rate, 95% block-bootstrap CI and one-sided p-value of signed outcomes."""
    n = int(outcomes.size)
    if n < min_events:
        return EventStudy(n, None, None, None, None, None, 0, "too_few_events")
    block = _block_size(outcomes)
    bootstrap = CircularBlockBootstrap(block, outcomes, seed=seed)
    means = bootstrap.apply(np.mean, reps)[:, 0]
    low, high = np.percentile(means, [2.5, 97.5])
    test = ttest_1samp(outcomes, 0.0, alternative="greater")
    # Outcomes all equal have no spread to test against: no evidence either way.
    p_value = float(test.pvalue) if np.isfinite(test.pvalue) else 1.0
    return EventStudy(
        events=n,
        effect=float(outcomes.mean()),
        hit_rate=float(np.mean(outcomes > 0)),
        ci_low=float(low),
        ci_high=float(high),
        p_value=p_value,
        block_size=block,
        state="tested",
    )


def _block_size(outcomes: np.ndarray) -> int:
    """Politis–White's circular block length, between 1 and a quarter of the events."""
    if np.ptp(outcomes) == 0:
        return 1
    length = float(optimal_block_length(outcomes)["circular"].iloc[0])
    return int(np.clip(round(length), 1, max(1, outcomes.size // 4)))
