"""Sharpe inference (López de Prado, Lipton & Zoonekynd 2026), proven against the paper's
worked example, Monte Carlo simulation and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.tsa.stattools import acf

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import (
    additional_bars_needed,
    deflated_sharpe,
    expected_max_sharpe,
    false_discovery_rate,
    holdout_test,
    min_track_record_length,
    power,
    probabilistic_sharpe,
    probabilistic_sharpe_of_returns,
    return_moments,
    sharpe_std,
)

# The paper's worked example: monthly hedge-fund-like returns with negative skew.
SR = 0.036 / 0.079
SKEW, KURTOSIS = -2.448, 10.164


def test_paper_worked_example() -> None:
    assert round(sharpe_std(SR, SKEW, KURTOSIS, 0.2, 24), 3) == 0.379
    null_sigma = sharpe_std(0.0, SKEW, KURTOSIS, 0.2, 24)
    assert round(probabilistic_sharpe(SR, 0.0, null_sigma), 3) == 0.966
    assert round(min_track_record_length(SR, 0.0, SKEW, KURTOSIS, 0.2, alpha=0.05), 3) == 19.543
    assert round(deflated_sharpe(SR, n_trials=10, variance=0.1), 3) == 0.410


def test_authors_companion_numbers_without_autocorrelation() -> None:
    # The iid figures of the paper's companion code (github.com/zoonek/2025-sharpe-ratio).
    assert round(sharpe_std(SR, SKEW, KURTOSIS, 0.0, 24), 3) == 0.329
    assert round(sharpe_std(SR, 0.0, 3.0, 0.0, 24), 3) == 0.214
    assert round(min_track_record_length(SR, 0.0, SKEW, KURTOSIS, 0.0), 3) == 13.029
    sigma0 = sharpe_std(0.0, SKEW, KURTOSIS, 0.0, 24)
    assert round(probabilistic_sharpe(SR, 0.0, sigma0), 3) == 0.987
    miss = 1 - power(0.5, 0.0, 24, SKEW, KURTOSIS, 0.0, alpha=0.05)
    assert round(miss, 3) == 0.315
    assert round(false_discovery_rate(0.05, 1 - 0.315, prior=0.05), 3) == 0.581


def _ar1_sample_sharpes(rho: float, sharpe: float, paths: int, length: int) -> np.ndarray:
    """Sample Sharpe ratios of AR(1) paths driven by skewed innovations 1 - Exp(1)."""
    rng = np.random.default_rng(17)
    mean = sharpe / math.sqrt(1 - rho**2)  # the stationary std of x is 1 / sqrt(1 - ρ²)
    x = np.zeros(paths)
    total, squares = np.zeros(paths), np.zeros(paths)
    for t in range(length + 100):  # 100 bars of burn-in; a loop over bars, vectors over paths
        x = rho * x + 1 - rng.standard_exponential(paths)
        if t >= 100:
            total += x
            squares += x * x
    average = total / length
    std = np.sqrt((squares - length * average**2) / (length - 1))
    return (average + mean) / std


@pytest.mark.parametrize("rho", [0.0, 0.2, -0.2])
def test_sharpe_std_matches_monte_carlo_of_ar1_returns(rho: float) -> None:
    # Cumulants of 1 - Exp(1) are (1, -2, 6) for orders 2-4; an AR(1) sum scales order k by
    # 1 / (1 - ρ^k), which gives the marginal skew and Pearson kurtosis of the returns.
    variance = 1 / (1 - rho**2)
    skew = -2 / (1 - rho**3) / variance**1.5
    kurtosis = 3 + 6 / (1 - rho**4) / variance**2
    sharpes = _ar1_sample_sharpes(rho, sharpe=0.1, paths=20_000, length=1000)
    formula = sharpe_std(0.1, skew, kurtosis, rho, 1000)
    assert sharpes.std(ddof=1) == pytest.approx(formula, rel=0.05)
    # Without the autocorrelation terms the error would be off by far more than 5%.
    if rho:
        assert abs(sharpe_std(0.1, skew, kurtosis, 0.0, 1000) / formula - 1) > 0.1


@settings(max_examples=60, deadline=None)
@given(
    sharpe=st.floats(0.02, 0.5),
    benchmark=st.floats(-0.2, 0.01),
    skew=st.floats(-2, 2),
    excess_kurtosis=st.floats(0, 10),
    rho=st.floats(-0.5, 0.5),
    alpha=st.floats(0.001, 0.5),
)
def test_psr_at_min_track_record_length_is_one_minus_alpha(
    sharpe: float, benchmark: float, skew: float, excess_kurtosis: float, rho: float, alpha: float
) -> None:
    kurtosis = skew**2 + 1 + excess_kurtosis
    length = min_track_record_length(sharpe, benchmark, skew, kurtosis, rho, alpha)
    assume(length >= 2 and math.isfinite(length))
    sigma = sharpe_std(benchmark, skew, kurtosis, rho, length)
    assert probabilistic_sharpe(sharpe, benchmark, sigma) == pytest.approx(1 - alpha, abs=1e-9)
    n = math.floor(length)
    assume(n >= 2)
    more = additional_bars_needed(n, sharpe, benchmark, skew, kurtosis, rho, alpha)
    assert more == math.ceil(length) - n
    sigma_later = sharpe_std(benchmark, skew, kurtosis, rho, n + more)
    assert probabilistic_sharpe(sharpe, benchmark, sigma_later) >= 1 - alpha - 1e-12
    assert min_track_record_length(benchmark, sharpe, skew, kurtosis, rho) == math.inf


def _dsr_spread(n_trials: float, variance: float) -> float:
    """The spread DSR divides by, recovered from its value."""
    z = stats.norm.ppf(deflated_sharpe(SR, n_trials, variance))
    return float((SR - expected_max_sharpe(n_trials, variance)) / z)


@pytest.mark.parametrize(
    ("trials", "tolerance"), [(2, 0.12), (10, 0.03), (100, 0.03), (1000, 0.03)]
)
def test_expected_max_and_dsr_spread_match_monte_carlo(trials: int, tolerance: float) -> None:
    # The null of the theorem: K Sharpe estimates drawn from N(0, V), V = 0.01.
    best = np.random.default_rng(trials).normal(0.0, 0.1, (5_000, trials)).max(axis=1)
    # The False Strategy Theorem approximation is within 3% of the simulated mean maximum
    # from 10 trials on; at K = 2 it is 8% low (0.520 against E[M_2] = 1/sqrt(π) = 0.564).
    assert expected_max_sharpe(trials, 0.01) == pytest.approx(best.mean(), rel=tolerance)
    # DSR's spread √V·sd[M_K] is the simulated spread of the maximum.
    assert _dsr_spread(trials, 0.01) == pytest.approx(best.std(), rel=0.03)


def test_expected_max_of_sample_sharpe_ratios_of_null_returns() -> None:
    # Sharpe ratios estimated from 10 trials of 64 iid normal returns with no edge.
    returns = np.random.default_rng(10).standard_normal((4_000, 64, 10))
    sharpes = returns.mean(axis=1) / returns.std(axis=1, ddof=1)
    variance, best = float(sharpes.var()), sharpes.max(axis=1)
    assert expected_max_sharpe(10, variance) == pytest.approx(best.mean(), rel=0.03)
    assert _dsr_spread(10, variance) == pytest.approx(best.std(), rel=0.05)


def test_dsr_of_one_trial_is_psr_of_zero_with_sigma_root_v() -> None:
    assert deflated_sharpe(0.3, 1, 0.04) == pytest.approx(probabilistic_sharpe(0.3, 0.0, 0.2))
    assert math.isnan(deflated_sharpe(0.3, 10, 0.0))  # no spread: nothing to deflate by


@given(p=st.floats(1e-9, 1 - 1e-9), looks=st.integers(1, 500), more=st.integers(1, 100))
def test_sidak_properties(p: float, looks: int, more: int) -> None:
    sigma = 0.05
    sharpe = float(sigma * stats.norm.ppf(1 - p))
    one = holdout_test([sharpe], [sigma], looks=1)
    assert one.sidak_p_values[0] == pytest.approx(one.p_values[0], rel=1e-9, abs=1e-15)
    few = holdout_test([sharpe], [sigma], looks)
    many = holdout_test([sharpe], [sigma], looks + more)
    assert few.p_values[0] - 1e-15 <= few.sidak_p_values[0] <= looks * few.p_values[0] + 1e-15
    assert many.sidak_p_values[0] >= few.sidak_p_values[0]
    assert 0 <= many.sidak_p_values[0] <= 1


def test_sidak_holds_the_family_wise_rate_at_alpha() -> None:
    # 20,000 families of 20 independent null holdouts: any false rejection at most α of the time.
    looks, families, sigma = 20, 20_000, 0.1
    sharpes = np.random.default_rng(5).normal(0.0, sigma, (families, looks))
    any_rejected = np.array(
        [holdout_test(row, np.full(looks, sigma)).rejected.any() for row in sharpes[:500]]
    )
    p = 1 - np.asarray(probabilistic_sharpe(sharpes, 0.0, sigma))
    sidak = 1 - (1 - p.min(axis=1)) ** looks
    assert (sidak <= 0.05).mean() == pytest.approx(0.05, abs=0.006)
    assert any_rejected.mean() == pytest.approx((sidak[:500] <= 0.05).mean())


def test_sidak_stays_below_alpha_for_looks_sharing_one_holdout_period() -> None:
    # 20 configurations judged on the same holdout bars: their Sharpe ratios correlate 0.5.
    rng = np.random.default_rng(6)
    common, own = rng.standard_normal((20_000, 1)), rng.standard_normal((20_000, 20))
    sharpes = 0.1 * (math.sqrt(0.5) * common + math.sqrt(0.5) * own)
    p = 1 - np.asarray(probabilistic_sharpe(sharpes.max(axis=1), 0.0, 0.1))
    family_wise = (1 - (1 - p) ** 20 <= 0.05).mean()
    assert 0.02 < family_wise <= 0.05


def test_holdout_test_charges_every_look() -> None:
    result = holdout_test([0.3, 0.05], [0.1, 0.1], looks=40, method="deflated")
    assert result.looks == 40 and result.method == "deflated"
    assert result.deflated[0] == pytest.approx(deflated_sharpe(3.0, 40, 1.0))
    assert result.rejected.tolist() == [bool(result.deflated[0] >= 0.95), False]
    assert not holdout_test([0.1], [0.0]).rejected[0]  # undefined error: never a discovery


@given(
    sharpe0=st.floats(0.0, 0.2),
    edge=st.floats(0.001, 0.5),
    more=st.floats(0.001, 0.5),
    n=st.integers(2, 2000),
    extra=st.integers(1, 2000),
    skew=st.floats(-3, 0),
    excess_kurtosis=st.floats(0, 20),
    rho=st.floats(-0.5, 0.5),
)
def test_power_rises_with_the_true_sharpe_and_the_track_record(
    sharpe0: float,
    edge: float,
    more: float,
    n: int,
    extra: int,
    skew: float,
    excess_kurtosis: float,
    rho: float,
) -> None:
    kurtosis = skew**2 + 1 + excess_kurtosis
    args = (skew, kurtosis, rho)
    base = power(sharpe0 + edge, sharpe0, n, *args)
    assert power(sharpe0 + edge + more, sharpe0, n, *args) >= base - 1e-12
    assert power(sharpe0 + edge, sharpe0, n + extra, *args) >= base - 1e-12
    assert power(sharpe0, sharpe0, n, *args) == pytest.approx(0.05)


@given(alpha=st.floats(0.001, 0.5), power_=st.floats(0.01, 1), prior=st.floats(0.001, 0.999))
def test_false_discovery_rate(alpha: float, power_: float, prior: float) -> None:
    fdr = false_discovery_rate(alpha, power_, prior)
    assert 0 < fdr < 1
    assert fdr == pytest.approx(alpha * (1 - prior) / (alpha * (1 - prior) + power_ * prior))
    assert false_discovery_rate(alpha, power_, min(prior * 1.5, 0.999)) <= fdr + 1e-12


def test_moments_and_psr_of_a_return_series() -> None:
    rng = np.random.default_rng(8)
    returns = 0.001 + 0.01 * rng.standard_t(5, 800)
    returns[1:] += 0.3 * returns[:-1]
    moments = return_moments(returns)
    assert moments.autocorrelation == pytest.approx(acf(returns, nlags=1)[1])
    sigma = sharpe_std(0.02, moments.skew, moments.kurtosis, moments.autocorrelation, 800)
    expected = probabilistic_sharpe(moments.sharpe, 0.02, sigma)
    assert probabilistic_sharpe_of_returns(returns, 0.02) == pytest.approx(expected)
    assert math.isnan(probabilistic_sharpe_of_returns(np.zeros(50)))
    assert math.isnan(probabilistic_sharpe(0.1, 0.0, 0.0))


def test_functions_broadcast_over_grid_cells() -> None:
    sharpes = np.array([0.05, 0.1, 0.2])
    sigmas = sharpe_std(sharpes, -0.5, 5.0, 0.1, 500)
    assert isinstance(sigmas, np.ndarray) and sigmas[1] == sharpe_std(0.1, -0.5, 5.0, 0.1, 500)
    lengths = min_track_record_length(sharpes, 0.0, -0.5, 5.0, 0.1)
    assert lengths.shape == (3,) and np.all(np.diff(lengths) < 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sharpe_std(0.1, 0, 0, 0, 100), "add 3"),
        (lambda: sharpe_std(0.1, 0, 3, 1.0, 100), "autocorrelation"),
        (lambda: sharpe_std(0.1, 0, 3, 0, 1), "at least 2"),
        (lambda: probabilistic_sharpe(0.1, 0, -0.1), "sigma_sr"),
        (lambda: min_track_record_length(0.1, 0, 0, 3, 0, alpha=1.0), "alpha"),
        (lambda: deflated_sharpe(0.1, 10, -0.1), "trial_sharpe_variance"),
        (lambda: deflated_sharpe(0.1, 0.5, 0.1), "at least 1"),
        (lambda: holdout_test([0.1, 0.2], [0.1, 0.1], looks=1), "looks"),
        (lambda: holdout_test([0.1], [0.1], method="bonferroni"), "method"),
        (lambda: holdout_test([0.1, 0.2], [0.1, 0.1, 0.1]), "one shape"),  # type: ignore[arg-type]
        (lambda: power(0.2, 0, 100, 0, 3, 0, alpha=0), "alpha"),
        (lambda: false_discovery_rate(0.05, 0.8, prior=1.0), "prior"),
        (lambda: false_discovery_rate(0.05, 1.2), "power"),
    ],
)
def test_bad_input_says_what_to_fix(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FactoryError, match=message):
        call()
