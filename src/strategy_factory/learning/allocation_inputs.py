"""What the allocator is solved on: the common window of returns, shrunk moments, clusters.

**Missing values.** NaN in a strategy's returns means "no return for that period" (not
yet promoted, or no forward bar yet). A strategy with fewer than ``min_history`` returns
is left out, and so is one whose returns never vary; both are named with the reason.
The rest are estimated on the periods where *all* of them have a return (complete
cases): a strategy promoted later shortens the common window instead of having its
missing periods invented (as zeros or by pairwise estimates, which can give a covariance
that is not positive semi-definite). The periods dropped that way are counted.

**Covariance** is shrunk by Ledoit–Wolf (scikit-learn) toward a scaled identity: with a
few hundred periods and tens of strategies the sample covariance is noisy, and its
smallest eigenvalues — the directions mean-variance loves most — are the most
underestimated.

**Mean** is shrunk too, by default (Jorion 1986, "Bayes-Stein estimation for portfolio
analysis"): each strategy's mean is pulled toward the mean of the minimum-variance
portfolio, ``μ₀ = 1'Σ⁻¹m / 1'Σ⁻¹1``, by the intensity
``φ = (N+2) / ((N+2) + T·(m − μ₀)'Σ⁻¹(m − μ₀))``. Sample means are far noisier than
covariances (their error does not shrink with finer bars) and mean-variance weights
amplify their errors; promoted strategies also passed a selection on their holdout, so
their means carry a winner's curse that shrinking toward a common value partly undoes.

**Clusters** (the diversity rule's groups): single linkage on the distance ``1 − ρ``
(scipy.cluster.hierarchy) cut at ``1 − threshold``, so any two strategies correlated at
``threshold`` or more — directly or through a chain of such pairs — share a cluster. ρ
is the sample correlation over the common window (Ledoit–Wolf would shrink it toward
zero and merge less).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError

Clusters = tuple[tuple[Hashable, ...], ...]


def check_returns(returns: pd.DataFrame, periods_per_year: float) -> None:
    """Raise a :class:`FactoryError` naming what is wrong with a returns table."""
    if not isinstance(returns, pd.DataFrame):
        raise FactoryError(
            f"returns must be a DataFrame (columns = strategy ids), got {type(returns).__name__}"
        )
    if not np.isfinite(periods_per_year) or periods_per_year <= 0:
        raise FactoryError(f"periods_per_year must be a positive number, got {periods_per_year}")
    if returns.columns.has_duplicates:
        duplicated = sorted({str(c) for c in returns.columns[returns.columns.duplicated()]})
        raise FactoryError(f"returns name strategies twice: {', '.join(duplicated)}")
    non_numeric = [
        str(c) for c, kind in returns.dtypes.items() if not pd.api.types.is_numeric_dtype(kind)
    ]
    if non_numeric:
        raise FactoryError(f"returns of {', '.join(non_numeric)} are not numbers")
    infinite = [str(c) for c in returns.columns if np.isinf(returns[c].to_numpy(dtype=float)).any()]
    if infinite:
        raise FactoryError(f"returns of {', '.join(infinite)} hold infinite values: fix the data")


def common_window(
    returns: pd.DataFrame, min_history: int
) -> tuple[pd.DataFrame, dict[Hashable, str], int]:
    """(complete-case window of the kept strategies, excluded id → reason, periods dropped)."""
    counts = returns.notna().sum()
    spread = returns.std(ddof=0)
    excluded: dict[Hashable, str] = {}
    for column in returns.columns:
        if counts[column] < min_history:
            excluded[column] = f"{counts[column]} returns < min_history {min_history}"
        elif not spread[column] > 0:
            excluded[column] = "its returns never vary (no trades?)"
    kept = returns[[c for c in returns.columns if c not in excluded]]
    window = kept.dropna()
    return window, excluded, len(kept) - len(window) if kept.shape[1] else 0


def estimate_moments(
    window: pd.DataFrame,
    periods_per_year: float,
    mean_shrinkage: Literal["bayes_stein", "none"] = "bayes_stein",
) -> tuple[pd.Series, pd.DataFrame, float, float]:
    """Annualised (mean, covariance) of complete returns, shrunk; and both intensities.

    Returns ``(mean, covariance, ledoit_wolf_shrinkage, bayes_stein_phi)``; φ is 0 when
    means are not shrunk. Shrinkage is computed per period, then figures are annualised.
    """
    from sklearn.covariance import LedoitWolf  # imported when needed: settings load without it

    values = window.to_numpy(dtype=float)
    fitted = LedoitWolf().fit(values)
    covariance = fitted.covariance_
    mean = values.mean(axis=0)
    phi = 0.0
    if mean_shrinkage == "bayes_stein":
        mean, phi = bayes_stein(mean, covariance, len(values))
    columns = window.columns
    return (
        pd.Series(mean * periods_per_year, index=columns),
        pd.DataFrame(covariance * periods_per_year, index=columns, columns=columns),
        float(fitted.shrinkage_),
        phi,
    )


def bayes_stein(mean: np.ndarray, covariance: np.ndarray, periods: int) -> tuple[np.ndarray, float]:
    """Jorion's Bayes–Stein means (toward the minimum-variance portfolio's mean) and φ."""
    inverse = np.linalg.pinv(covariance, hermitian=True)
    ones = np.ones(len(mean))
    target = (ones @ inverse @ mean) / (ones @ inverse @ ones)
    gap = mean - target
    n = len(mean)
    phi = (n + 2) / ((n + 2) + periods * float(gap @ inverse @ gap))
    return (1 - phi) * mean + phi * target, float(phi)


def correlation_clusters(window: pd.DataFrame, threshold: float) -> Clusters:
    """Strategies linked by correlations of at least ``threshold`` (single linkage).

    Clusters are listed largest first, members in column order.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    columns = list(window.columns)
    if len(columns) == 1:
        return ((columns[0],),)
    correlation = np.corrcoef(window.to_numpy(dtype=float), rowvar=False)
    distance = np.clip(1.0 - correlation, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="single")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    groups: dict[int, list[Hashable]] = {}
    for column, label in zip(columns, labels, strict=True):
        groups.setdefault(int(label), []).append(column)
    return tuple(sorted((tuple(g) for g in groups.values()), key=len, reverse=True))
