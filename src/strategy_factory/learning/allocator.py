"""Capital allocator: how to split virtual capital among the promoted strategies.

Mean-variance with cvxpy over the strategies' per-period returns (columns = strategy ids,
rows = aligned periods, holdout plus forward)::

    maximise   μ'w − (λ/2)·w'Σw
    subject to Σw = 1,  w ≥ 0,  w ≤ max_weight,
               √(w'Σw) ≤ max_volatility,
               Σ_{i ∈ c} w_i ≤ max_cluster_weight  for every correlation cluster c,

with μ and Σ annualised (``periods_per_year``), so ``risk_aversion`` (λ) and
``max_volatility`` read the same on daily and hourly strategies.

The inputs (:mod:`.allocation_inputs`): strategies with too little history are left
out and named, the rest estimated on the periods where all of them have a return;
covariance shrunk by Ledoit–Wolf, means by Bayes–Stein (``mean_shrinkage``).

**Diversity.** The rule one wants — "do not hold much of two strategies whose returns
are correlated above a threshold" — is not convex (a limit on pairwise correlations of
the holdings is combinatorial). Its convex stand-in: strategies correlated at
``cluster_threshold`` or more (directly or through a chain of such pairs) form a cluster
(single linkage), and each cluster's *total* weight is capped at ``max_cluster_weight``.
It is a stand-in, not the rule: it bounds what two correlated strategies can hold
together, but says nothing about correlations below the threshold, and a chain can merge
strategies that are not themselves correlated. Single strategies are clusters of one, so
``min(max_weight, max_cluster_weight)`` caps each of them.

**Infeasible problems** give ``feasible=False``, no weights and a reason that says what
to change — never NaN weights. The impossible cases are recognised before solving (caps
that cannot add up to 1, too little common history, nothing to allocate); when the solver
finds no portfolio within ``max_volatility``, the least volatile feasible portfolio is
solved for and its volatility quoted.

Example::

    allocation = allocate(returns, AllocatorSettings(max_volatility=0.15), periods_per_year=252)
    allocation.weights          # {"s1": 0.4, "s7": 0.35, "s9": 0.25}
    diff(previous, allocation)  # added / removed / changed, turnover (.allocation_diff)
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.json_values import plain
from strategy_factory.learning.allocation_inputs import (
    Clusters,
    check_returns,
    common_window,
    correlation_clusters,
    estimate_moments,
)

if TYPE_CHECKING:
    import cvxpy as cp

# Tolerances of the constraint check on a solution (weights are clipped and renormalised
# first, so the sum is exact to rounding).
WEIGHT_TOLERANCE = 1e-6
VOLATILITY_TOLERANCE = 1e-6  # relative
# An interior-point solver leaves ~1e-10 on strategies it does not hold; those are set to
# exactly zero, so "held" means held (renormalising moves a cap by far less than 1e-6).
_NEGLIGIBLE = 1e-8
# Tighter than Clarabel's defaults (1e-8): the weights, not just the objective, are the
# answer, and a flat objective leaves them less precise than the gap.
_SOLVER_TOLERANCES = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


class AllocatorSettings(BaseModel):
    """How the allocator splits capital; every field is validated to a sensible range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    risk_aversion: float = Field(
        5.0,
        gt=0,
        le=1_000,
        allow_inf_nan=False,
        description="λ of μ'w − (λ/2)·w'Σw on annualised figures; higher prefers less risk.",
    )
    max_volatility: float | None = Field(
        0.20,
        gt=0,
        le=10,
        allow_inf_nan=False,
        description="Annualised volatility cap of the portfolio (0.2 = 20%); null for none.",
    )
    max_weight: float = Field(
        0.5, gt=0, le=1, allow_inf_nan=False, description="Cap on any one strategy's weight."
    )
    cluster_threshold: float = Field(
        0.7,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Strategies correlated at least this much (or via a chain) form a cluster.",
    )
    max_cluster_weight: float = Field(
        0.6,
        gt=0,
        le=1,
        allow_inf_nan=False,
        description="Cap on the total weight of each correlation cluster (the diversity rule).",
    )
    min_history: int = Field(
        60,
        ge=10,
        le=10_000_000,
        description="Returns a strategy needs to be allocated to; also the least common window.",
    )
    mean_shrinkage: Literal["bayes_stein", "none"] = Field(
        "bayes_stein",
        description="Shrink mean returns toward the minimum-variance portfolio's (Jorion 1986).",
    )


@dataclass(frozen=True, eq=False)
class Allocation:
    """One allocation: the weights, or the reason there are none, and the figures behind it.

    Returns and volatilities are annualised. ``mean`` and ``covariance`` are the shrunk
    estimates the problem was solved on (empty when nothing was estimated). ``periods``
    is the common window estimated on, ``dropped_periods`` the periods left out of it
    because some kept strategy had no return there.
    """

    settings: AllocatorSettings
    periods_per_year: float
    excluded: dict[Hashable, str]
    periods: int
    dropped_periods: int
    weights: dict[Hashable, float] = field(default_factory=dict)
    reason: str | None = None
    expected_return: float = math.nan
    volatility: float = math.nan
    objective: float = math.nan
    clusters: Clusters = ()
    mean: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    covariance: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance_shrinkage: float = math.nan
    mean_shrinkage: float = math.nan
    solver_status: str = "not solved"

    @property
    def feasible(self) -> bool:
        """Whether there are weights (otherwise ``reason`` says why not)."""
        return self.reason is None

    @property
    def risk_contributions(self) -> dict[Hashable, float]:
        """Each held strategy's share of the portfolio variance (they sum to 1)."""
        if not self.feasible or self.volatility == 0:
            return {}
        w = pd.Series(self.weights).reindex(self.mean.index, fill_value=0.0)
        shares = w * (self.covariance @ w) / self.volatility**2
        return {key: float(shares[key]) for key in self.weights}

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (ids become text keys; NaN becomes null)."""
        return plain(
            {
                "feasible": self.feasible,
                "weights": self.weights,
                "reason": self.reason,
                "expected_return": self.expected_return,
                "volatility": self.volatility,
                "objective": self.objective,
                "risk_contributions": self.risk_contributions,
                "clusters": [list(cluster) for cluster in self.clusters],
                "excluded": self.excluded,
                "periods": self.periods,
                "dropped_periods": self.dropped_periods,
                "covariance_shrinkage": self.covariance_shrinkage,
                "mean_shrinkage": self.mean_shrinkage,
                "periods_per_year": self.periods_per_year,
                "solver_status": self.solver_status,
                "settings": self.settings.model_dump(),
            }
        )


def allocate(
    returns: pd.DataFrame,
    settings: AllocatorSettings | None = None,
    periods_per_year: float = 252.0,
) -> Allocation:
    """Weights for the strategies in ``returns`` (columns = ids, rows = aligned periods).

    ``returns`` are simple per-period returns; NaN means "no return for that period"
    (see :mod:`.allocation_inputs` for how missing values are handled).
    ``periods_per_year`` annualises them.
    Never raises for an impossible problem: the allocation says why instead.
    """
    settings = settings or AllocatorSettings()
    check_returns(returns, periods_per_year)
    window, excluded, dropped = common_window(returns, settings.min_history)
    base = Allocation(settings, periods_per_year, excluded, len(window), dropped)
    if window.shape[1] == 0:
        return replace(base, reason=_nothing_to_allocate(returns, settings))
    if len(window) < settings.min_history:
        kept = returns[window.columns]
        return replace(base, reason=_short_common_window(kept, len(window), settings))
    mean, covariance, cov_shrinkage, mean_shrinkage = estimate_moments(
        window, periods_per_year, settings.mean_shrinkage
    )
    clusters = correlation_clusters(window, settings.cluster_threshold)
    base = replace(
        base,
        mean=mean,
        covariance=covariance,
        covariance_shrinkage=cov_shrinkage,
        mean_shrinkage=mean_shrinkage,
        clusters=clusters,
    )
    reason = _capacity_problem(clusters, settings)
    return replace(base, reason=reason) if reason else _solve(base)


def _nothing_to_allocate(returns: pd.DataFrame, settings: AllocatorSettings) -> str:
    if returns.shape[1] == 0:
        return "no strategies to allocate to: promote some first"
    return (
        f"none of the {returns.shape[1]} strategies can be allocated to (each needs at least "
        f"min_history {settings.min_history} varying returns): wait for more forward bars "
        "or lower min_history"
    )


def _short_common_window(returns: pd.DataFrame, common: int, settings: AllocatorSettings) -> str:
    counts = returns.notna().sum()
    return (
        f"only {common} periods where all {returns.shape[1]} strategies have returns "
        f"(min_history {settings.min_history}); {counts.idxmin()} has the fewest "
        f"({counts.min()}): wait for more forward bars or lower min_history"
    )


def _capacity_problem(clusters: Clusters, settings: AllocatorSettings) -> str | None:
    """Why the caps cannot add up to 1, if they cannot (checked exactly: clusters partition)."""
    n = sum(len(c) for c in clusters)
    if n * settings.max_weight < 1 - WEIGHT_TOLERANCE:
        strategies = _count(n, "strategy", "strategies")
        return (
            f"caps sum to {n * settings.max_weight:.4g} < 1 ({strategies} × max_weight "
            f"{settings.max_weight:g}): raise max_weight or promote more strategies"
        )
    capacity = sum(min(settings.max_cluster_weight, len(c) * settings.max_weight) for c in clusters)
    if capacity < 1 - WEIGHT_TOLERANCE:
        groups = _count(len(clusters), "correlation cluster", "correlation clusters")
        return (
            f"cluster caps sum to {capacity:.4g} < 1 ({groups} × "
            f"max_cluster_weight {settings.max_cluster_weight:g}): raise max_cluster_weight, "
            "raise cluster_threshold or promote less correlated strategies"
        )
    return None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _solve(base: Allocation) -> Allocation:
    """``base`` (estimated, caps known to be satisfiable) with its weights, or why none."""
    import cvxpy as cp  # a second to import: only when there is something to solve

    settings, columns, clusters = base.settings, list(base.mean.index), base.clusters
    mu, sigma = base.mean.to_numpy(), base.covariance.to_numpy()
    w = cp.Variable(len(columns), nonneg=True)
    risk = _square_root(sigma).T @ w  # w'Σw = |risk|²
    objective = cp.Maximize(mu @ w - settings.risk_aversion / 2 * cp.sum_squares(risk))
    constraints = [cp.sum(w) == 1, *_linear_caps(w, columns, clusters, settings)]
    if settings.max_volatility is not None:
        constraints.append(cp.norm(risk, 2) <= settings.max_volatility)
    status = _run(cp.Problem(objective, constraints))
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        reason = _why_unsolved(status, risk, constraints, settings)
        return replace(base, reason=reason, solver_status=status)
    weights = np.clip(np.asarray(w.value, dtype=float), 0.0, None)
    weights[weights < _NEGLIGIBLE] = 0.0
    weights /= weights.sum()
    broken = _violation(weights, sigma, columns, clusters, settings)
    if broken:
        return replace(
            base, reason=f"the solver's answer ({status}) {broken}", solver_status=status
        )
    variance = float(weights @ sigma @ weights)
    expected = float(mu @ weights)
    return replace(
        base,
        weights={column: float(x) for column, x in zip(columns, weights, strict=True) if x > 0},
        expected_return=expected,
        volatility=variance**0.5,
        objective=expected - settings.risk_aversion / 2 * variance,
        solver_status=status,
    )


def _linear_caps(
    w: cp.Variable,
    columns: list[Hashable],
    clusters: Clusters,
    settings: AllocatorSettings,
) -> list[cp.Constraint]:
    import cvxpy as cp

    caps: list[cp.Constraint] = [w <= settings.max_weight]
    position = {column: i for i, column in enumerate(columns)}
    for cluster in clusters:
        if len(cluster) * settings.max_weight > settings.max_cluster_weight:
            members = [position[column] for column in cluster]
            caps.append(cp.sum(w[members]) <= settings.max_cluster_weight)
    return caps


def _run(problem: cp.Problem) -> str:
    import cvxpy as cp

    try:
        problem.solve(solver=cp.CLARABEL, **_SOLVER_TOLERANCES)
    except cp.SolverError as exc:
        return f"solver error: {exc}"
    return str(problem.status)


def _why_unsolved(
    status: str,
    risk: cp.Expression,
    constraints: list[cp.Constraint],
    settings: AllocatorSettings,
) -> str:
    """The reason to show for an unsolved problem; the volatility cap is checked first."""
    import cvxpy as cp

    if settings.max_volatility is not None:
        least = cp.Problem(cp.Minimize(cp.norm(risk, 2)), constraints[:-1])
        if _run(least) in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            lowest = float(least.value)
            if lowest > settings.max_volatility * (1 - VOLATILITY_TOLERANCE):
                return (
                    f"the least volatile feasible portfolio has {lowest:.1%} volatility > max "
                    f"{settings.max_volatility:.1%}: raise max_volatility, or loosen the caps "
                    "that keep weight on volatile strategies"
                )
    return f"the solver found no allocation (status {status}); the caps and data may be extreme"


def _violation(
    weights: np.ndarray,
    sigma: np.ndarray,
    columns: list[Hashable],
    clusters: Clusters,
    settings: AllocatorSettings,
) -> str | None:
    """A constraint the cleaned weights break beyond tolerance, in words; None when all hold."""
    if weights.max() > settings.max_weight + WEIGHT_TOLERANCE:
        return f"puts {weights.max():.6f} on one strategy > max_weight {settings.max_weight:g}"
    position = {column: i for i, column in enumerate(columns)}
    for cluster in clusters:
        total = weights[[position[c] for c in cluster]].sum()
        if total > settings.max_cluster_weight + WEIGHT_TOLERANCE:
            return f"puts {total:.6f} on one cluster > max_cluster_weight"
    volatility = float(weights @ sigma @ weights) ** 0.5
    cap = settings.max_volatility
    if cap is not None and volatility > cap * (1 + VOLATILITY_TOLERANCE):
        return f"has volatility {volatility:.6f} > max_volatility {cap:g}"
    return None


def _square_root(sigma: np.ndarray) -> np.ndarray:
    """F with F·F' = Σ, from the eigen decomposition (safe for a nearly singular Σ)."""
    values, vectors = np.linalg.eigh(sigma)
    return vectors * np.sqrt(np.clip(values, 0.0, None))
