"""The feature summary behind ``factory features report``, against scipy and numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from strategy_factory.features import build_feature_matrix, label_regimes, make_target
from strategy_factory.features.report import regime_distribution, summarize_features


def test_summary_against_scipy_and_numpy(sp500: pd.DataFrame) -> None:
    matrix = build_feature_matrix(sp500, features=["ret_1", "rsi_14", "vol_z_20", "dow"])
    target = make_target(sp500)
    summary = summarize_features(matrix, target)
    assert list(summary.index) == list(matrix.columns)
    for name in matrix:
        values = matrix[name]
        both = values.notna() & target.notna()
        expected_ic = spearmanr(values[both], target[both]).statistic
        assert summary.loc[name, "ic"] == pytest.approx(expected_ic, abs=1e-12)
        assert summary.loc[name, "coverage"] == values.notna().mean()
        assert summary.loc[name, "mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert summary.loc[name, "std"] == pytest.approx(values.std(), rel=1e-9)


def test_summary_of_an_empty_feature_is_nan() -> None:
    index = pd.date_range("2024-01-01", periods=5, tz="UTC")
    matrix = pd.DataFrame({"blank": np.nan, "flat": 1.0}, index=index)
    summary = summarize_features(matrix, pd.Series(np.arange(5.0), index=index))
    assert summary.loc["blank", "coverage"] == 0 and np.isnan(summary.loc["blank", "mean"])
    assert np.isnan(summary.loc["flat", "ic"])


def test_regime_distribution_counts_every_bar(sp500: pd.DataFrame) -> None:
    regimes = label_regimes(sp500.iloc[:1000])
    counts = regime_distribution(regimes)
    assert set(counts) == set(regimes.columns)
    for name, by_label in counts.items():
        assert sum(by_label.values()) == 1000
        assert by_label == regimes[name].value_counts().to_dict()
