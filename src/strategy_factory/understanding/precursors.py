"""What precedes losses: each feature's value before losing trades against before winning
ones (Mann-Whitney U, two-sided: no assumption on the features' distributions), and the
model's attribution at entry of winners against losers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from strategy_factory.understanding.attribution import BASE

# Fewer winners or losers than this and the two samples are not compared.
MIN_SIDE_TRADES = 10


@dataclass(frozen=True)
class FeatureResult:
    """One feature before losing trades against before winning ones."""

    feature: str
    losers_median: float
    winners_median: float
    losers: int
    winners: int
    p_value: float | None  # None: constant before every trade, nothing to compare


def compare_features(features: pd.DataFrame, returns: np.ndarray) -> list[FeatureResult]:
    """Every column of ``features`` (one row per trade, at its decision bar), losers
    (return ≤ 0) against winners (return > 0)."""
    winning = returns > 0
    results = []
    for name in features.columns:
        values = features[name].to_numpy(dtype=np.float64)
        losers = values[~winning & np.isfinite(values)]
        winners = values[winning & np.isfinite(values)]
        if min(losers.size, winners.size) < MIN_SIDE_TRADES:
            continue
        p_value = None
        if np.ptp(np.concatenate([losers, winners])) > 0:
            p_value = float(stats.mannwhitneyu(losers, winners, alternative="two-sided").pvalue)
        results.append(
            FeatureResult(
                feature=str(name),
                losers_median=float(np.median(losers)),
                winners_median=float(np.median(winners)),
                losers=int(losers.size),
                winners=int(winners.size),
                p_value=p_value,
            )
        )
    return results


def attribution_table(contributions: pd.DataFrame, returns: np.ndarray) -> list[dict[str, float]]:
    """Mean contribution of each feature at entry, signed by the trade's side (positive:
    it pushed toward the side taken), for winners and for losers; largest gap first."""
    winning = returns > 0
    rows = []
    for name in contributions.columns:
        if name == BASE:
            continue
        values = contributions[name].to_numpy(dtype=np.float64)
        rows.append(
            {
                "feature": str(name),
                "winners": _mean(values[winning]),
                "losers": _mean(values[~winning]),
                "mean_abs": _mean(np.abs(values)),
            }
        )
    return sorted(rows, key=lambda r: -abs(_gap(r)))


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _gap(row: dict[str, float]) -> float:
    gap = row["winners"] - row["losers"]
    return 0.0 if not np.isfinite(gap) else gap
