"""PBO by CSCV against a hand-worked example, a brute-force implementation and properties."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.pbo import (
    probability_of_backtest_overfitting,
    probability_of_backtest_overfitting_from_blocks,
)


def test_pbo_matches_a_hand_computed_example() -> None:
    # Two blocks of two rows; block means per configuration: A = [-1.5, 1.5, -0.5, 0.5],
    # B = [-0.5, -1.5, 0.5, 1.5]. In-sample A picks column 1, which is worst in B:
    # rank 1 of 4, ω = 1/5, λ = ln(1/4). In-sample B picks column 3, third in A:
    # ω = 3/5, λ = ln(3/2). PBO = 1/2; one of the two out-of-sample results is a loss.
    block_a = [-1.5, 1.5, -0.5, 0.5]
    block_b = [-0.5, -1.5, 0.5, 1.5]
    result = probability_of_backtest_overfitting(
        np.array([block_a, block_a, block_b, block_b]), n_splits=2, metric="mean"
    )
    assert result.in_sample_blocks.tolist() == [[True, False], [False, True]]
    assert result.selected.tolist() == [1, 3]
    np.testing.assert_allclose(result.relative_ranks, [0.2, 0.6])
    np.testing.assert_allclose(result.logits, [math.log(0.25), math.log(1.5)])
    np.testing.assert_allclose(result.in_sample, [1.5, 1.5])
    np.testing.assert_allclose(result.out_of_sample, [-1.5, 0.5])
    assert result.pbo == 0.5
    assert result.probability_of_loss == 0.5


def _brute_force_cscv(returns: np.ndarray, n_splits: int) -> tuple[np.ndarray, np.ndarray]:
    """CSCV as the paper states it, one combination at a time: (logits, oos of the best)."""
    rows = returns.shape[0] // n_splits
    blocks = np.split(returns[returns.shape[0] - rows * n_splits :], n_splits)
    logits, out = [], []
    for chosen in combinations(range(n_splits), n_splits // 2):
        train = np.vstack([blocks[i] for i in chosen])
        test = np.vstack([blocks[i] for i in range(n_splits) if i not in chosen])
        train_sharpe = train.mean(axis=0) / train.std(axis=0, ddof=1)
        test_sharpe = test.mean(axis=0) / test.std(axis=0, ddof=1)
        best = int(np.argmax(train_sharpe))
        omega = stats.rankdata(test_sharpe)[best] / (returns.shape[1] + 1)
        logits.append(math.log(omega / (1 - omega)))
        out.append(test_sharpe[best])
    return np.array(logits), np.array(out)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_splits=st.sampled_from([2, 4, 6, 8]),
    n_strategies=st.integers(2, 9),
    extra_rows=st.integers(0, 7),
)
def test_pbo_agrees_with_a_brute_force_cscv(
    seed: int, n_splits: int, n_strategies: int, extra_rows: int
) -> None:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0005, 0.01, (n_splits * 12 + extra_rows, n_strategies))
    result = probability_of_backtest_overfitting(returns, n_splits=n_splits)
    logits, out_of_sample = _brute_force_cscv(returns, n_splits)
    np.testing.assert_allclose(result.logits, logits, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.out_of_sample, out_of_sample, rtol=1e-9, atol=1e-12)
    assert result.pbo == np.mean(logits <= 0)
    assert result.probability_of_loss == np.mean(out_of_sample < 0)
    if n_splits > 2:
        slope, intercept = np.polyfit(result.in_sample, result.out_of_sample, 1)
        assert result.degradation_slope == pytest.approx(slope)
        assert result.degradation_intercept == pytest.approx(intercept, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_splits=st.sampled_from([2, 4, 8, 16]),
    n_strategies=st.integers(2, 9),
    drift=st.floats(-0.01, 0.01),
)
def test_pbo_from_block_sums_equals_pbo_from_returns(
    seed: int, n_splits: int, n_strategies: int, drift: float
) -> None:
    rows = 10
    returns = np.random.default_rng(seed).normal(drift, 0.01, (n_splits * rows, n_strategies))
    blocks = returns.reshape(n_splits, rows, n_strategies)
    direct = probability_of_backtest_overfitting(returns, n_splits=n_splits)
    summed = probability_of_backtest_overfitting_from_blocks(
        blocks.sum(axis=1), (blocks**2).sum(axis=1), rows
    )
    assert summed.pbo == direct.pbo
    np.testing.assert_array_equal(summed.selected, direct.selected)
    np.testing.assert_allclose(summed.logits, direct.logits)
    np.testing.assert_allclose(summed.out_of_sample, direct.out_of_sample, rtol=1e-7, atol=1e-9)


def test_pbo_from_blocks_rejects_mismatched_shapes() -> None:
    with pytest.raises(FactoryError, match="must both be"):
        probability_of_backtest_overfitting_from_blocks(np.zeros((4, 3)), np.zeros((4, 2)), 5)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), permutation_seed=st.integers(0, 1000))
def test_pbo_does_not_depend_on_column_order(seed: int, permutation_seed: int) -> None:
    returns = np.random.default_rng(seed).normal(0.0, 0.01, (120, 8))
    order = np.random.default_rng(permutation_seed).permutation(8)
    result = probability_of_backtest_overfitting(returns, n_splits=6)
    shuffled = probability_of_backtest_overfitting(returns[:, order], n_splits=6)
    assert shuffled.pbo == result.pbo
    np.testing.assert_allclose(shuffled.logits, result.logits)
    np.testing.assert_array_equal(order[shuffled.selected], result.selected)


def test_pbo_of_pure_noise_is_one_half() -> None:
    # With an even number of exchangeable configurations the out-of-sample rank of the
    # in-sample best is uniform, so E[PBO] = 1/2. One matrix's PBO spreads by about 0.22
    # (combinations share data), so average 40 seeded matrices: 3 standard errors = 0.1.
    pbos = [
        probability_of_backtest_overfitting(
            np.random.default_rng(seed).normal(0.0, 0.01, (400, 10)), n_splits=10
        ).pbo
        for seed in range(40)
    ]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.1)


@pytest.fixture(scope="module")
def sp500_returns(shared_bars: BarCatalog) -> np.ndarray:
    close = shared_bars.load("SP500")["close"].to_numpy()
    return np.diff(close[-1601:]) / close[-1601:-1]


def test_pbo_of_a_real_edge_is_zero(sp500_returns: np.ndarray) -> None:
    # Eleven random long/flat/short books on real S&P 500 returns, and one that peeks at
    # the day's sign 65% of the time: an edge in every period, so it wins in and out of
    # sample and is never overfit.
    rng = np.random.default_rng(11)
    positions = rng.integers(-1, 2, (sp500_returns.size, 12)).astype(float)
    right = rng.random(sp500_returns.size) < 0.65
    positions[:, 5] = np.where(right, 1.0, -1.0) * np.sign(sp500_returns)
    result = probability_of_backtest_overfitting(positions * sp500_returns[:, None], n_splits=16)
    assert result.n_combinations == math.comb(16, 8)
    assert np.all(result.selected == 5)
    assert result.pbo == 0.0
    assert result.probability_of_loss == 0.0


def test_pbo_samples_combinations_when_there_are_too_many() -> None:
    returns = np.random.default_rng(5).normal(0.0, 0.01, (800, 12))
    exhaustive = probability_of_backtest_overfitting(returns, n_splits=16)
    sampled = probability_of_backtest_overfitting(returns, n_splits=16, max_combinations=3000)
    again = probability_of_backtest_overfitting(returns, n_splits=16, max_combinations=3000)
    other = probability_of_backtest_overfitting(returns, n_splits=16, max_combinations=3000, seed=1)
    assert exhaustive.n_combinations == 12870
    assert sampled.n_combinations == 3000
    assert np.all(sampled.in_sample_blocks.sum(axis=1) == 8)
    assert len(np.unique(sampled.in_sample_blocks, axis=0)) == 3000
    np.testing.assert_array_equal(sampled.logits, again.logits)
    assert not np.array_equal(sampled.logits, other.logits)
    # 3000 draws estimate the exhaustive share to within a few standard errors.
    assert sampled.pbo == pytest.approx(exhaustive.pbo, abs=0.03)


@pytest.mark.parametrize(
    ("returns", "kwargs", "message"),
    [
        (np.zeros((100, 4)), {"n_splits": 5}, "even number"),
        (np.zeros((100, 1)), {}, "at least 2 configurations"),
        (np.zeros(100), {}, "T x N"),
        (np.zeros((10, 4)), {"n_splits": 16}, "use fewer splits"),
        (np.full((100, 4), math.nan), {"n_splits": 4}, "fill flat periods"),
        (np.zeros((100, 4)), {"n_splits": 4, "metric": "sortino"}, "metric"),
        (np.zeros((100, 4)), {"n_splits": 4, "max_combinations": 0}, "max_combinations"),
    ],
)
def test_bad_pbo_input_says_what_to_fix(returns: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        probability_of_backtest_overfitting(returns, **kwargs)


def test_pbo_scores_a_flat_configuration_zero() -> None:
    returns = np.random.default_rng(2).normal(-0.001, 0.01, (200, 4))
    returns[:, 0] = 0.0  # never trades: Sharpe 0 beats the losers in sample
    result = probability_of_backtest_overfitting(returns, n_splits=4)
    assert np.all(np.isfinite(result.logits))
    assert np.all(result.in_sample[result.selected == 0] == 0.0)
