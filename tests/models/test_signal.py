"""The signal screen: rank IC against scipy, constant models, and the test's error rates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from strategy_factory.models.scoring import rank_ic_columns
from strategy_factory.models.signal import signal_test


@settings(max_examples=40, deadline=None)
@given(st.integers(5, 300), st.integers(0, 2**16), st.booleans())
def test_rank_ic_is_spearmans_correlation(rows: int, seed: int, ties: bool) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows)
    predictions = rng.normal(size=(rows, 3))
    if ties:
        predictions = np.round(predictions)  # many tied ranks
    found = rank_ic_columns(y, predictions)
    for column in range(3):
        expected = stats.spearmanr(predictions[:, column], y).statistic
        if np.ptp(predictions[:, column]) == 0:
            assert np.isnan(found[column])
        else:
            assert found[column] == pytest.approx(expected, abs=1e-12)


def test_a_constant_prediction_has_no_rank() -> None:
    y = np.arange(10.0)
    assert np.isnan(rank_ic_columns(y, np.full((10, 1), 0.3))[0])
    test = signal_test([(y, np.full(10, 0.3))], np.full(50, 0.3))
    assert test.constant and not test.usable
    assert "predicts a constant" in test.describe()


def _folds(rng: np.random.Generator, ic: float, rows: int = 2000, folds: int = 3) -> list:
    found = []
    for _ in range(folds):
        signal = rng.normal(size=rows)
        y = ic * signal + np.sqrt(1 - ic**2) * rng.normal(size=rows)
        found.append((y, signal))
    return found


def test_false_alarms_and_detection_rates() -> None:
    rng = np.random.default_rng(5)
    fitted = rng.normal(size=100)
    null = [signal_test(_folds(rng, 0.0), fitted).usable for _ in range(400)]
    assert 0.02 <= np.mean(null) <= 0.09  # about the test's 5% on pure noise
    weak = [signal_test(_folds(rng, 0.05), fitted).usable for _ in range(200)]
    assert np.mean(weak) >= 0.9  # a 0.05 correlation over 6,000 rows is found
    # Overlapping targets (horizon 20) hold about a twentieth of the independent rows.
    overlapping = [signal_test(_folds(rng, 0.0), fitted, horizon=20).usable for _ in range(200)]
    assert np.mean(overlapping) <= 0.1
    folds = _folds(rng, 0.05)
    alone, overlapped = signal_test(folds, fitted), signal_test(folds, fitted, horizon=20)
    assert overlapped.z == pytest.approx(alone.z * np.sqrt((2000 / 20 - 3) / (2000 - 3)))
