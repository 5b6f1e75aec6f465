"""PSR, expected maximum Sharpe, DSR and MinTRL, proven against the papers, skfolio and
properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from skfolio import measures

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.overfitting import (
    deflated_sharpe_ratio,
    deflated_sharpe_ratio_from_stats,
    expected_max_sharpe,
    minimum_track_record_length,
    probabilistic_sharpe_ratio,
    probabilistic_sharpe_ratio_from_stats,
    sharpe_stats,
)

DAYS = 250  # the DSR paper annualizes with 250 observations a year


def test_dsr_paper_worked_example() -> None:
    # Bailey & López de Prado (2014), section "A numerical example": SR 2.5 a year over
    # 1250 days, 100 trials whose Sharpe ratios vary by 0.5 a year, skew -3, kurtosis 10.
    benchmark = expected_max_sharpe(100, 0.5 / DAYS)
    assert benchmark == pytest.approx(0.1132, abs=5e-5)
    assert expected_max_sharpe(100, 0.5) / math.sqrt(DAYS) == pytest.approx(benchmark)
    dsr = deflated_sharpe_ratio_from_stats(
        2.5 / math.sqrt(DAYS),
        1250,
        n_trials=100,
        trial_sharpe_variance=0.5 / DAYS,
        skew=-3,
        kurtosis=10,
    )
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_psr_matches_hand_computation() -> None:
    # Normal returns: z = 0.1 * sqrt(100) / sqrt(1 + 2/4 * 0.01) = 0.99751, and a normal
    # table interpolated between 0.99 (0.8389) and 1.00 (0.8413) gives 0.8407.
    assert probabilistic_sharpe_ratio_from_stats(0.1, 101) == pytest.approx(0.8407, abs=1e-4)
    # Skew -1, kurtosis 6: z = 1 / sqrt(1 + 0.1 + 5/4 * 0.01) = 0.94809 -> 0.8285.
    assert probabilistic_sharpe_ratio_from_stats(0.1, 101, -1, 6) == pytest.approx(0.8285, abs=1e-4)
    assert probabilistic_sharpe_ratio_from_stats(0.1, 101, benchmark_sharpe=0.1) == 0.5


series = st.builds(
    lambda seed, n, df, drift: np.random.default_rng(seed).standard_t(df, n) * 0.01 + drift,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(10, 400),
    df=st.sampled_from([3.0, 5.0, 30.0]),
    drift=st.floats(-0.003, 0.003),
)


@settings(max_examples=40, deadline=None)
@given(returns=series, benchmark=st.floats(-0.1, 0.1))
def test_psr_from_stats_agrees_with_skfolio(returns: np.ndarray, benchmark: float) -> None:
    summary = sharpe_stats(returns)
    ours = probabilistic_sharpe_ratio_from_stats(
        summary.sharpe, summary.n_observations, summary.skew, summary.kurtosis, benchmark
    )
    reference = measures.probabilistic_sharpe_ratio(returns, benchmark_sharpe_ratio=benchmark)
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-12)
    assert probabilistic_sharpe_ratio(returns, benchmark) == pytest.approx(reference)
    assert summary.skew == pytest.approx(measures.skew(returns), abs=1e-9)
    assert summary.kurtosis == pytest.approx(measures.kurtosis(returns), rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(returns=series, trial_seed=st.integers(0, 1000), n_trials=st.integers(2, 300))
def test_dsr_of_returns_equals_dsr_from_stats(
    returns: np.ndarray, trial_seed: int, n_trials: int
) -> None:
    trial_sharpes = np.random.default_rng(trial_seed).normal(0.0, 0.05, n_trials)
    summary = sharpe_stats(returns)
    from_stats = deflated_sharpe_ratio_from_stats(
        summary.sharpe,
        summary.n_observations,
        n_trials,
        float(np.var(trial_sharpes, ddof=1)),
        summary.skew,
        summary.kurtosis,
    )
    assert deflated_sharpe_ratio(returns, trial_sharpes) == pytest.approx(from_stats, rel=1e-9)
    # Selection can only lower the confidence: the benchmark is a maximum above zero.
    assert from_stats <= probabilistic_sharpe_ratio(returns) + 1e-12


@given(
    sharpe=st.floats(0.01, 0.5),
    more=st.floats(0.001, 0.2),
    n=st.integers(3, 5000),
    extra=st.integers(1, 5000),
    skew=st.floats(-2, 2),
    excess_kurtosis=st.floats(0, 20),
)
def test_psr_grows_with_sharpe_and_track_record(
    sharpe: float, more: float, n: int, extra: int, skew: float, excess_kurtosis: float
) -> None:
    kurtosis = skew**2 + 1 + excess_kurtosis
    psr = probabilistic_sharpe_ratio_from_stats(sharpe, n, skew, kurtosis)
    assert probabilistic_sharpe_ratio_from_stats(sharpe, n + extra, skew, kurtosis) >= psr
    # PSR(0) rises with the Sharpe ratio while the variance term stays positive.
    if 1 - skew * (sharpe + more) >= 0:
        assert probabilistic_sharpe_ratio_from_stats(sharpe + more, n, skew, kurtosis) >= psr


@given(
    n_trials=st.floats(1, 1e6),
    variance=st.floats(0, 1),
    mean=st.floats(-1, 1),
)
def test_expected_max_sharpe_is_skfolios(n_trials: float, variance: float, mean: float) -> None:
    # Written out to spare every run skfolio's import; it must stay skfolio's to the bit.
    reference = measures.expected_max_sharpe_ratio(n_trials, math.sqrt(variance), mean)
    assert expected_max_sharpe(n_trials, variance, mean) == reference


@given(n_trials=st.integers(1, 10_000), more=st.integers(1, 1000), variance=st.floats(1e-6, 1))
def test_expected_max_sharpe_properties(n_trials: int, more: int, variance: float) -> None:
    assert expected_max_sharpe(1, variance) == 0.0
    assert expected_max_sharpe(n_trials, 0.0, trial_sharpe_mean=0.3) == 0.3
    assert expected_max_sharpe(n_trials + more, variance) > expected_max_sharpe(n_trials, variance)
    assert expected_max_sharpe(n_trials, variance * 4) == pytest.approx(
        2 * expected_max_sharpe(n_trials, variance)
    )


def test_dsr_of_one_trial_is_psr_of_zero() -> None:
    returns = np.random.default_rng(3).normal(0.001, 0.01, 500)
    assert deflated_sharpe_ratio(returns, [0.1]) == pytest.approx(
        probabilistic_sharpe_ratio(returns)
    )


@given(
    sharpe=st.floats(0.02, 0.5),
    benchmark=st.floats(-0.2, 0.01),
    skew=st.floats(-2, 2),
    excess_kurtosis=st.floats(0, 10),
    confidence=st.floats(0.5, 0.999),
)
def test_minimum_track_record_length_reaches_the_confidence(
    sharpe: float, benchmark: float, skew: float, excess_kurtosis: float, confidence: float
) -> None:
    kurtosis = skew**2 + 1 + excess_kurtosis
    length = minimum_track_record_length(sharpe, skew, kurtosis, benchmark, confidence)
    assume(length >= 2)  # PSR needs two observations; a weaker ask can need fewer
    psr = probabilistic_sharpe_ratio_from_stats(sharpe, length, skew, kurtosis, benchmark)
    assert psr == pytest.approx(confidence, abs=1e-9)
    assert minimum_track_record_length(benchmark, skew, kurtosis, sharpe) == math.inf


def test_from_stats_functions_broadcast_over_grid_cells() -> None:
    sharpe = np.array([0.05, 0.1, math.nan])
    values = probabilistic_sharpe_ratio_from_stats(sharpe, np.array([500, 1000, 500]), -0.5, 5)
    assert isinstance(values, np.ndarray)
    assert values[0] == probabilistic_sharpe_ratio_from_stats(0.05, 500, -0.5, 5)
    assert values[1] == probabilistic_sharpe_ratio_from_stats(0.1, 1000, -0.5, 5)
    assert math.isnan(values[2])  # a cell that never traded has no PSR
    dsr = deflated_sharpe_ratio_from_stats(sharpe, 500, 50, 0.002)
    assert dsr.shape == (3,) and np.all(dsr[:2] < values[:2])


def test_flat_series_has_no_sharpe() -> None:
    assert math.isnan(sharpe_stats(np.zeros(50)).sharpe)
    assert math.isnan(probabilistic_sharpe_ratio(np.zeros(50)))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: probabilistic_sharpe_ratio_from_stats(0.1, 100, 0, 0), "add 3"),
        (lambda: probabilistic_sharpe_ratio_from_stats(0.1, 1), "at least 2"),
        (lambda: probabilistic_sharpe_ratio([0.01, math.nan, 0.02, 0.0]), "position 1"),
        (lambda: probabilistic_sharpe_ratio(np.zeros((5, 2))), "1-D"),
        (lambda: probabilistic_sharpe_ratio([0.01, 0.02]), "at least 3"),
        (lambda: expected_max_sharpe(0.5, 0.1), "at least 1"),
        (lambda: expected_max_sharpe(10, -0.1), "trial_sharpe_variance"),
        (lambda: deflated_sharpe_ratio(np.ones(10), [0.1, math.nan]), "trial_sharpes"),
        (lambda: minimum_track_record_length(0.1, confidence=1.0), "confidence"),
    ],
)
def test_bad_statistics_input_says_what_to_fix(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        call()


# ---- PBO by CSCV ------------------------------------------------------------------------
