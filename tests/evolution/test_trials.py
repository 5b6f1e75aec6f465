"""Trial counting: distinct trading strategies only, one set for N, V and the PBO."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.evolution.trials import TRIAL_BLOCKS, Trials

SYMBOL = "SYN"


def _result(columns: np.ndarray, trades: list[int] | None = None) -> dict[str, Any]:
    """A simulate result whose cells have these block sums (blocks × cells)."""
    cells = columns.shape[1]
    trades = trades or [10] * cells
    sharpes = [
        float(col.mean() / col.std(ddof=1) * math.sqrt(TRIAL_BLOCKS)) if col.std() else math.nan
        for col in columns.T
    ]
    rows = [
        {"ticker": SYMBOL, "threshold": k / 100, "mode": "long_short", "trades": t, "sharpe": s}
        for k, (t, s) in enumerate(zip(trades, sharpes, strict=True))
    ]
    return {
        "rows": rows,
        "block_sums": columns.tolist(),
        "block_squares": (columns**2).tolist(),
        "rows_per_block": 4,
        "periods_per_year": 252.0,
    }


def _random(cells: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.01, size=(TRIAL_BLOCKS, cells))


def test_a_duplicated_cell_is_one_trial_and_a_silent_cell_none() -> None:
    columns = _random(5, 1)
    trials = Trials()
    assert trials.add(_result(columns), SYMBOL) == 5
    again = np.column_stack([columns[:, [0, 3]], np.zeros(TRIAL_BLOCKS)])
    assert trials.add(_result(again, trades=[10, 10, 0]), SYMBOL) == 0
    assert (trials.count, trials.simulated) == (5, 8)
    assert len(trials.bar_sharpes) == trials.count  # N and V from the same trials
    assert 1 <= trials.effective() <= trials.count


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 30), st.integers(0, 2**16))
def test_effective_trials_lie_between_one_and_the_distinct_count(cells: int, seed: int) -> None:
    trials = Trials()
    trials.add(_result(_random(cells, seed)), SYMBOL)
    assert 1 <= trials.effective() <= trials.count == cells


def test_perfectly_correlated_trials_are_one_trial() -> None:
    base = _random(1, 3)
    scaled = np.column_stack([base[:, 0] * k for k in (1.0, 2.0, 3.5, 0.5)])
    trials = Trials()
    trials.add(_result(scaled), SYMBOL)
    assert trials.count == 4  # four distinct strategies ...
    assert trials.effective() == pytest.approx(1.0, abs=1e-12)  # ... that are one bet


def test_holdout_looks_are_counted_apart_from_trials() -> None:
    trials = Trials()
    assert [trials.look(), trials.look()] == [1, 2]
    assert trials.summary()["holdout_looks"] == 2
    assert trials.count == 0 and trials.effective() == 1.0
    assert trials.pbo() is None


@settings(max_examples=25, deadline=None)
@given(cells=st.integers(1, 30), prior=st.integers(1, 10**6), seed=st.integers(0, 10**6))
def test_prior_trials_add_to_the_effective_count_and_lower_the_dsr(
    cells: int, prior: int, seed: int
) -> None:
    from strategy_factory.evolution.promotion import selection_statistics

    columns = _random(cells, seed)
    alone, searched = Trials(), Trials(prior=prior)
    alone.add(_result(columns), SYMBOL)
    searched.add(_result(columns), SYMBOL)
    assert searched.effective() == pytest.approx(alone.effective() + prior)
    assert searched.count == alone.count  # the run's own distinct strategies are the same
    assert searched.summary()["prior_trials"] == prior
    returns = np.random.default_rng(seed).normal(0.001, 0.01, size=500)
    plain, charged = (selection_statistics(returns, t)["dsr"] for t in (alone, searched))
    assert charged < plain
