"""``volatility_zscore`` against a plain pandas computation and the no-look-ahead property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.errors import FactoryError
from strategy_factory.features import volatility_zscore


def _pandas_reference(close: pd.Series, vol_window: int, z_window: int) -> pd.Series:
    volatility = np.log(close).diff().rolling(vol_window).std()
    rolling = volatility.rolling(z_window)
    return (volatility - rolling.mean()) / rolling.std()


@pytest.mark.parametrize(("vol_window", "z_window"), [(20, 250), (5, 60), (60, 120)])
def test_matches_pandas_on_real_sp500(
    shared_bars: BarCatalog, vol_window: int, z_window: int
) -> None:
    close = shared_bars.load("SP500")["close"]
    ours = volatility_zscore(close.to_numpy(), vol_window, z_window)
    expected = _pandas_reference(close, vol_window, z_window).to_numpy()
    warm_up = vol_window + z_window - 1
    assert np.isnan(ours[:warm_up]).all()
    assert np.isfinite(ours[warm_up:]).all()
    # Both use running (online) moments, so they agree to rounding, not bit for bit.
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(0, 1_499), seed=st.integers(0, 2**16), scale=st.floats(0.5, 2.0))
def test_no_look_ahead(cut: int, seed: int, scale: float) -> None:
    close = synthetic_bars(1_500, seed=3)["close"].to_numpy()
    perturbed = close.copy()
    rng = np.random.default_rng(seed)
    perturbed[cut + 1 :] *= scale * np.exp(rng.normal(0, 0.02, perturbed.size - cut - 1))
    before = volatility_zscore(close, 10, 100)[: cut + 1]
    after = volatility_zscore(perturbed, 10, 100)[: cut + 1]
    np.testing.assert_array_equal(before, after)


def test_rejects_degenerate_windows() -> None:
    with pytest.raises(FactoryError, match="at least 2 bars"):
        volatility_zscore(np.ones(10), vol_window=1)
