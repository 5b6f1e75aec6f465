"""Targets sit at the bar they are predicted from: target[t] is the return after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.errors import FactoryError
from strategy_factory.features import make_target


@settings(max_examples=30, deadline=None)
@given(horizon=st.integers(1, 30), t=st.integers(0, 5_000))
def test_target_at_t_is_the_return_from_t_to_t_plus_horizon(
    sp500: pd.DataFrame, horizon: int, t: int
) -> None:
    close = sp500["close"].to_numpy()
    log_target = make_target(sp500, "log_return", horizon)
    pct_target = make_target(sp500, "pct_change", horizon)
    if t + horizon < len(close):
        assert log_target.iloc[t] == pytest.approx(np.log(close[t + horizon] / close[t]), abs=1e-15)
        assert pct_target.iloc[t] == pytest.approx(close[t + horizon] / close[t] - 1, abs=1e-15)
    else:
        assert np.isnan(log_target.iloc[t]) and np.isnan(pct_target.iloc[t])
    assert log_target.isna().sum() == horizon


def test_target_of_another_column(sp500: pd.DataFrame) -> None:
    target = make_target(sp500, "pct_change", 1, column="open")
    expected = sp500["open"].shift(-1) / sp500["open"] - 1
    pd.testing.assert_series_equal(target, expected, check_names=False)
    assert target.name == "target_pct_change_1"
    assert target.index.equals(sp500.index)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transform": "diff"}, "unknown target transform 'diff'"),
        ({"horizon": 0}, "horizon is a whole number of bars >= 1"),
        ({"horizon": 2.5}, "horizon is a whole number of bars >= 1"),
        ({"column": "vwap"}, "no column 'vwap'"),
        ({"horizon": 10_000}, "not shorter than the 5031 bars"),
    ],
)
def test_bad_targets(sp500: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        make_target(sp500, **kwargs)
