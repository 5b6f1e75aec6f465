"""The capital allocator: every constraint holds, the weights are scipy's (SLSQP), and an
impossible problem says why — checked on random instances against independent solves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import optimize
from scipy.sparse.csgraph import connected_components
from skfolio.moments import LedoitWolf as SkfolioLedoitWolf
from skfolio.moments import ShrunkMu, ShrunkMuMethods

from strategy_factory.errors import FactoryError
from strategy_factory.learning.allocation_inputs import correlation_clusters, estimate_moments
from strategy_factory.learning.allocator import Allocation, AllocatorSettings, allocate

INSTANCES = 40
# Clarabel (gaps 1e-9) and SLSQP (ftol 1e-12) agree to these on every instance; the
# largest differences seen are 5e-6 in a weight and 1.2e-10 in the objective (annualised).
WEIGHT_AGREEMENT = 2e-5
OBJECTIVE_AGREEMENT = 1e-9


def random_returns(rng: np.random.Generator, strategies: int, periods: int) -> pd.DataFrame:
    """Daily-like strategy returns from a few common factors, so some strategies cluster."""
    factors = rng.normal(0, 0.01, (periods, 3))
    loadings = rng.normal(0, 1, (strategies, 3)) * (rng.random((strategies, 3)) < 0.4)
    noise = rng.normal(0, 0.01, (periods, strategies)) * rng.uniform(0.3, 2, strategies)
    drift = rng.normal(0.0004, 0.0004, strategies)
    columns = [f"s{i}" for i in range(strategies)]
    return pd.DataFrame(drift + factors @ loadings.T + noise, columns=columns)


def random_settings(rng: np.random.Generator, strategies: int) -> AllocatorSettings:
    return AllocatorSettings(
        risk_aversion=float(np.exp(rng.uniform(np.log(0.5), np.log(50)))),
        max_volatility=None if rng.random() < 0.2 else float(rng.uniform(0.04, 0.3)),
        max_weight=float(rng.uniform(max(0.8 / strategies, 0.1), 1.0)),
        cluster_threshold=float(rng.uniform(0.2, 0.9)),
        max_cluster_weight=float(rng.uniform(0.3, 1.0)),
        min_history=30,
        mean_shrinkage="bayes_stein" if rng.random() < 0.5 else "none",
    )


def instances() -> list[tuple[pd.DataFrame, AllocatorSettings]]:
    rng = np.random.default_rng(2024)
    cases = []
    for _ in range(INSTANCES):
        strategies = int(rng.integers(1, 11))
        returns = random_returns(rng, strategies, int(rng.integers(60, 400)))
        cases.append((returns, random_settings(rng, strategies)))
    return cases


def scipy_solution(allocation: Allocation) -> tuple[np.ndarray, float]:
    """The same problem solved by SLSQP from its estimates: (weights, objective)."""
    settings = allocation.settings
    mu, sigma = allocation.mean.to_numpy(), allocation.covariance.to_numpy()
    position = {column: i for i, column in enumerate(allocation.mean.index)}
    half_lambda = settings.risk_aversion / 2

    def negative_objective(w: np.ndarray) -> float:
        return -(mu @ w - half_lambda * w @ sigma @ w)

    def gradient(w: np.ndarray) -> np.ndarray:
        return -(mu - 2 * half_lambda * sigma @ w)

    constraints = [{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": np.ones_like}]
    if settings.max_volatility is not None:
        cap = settings.max_volatility**2
        constraints.append(
            {"type": "ineq", "fun": lambda w: cap - w @ sigma @ w, "jac": lambda w: -2 * sigma @ w}
        )
    for cluster in allocation.clusters:
        mask = np.zeros(len(mu))
        mask[[position[c] for c in cluster]] = 1.0
        constraints.append(
            {
                "type": "ineq",
                "fun": lambda w, m=mask: settings.max_cluster_weight - m @ w,
                "jac": lambda w, m=mask: -m,
            }
        )
    result = optimize.minimize(
        negative_objective,
        np.full(len(mu), 1 / len(mu)),
        jac=gradient,
        method="SLSQP",
        bounds=[(0, settings.max_weight)] * len(mu),
        constraints=constraints,
        options={"ftol": 1e-12, "maxiter": 1_000},
    )
    assert result.success, result.message
    return result.x, -result.fun


def dense_weights(allocation: Allocation) -> np.ndarray:
    return pd.Series(allocation.weights).reindex(allocation.mean.index, fill_value=0.0).to_numpy()


def assert_constraints_hold(allocation: Allocation) -> None:
    settings, weights = allocation.settings, dense_weights(allocation)
    assert abs(weights.sum() - 1) <= 1e-6
    assert weights.min() >= 0
    assert weights.max() <= settings.max_weight + 1e-6
    volatility = float(np.sqrt(weights @ allocation.covariance.to_numpy() @ weights))
    assert volatility == pytest.approx(allocation.volatility, rel=1e-9)
    if settings.max_volatility is not None:
        assert volatility <= settings.max_volatility * (1 + 1e-6)
    for cluster in allocation.clusters:
        assert sum(allocation.weights.get(c, 0.0) for c in cluster) <= (
            settings.max_cluster_weight + 1e-6
        )


def test_weights_satisfy_every_constraint_and_match_scipy() -> None:
    feasible = 0
    for returns, settings in instances():
        allocation = allocate(returns, settings)
        json.dumps(allocation.to_json(), allow_nan=False)
        if not allocation.feasible:
            assert allocation.reason and not allocation.weights
            continue
        feasible += 1
        assert_constraints_hold(allocation)
        weights, objective = scipy_solution(allocation)
        assert np.abs(dense_weights(allocation) - weights).max() <= WEIGHT_AGREEMENT
        assert allocation.objective == pytest.approx(objective, abs=OBJECTIVE_AGREEMENT)
        assert allocation.objective >= objective - 1e-9  # never worse than scipy's
    assert feasible >= INSTANCES // 2  # the comparison is not vacuous


def test_an_infeasible_verdict_is_true() -> None:
    """Where the allocator gives up, scipy finds no portfolio either."""
    judged = 0
    for returns, settings in instances():
        allocation = allocate(returns, settings)
        if allocation.feasible:
            continue
        judged += 1
        assert "nan" not in allocation.reason.lower()
        if allocation.reason.startswith(("caps sum", "cluster caps sum")):
            assert _most_investable(allocation) < 1 - 1e-9
        else:
            assert allocation.reason.startswith("the least volatile feasible portfolio")
            assert _least_volatility(allocation) > settings.max_volatility
    assert judged >= 3


def _most_investable(allocation: Allocation) -> float:
    """The largest total weight the caps allow, by linear programming."""
    settings, columns = allocation.settings, list(allocation.mean.index)
    rows = [[1.0 if c in cluster else 0.0 for c in columns] for cluster in allocation.clusters]
    result = optimize.linprog(
        -np.ones(len(columns)),
        A_ub=np.array(rows),
        b_ub=np.full(len(rows), settings.max_cluster_weight),
        bounds=[(0, settings.max_weight)] * len(columns),
    )
    return -result.fun


def _least_volatility(allocation: Allocation) -> float:
    """The lowest volatility any portfolio within the caps reaches, by SLSQP."""
    settings, sigma = allocation.settings, allocation.covariance.to_numpy()
    columns = list(allocation.mean.index)
    masks = [np.array([c in cluster for c in columns], float) for cluster in allocation.clusters]
    constraints = [{"type": "eq", "fun": lambda w: w.sum() - 1}] + [
        {"type": "ineq", "fun": lambda w, m=mask: settings.max_cluster_weight - m @ w}
        for mask in masks
    ]
    result = optimize.minimize(
        lambda w: w @ sigma @ w,
        np.full(len(columns), 1 / len(columns)),
        jac=lambda w: 2 * sigma @ w,
        method="SLSQP",
        bounds=[(0, settings.max_weight)] * len(columns),
        constraints=constraints,
        options={"ftol": 1e-15, "maxiter": 1_000},
    )
    assert result.success, result.message
    return float(np.sqrt(result.fun))


def test_clusters_are_the_components_of_the_correlation_graph() -> None:
    """Single linkage at t joins exactly the strategies linked by correlations ≥ t."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        returns = random_returns(rng, int(rng.integers(2, 12)), 200)
        threshold = float(rng.uniform(0.1, 0.9))
        clusters = correlation_clusters(returns, threshold)
        linked = returns.corr().to_numpy() >= threshold
        count, labels = connected_components(linked, directed=False)
        assert len(clusters) == count
        for cluster in clusters:
            members = [returns.columns.get_loc(c) for c in cluster]
            assert len({labels[i] for i in members}) == 1


def test_means_are_jorions_bayes_stein_as_skfolio_computes_it() -> None:
    rng = np.random.default_rng(3)
    returns = random_returns(rng, 6, 250)
    mean, covariance, _, phi = estimate_moments(returns, 252.0, "bayes_stein")
    reference = ShrunkMu(
        covariance_estimator=SkfolioLedoitWolf(),
        vol_weighted_target=True,
        method=ShrunkMuMethods.BAYES_STEIN,
    ).fit(returns.to_numpy())
    np.testing.assert_allclose(mean.to_numpy(), reference.mu_ * 252, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(
        covariance.to_numpy(), reference.covariance_estimator_.covariance_ * 252, rtol=1e-10
    )
    assert phi == pytest.approx(reference.beta_, rel=1e-10)
    plain_mean, *_ = estimate_moments(returns, 252.0, "none")
    np.testing.assert_allclose(plain_mean.to_numpy(), returns.mean().to_numpy() * 252)


def test_missing_values_shorten_the_common_window_and_short_histories_are_excluded() -> None:
    returns = random_returns(np.random.default_rng(5), 5, 300)
    returns.iloc[:100, 3] = np.nan  # promoted later
    returns.iloc[:270, 4] = np.nan  # 30 returns only
    returns.iloc[150, 0] = np.nan  # one missing bar
    allocation = allocate(returns, AllocatorSettings(max_volatility=None, min_history=60))
    assert allocation.feasible
    assert allocation.excluded == {"s4": "30 returns < min_history 60"}
    assert allocation.periods == 199
    assert allocation.dropped_periods == 101
    assert "s4" not in allocation.weights
    complete = returns[["s0", "s1", "s2", "s3"]].dropna()
    expected_mean, *_ = estimate_moments(complete, 252.0)
    pd.testing.assert_series_equal(allocation.mean, expected_mean)


def test_a_short_common_window_names_the_strategy_with_fewest_returns() -> None:
    returns = random_returns(np.random.default_rng(6), 3, 120)
    returns.iloc[:60, 2] = np.nan
    returns.iloc[-30:, 1] = np.nan
    allocation = allocate(returns, AllocatorSettings(min_history=60))
    assert allocation.excluded == {}
    assert allocation.reason.startswith("only 30 periods where all 3 strategies have returns")
    assert "s2 has the fewest (60)" in allocation.reason


def test_flat_strategies_are_excluded_and_none_left_is_said() -> None:
    returns = pd.DataFrame({"flat": np.zeros(100), "short": [0.01, -0.01] * 10 + [np.nan] * 80})
    allocation = allocate(returns, AllocatorSettings(min_history=60))
    assert allocation.excluded == {
        "flat": "its returns never vary (no trades?)",
        "short": "20 returns < min_history 60",
    }
    assert allocation.reason.startswith("none of the 2 strategies can be allocated to")
    json.dumps(allocation.to_json(), allow_nan=False)


def test_no_strategy_at_all() -> None:
    allocation = allocate(pd.DataFrame(index=range(100)))
    assert allocation.reason == "no strategies to allocate to: promote some first"
    assert allocation.weights == {}


def test_one_strategy_takes_everything_when_the_caps_allow() -> None:
    returns = random_returns(np.random.default_rng(8), 1, 200)
    loose = AllocatorSettings(max_weight=1, max_cluster_weight=1, max_volatility=None)
    allocation = allocate(returns, loose)
    assert allocation.weights == {"s0": 1.0}
    assert allocation.volatility == pytest.approx(returns["s0"].std(ddof=0) * np.sqrt(252))
    capped = allocate(returns, AllocatorSettings(max_cluster_weight=1))
    assert capped.reason == (
        "caps sum to 0.5 < 1 (1 strategy × max_weight 0.5): raise max_weight or promote "
        "more strategies"
    )


def test_a_volatility_cap_below_the_least_volatile_portfolio_quotes_it() -> None:
    returns = random_returns(np.random.default_rng(8), 1, 200)
    volatility = returns["s0"].std(ddof=0) * np.sqrt(252)  # Ledoit–Wolf keeps one variance
    cap = volatility / 2
    settings = AllocatorSettings(max_weight=1, max_cluster_weight=1, max_volatility=cap)
    allocation = allocate(returns, settings)
    assert allocation.reason.startswith(
        f"the least volatile feasible portfolio has {volatility:.1%} volatility > max {cap:.1%}"
    )
    assert allocation.solver_status == "infeasible"


def test_cluster_caps_are_said_when_they_cannot_add_up() -> None:
    rng = np.random.default_rng(9)
    market = rng.normal(0, 0.01, (200, 1))
    returns = pd.DataFrame(market + rng.normal(0, 0.01, (200, 4)), columns=["a", "b", "c", "d"])
    settings = AllocatorSettings(cluster_threshold=0.3, max_cluster_weight=0.5, max_weight=0.5)
    allocation = allocate(returns, settings)
    assert allocation.clusters == (("a", "b", "c", "d"),)  # all about 0.5 correlated
    assert allocation.reason.startswith("cluster caps sum to 0.5 < 1 (1 correlation cluster ×")


def test_the_diversity_rule_limits_what_correlated_strategies_hold_together() -> None:
    """Two near-copies of the best strategy would take most of the capital without it."""
    rng = np.random.default_rng(11)
    best = rng.normal(0.0012, 0.01, 500)
    returns = pd.DataFrame(
        {
            "best": best,
            "copy": best + rng.normal(0, 0.002, 500),
            **{f"other{i}": rng.normal(0.0004, 0.01, 500) for i in range(3)},
        }
    )
    free = AllocatorSettings(max_cluster_weight=1, max_volatility=None, mean_shrinkage="none")
    unruled = allocate(returns, free)
    assert unruled.weights["best"] + unruled.weights["copy"] > 0.6
    ruled = allocate(returns, free.model_copy(update={"max_cluster_weight": 0.4}))
    assert ("best", "copy") in ruled.clusters
    assert ruled.weights["best"] + ruled.weights["copy"] == pytest.approx(0.4, abs=1e-6)


@pytest.mark.parametrize(
    "field",
    [
        {"risk_aversion": 0},
        {"max_volatility": -0.1},
        {"max_weight": 1.5},
        {"cluster_threshold": 1.2},
        {"max_cluster_weight": 0},
        {"min_history": 2},
        {"risk_aversion": float("nan")},
        {"mean_shrinkage": "james_stein"},
        {"max_weigth": 0.3},
    ],
)
def test_settings_out_of_range_are_refused(field: dict) -> None:
    with pytest.raises(ValidationError):
        AllocatorSettings(**field)


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        (np.zeros((100, 2)), "returns must be a DataFrame"),
        (pd.DataFrame([[0.1, 0.2]] * 100, columns=["a", "a"]), "name strategies twice: a"),
        (pd.DataFrame({"a": ["x"] * 100}), "returns of a are not numbers"),
        (pd.DataFrame({"a": [np.inf] + [0.0] * 99}), "returns of a hold infinite values"),
    ],
)
def test_bad_returns_are_refused_with_what_to_fix(returns: object, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        allocate(returns)  # type: ignore[arg-type]


def test_periods_per_year_must_be_positive() -> None:
    returns = random_returns(np.random.default_rng(1), 2, 100)
    with pytest.raises(FactoryError, match="periods_per_year must be a positive number"):
        allocate(returns, periods_per_year=0)
