"""Purged walk-forward folds: no training target reaches a validation bar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.models import WalkForward, walk_forward_folds


def hourly(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", periods=n, freq="1h", tz="UTC")


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(60, 3000),
    folds=st.integers(1, 6),
    horizon=st.integers(1, 10),
    embargo=st.integers(0, 5),
    rolling=st.booleans(),
    test_share=st.floats(0.02, 0.2),
)
def test_no_training_target_overlaps_a_validation_bar(
    n: int, folds: int, horizon: int, embargo: int, rolling: bool, test_share: float
) -> None:
    test_window = max(1, int(n * test_share))
    scheme = {"scheme": "rolling", "train_window": n // 4} if rolling else {}
    walk_forward = WalkForward(folds=folds, test_window=test_window, embargo=embargo, **scheme)
    try:
        found = walk_forward_folds(hourly(n), walk_forward, horizon)
    except FactoryError:
        return  # too little data for this layout is a user error, tested below
    assert len(found) == folds
    for fold in found:
        # The target at t covers bars t..t+horizon: it must end before validation starts.
        assert fold.train.max() + horizon + embargo < fold.validation.min()
        assert np.all(np.diff(fold.train) == 1) and np.all(np.diff(fold.validation) == 1)
        assert fold.validation.size == test_window
        if rolling:
            assert fold.train.size <= n // 4
    validations = np.concatenate([f.validation for f in found])
    assert np.array_equal(validations, np.arange(n - folds * test_window, n))


def test_fold_layout_example() -> None:
    found = walk_forward_folds(hourly(1000), WalkForward(folds=4, test_window=100), horizon=1)
    assert [(f.train[0], f.train[-1], f.validation[0], f.validation[-1]) for f in found] == [
        (0, 598, 600, 699),
        (0, 698, 700, 799),
        (0, 798, 800, 899),
        (0, 898, 900, 999),
    ]


def test_default_test_window_splits_into_folds_plus_one_parts() -> None:
    found = walk_forward_folds(hourly(500), WalkForward(folds=4), horizon=3)
    assert [f.validation.size for f in found] == [100] * 4
    assert found[0].train[-1] == 96


def test_time_span_windows_on_a_gappy_daily_calendar() -> None:
    index = pd.bdate_range("2015-01-01", "2019-12-31", tz="UTC")
    walk_forward = WalkForward(
        folds=2, test_window="365D", scheme="rolling", train_window="730D", embargo=2
    )
    found = walk_forward_folds(index, walk_forward, horizon=5)
    last = found[-1]
    assert index[last.validation[-1]] == index[-1]
    assert index[last.validation[0]] > index[-1] - pd.Timedelta("365D")
    assert index[last.validation[0] - 1] <= index[-1] - pd.Timedelta("365D")
    assert last.train[-1] == last.validation[0] - 5 - 2 - 1
    span = pd.Timedelta("730D")
    assert index[last.train[-1]] - index[last.train[0]] < span
    assert index[last.train[-1]] - index[last.train[0] - 1] >= span


@pytest.mark.parametrize(
    ("walk_forward", "message"),
    [
        (WalkForward(folds=5, test_window=100), "do not fit in 300 usable bars"),
        (WalkForward(folds=2, test_window=140), "fold 1 has no training rows left"),
        (WalkForward(folds=2, test_window=50, train_window=500), "less than train_window=500"),
    ],
)
def test_impossible_layouts_say_what_to_change(walk_forward: WalkForward, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        walk_forward_folds(hourly(300), walk_forward, horizon=20)


def test_rolling_needs_a_train_window() -> None:
    with pytest.raises(ValueError, match="rolling walk-forward needs a train_window"):
        WalkForward(scheme="rolling")
