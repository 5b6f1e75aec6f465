"""A first look at a feature matrix: coverage, moments, rank correlation with the next return."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata


def information_coefficient(feature: np.ndarray, target: np.ndarray) -> float:
    """Spearman rank correlation of ``feature`` with ``target`` over bars where both are finite."""
    both = np.isfinite(feature) & np.isfinite(target)
    if both.sum() < 3:
        return float("nan")
    x, y = rankdata(feature[both]), rankdata(target[both])
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def summarize_features(matrix: pd.DataFrame, target: pd.Series) -> pd.DataFrame:
    """One row per feature: ``coverage`` (share of finite bars), ``mean``, ``std``, ``ic``.

    ``ic`` is the information coefficient against ``target`` (aligned on the index),
    typically the next bar's log return from :func:`make_target`. It is in-sample and
    says nothing about significance; it is a smoke test, not a selection criterion.
    """
    aligned_target = target.reindex(matrix.index).to_numpy(dtype=np.float64)
    values = matrix.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(finite, values, 0.0).sum(axis=0) / count
        squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
        std = np.sqrt(squares / (count - 1))
    ic = [information_coefficient(values[:, i], aligned_target) for i in range(values.shape[1])]
    return pd.DataFrame(
        {"coverage": count / max(len(values), 1), "mean": mean, "std": std, "ic": ic},
        index=pd.Index(matrix.columns, name="feature"),
    )


def regime_distribution(regimes: pd.DataFrame) -> dict[str, dict[int, int]]:
    """How many bars carry each label, per regime column (-1: undefined)."""
    return {
        name: {
            int(label): int(count)
            for label, count in zip(*np.unique(column, return_counts=True), strict=True)
        }
        for name, column in regimes.items()
    }
