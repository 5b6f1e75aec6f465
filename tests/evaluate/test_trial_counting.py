"""Effective number of independent trials (Bailey & López de Prado 2014, App. A.3) and
distinct trials, proven by properties and against numpy's correlation matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import average_correlation, distinct_trials, effective_trials


def _correlated(seed: int, bars: int, trials: int, common: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return common * rng.standard_normal((bars, 1)) + rng.standard_normal((bars, trials))


trial_returns = st.builds(
    _correlated,
    seed=st.integers(0, 2**32 - 1),
    bars=st.integers(5, 200),
    trials=st.integers(1, 12),
    common=st.floats(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(returns=trial_returns)
def test_effective_trials_lie_between_one_and_m(returns: np.ndarray) -> None:
    counted = average_correlation(returns)
    n_hat = effective_trials(counted.average, counted.n_trials)
    assert 1 <= n_hat <= counted.n_trials
    assert counted.constant_columns == ()
    if counted.n_trials > 1:
        matrix = np.corrcoef(returns, rowvar=False)
        assert counted.average == pytest.approx(
            (matrix.sum() - counted.n_trials) / (counted.n_trials * (counted.n_trials - 1)),
            abs=1e-9,
        )
        assert effective_trials(matrix) == pytest.approx(n_hat)


@given(returns=trial_returns, scale=st.floats(0.1, 10), shift=st.floats(-1, 1))
def test_perfectly_correlated_trials_count_once(
    returns: np.ndarray, scale: float, shift: float
) -> None:
    column = returns[:, :1]
    same = np.hstack([column, scale * column + shift, 2 * column])
    assert effective_trials(average_correlation(same).average, 3) == pytest.approx(1.0)
    assert effective_trials(np.ones((4, 4))) == 1.0


def test_independent_trials_count_fully() -> None:
    returns = np.random.default_rng(2).standard_normal((20_000, 30))
    assert effective_trials(average_correlation(returns).average, 30) == pytest.approx(30, rel=0.01)
    assert effective_trials(-0.5, 30) == 30  # negative average correlation adds no trials


@settings(max_examples=60, deadline=None)
@given(returns=trial_returns, pick=st.integers(0, 11), where=st.integers(0, 12))
def test_duplicating_a_trial_leaves_the_distinct_count_unchanged(
    returns: np.ndarray, pick: int, where: int
) -> None:
    column = returns[:, pick % returns.shape[1]]
    doubled = np.insert(returns, min(where, returns.shape[1]), column, axis=1)
    assert len(distinct_trials(doubled)) == len(distinct_trials(returns)) == returns.shape[1]
    kept = doubled[:, distinct_trials(doubled)]
    assert np.unique(kept, axis=1).shape[1] == kept.shape[1]


def test_trials_that_never_traded_are_left_out_and_reported() -> None:
    returns = np.random.default_rng(4).standard_normal((300, 5))
    returns[:, [1, 3]] = 0.0
    counted = average_correlation(returns)
    assert counted.n_trials == 3 and counted.constant_columns == (1, 3)
    assert counted.average == pytest.approx(average_correlation(returns[:, [0, 2, 4]]).average)
    alone = average_correlation(returns[:, :2])
    assert math.isnan(alone.average) and effective_trials(alone.average, alone.n_trials) == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: effective_trials(0.3), "n_trials"),
        (lambda: effective_trials(np.ones((2, 3))), "square"),
        (lambda: effective_trials(1.5, 4), r"\[-1, 1\]"),
        (lambda: effective_trials(0.2, 0), "at least 1"),
        (lambda: average_correlation(np.ones(5)), "bars x trials"),
        (lambda: distinct_trials([[0.1, math.nan], [0.0, 0.1]]), "fill flat bars"),
    ],
)
def test_bad_input_says_what_to_fix(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        call()
