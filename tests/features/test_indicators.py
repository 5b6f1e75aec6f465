"""Every indicator against an independent computation on the bundled SP500 bars.

Indicators computed with TA-Lib are checked against plain pandas written here from the
textbook definitions; those computed with our Numba kernels against pandas' rolling
methods. Conventions that differ between implementations are stated where they matter.
Tolerances are absolute on the feature's own scale (fractions, or 0-100 oscillators).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_factory.features import build_feature_matrix

TOLERANCE = 1e-9
# Wilder and EMA recursions seeded differently agree once the seed has decayed:
# (13/14)**1000 ≈ 1e-32.
BURN_IN = 1_000


@pytest.fixture(scope="module")
def matrix(sp500: pd.DataFrame) -> pd.DataFrame:
    return build_feature_matrix(sp500)


def _close_enough(ours: pd.Series, expected: pd.Series, start: int = 0) -> None:
    ours_values = ours.to_numpy()[start:]
    expected_values = expected.to_numpy(dtype=np.float64)[start:]
    np.testing.assert_array_equal(np.isnan(ours_values), np.isnan(expected_values))
    np.testing.assert_allclose(ours_values, expected_values, rtol=0, atol=TOLERANCE)


def _seeded_ewm(values: pd.Series, alpha: float, first: int, length: int) -> pd.Series:
    """EMA whose first value, at ``first``, is the mean of the ``length`` values ending there."""
    seeded = values.copy()
    seeded.iloc[:first] = np.nan
    seeded.iloc[first] = values.iloc[first - length + 1 : first + 1].mean()
    return seeded.ewm(alpha=alpha, adjust=False).mean()


def _true_range(bars: pd.DataFrame) -> pd.Series:
    previous = bars["close"].shift()
    ranges = [bars["high"] - bars["low"], (bars["high"] - previous).abs()]
    ranges.append((bars["low"] - previous).abs())
    return pd.concat(ranges, axis=1).max(axis=1, skipna=False)


def test_returns_and_lags(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    log_close = np.log(sp500["close"])
    for n in (1, 5, 10, 20):
        _close_enough(matrix[f"ret_{n}"], log_close - log_close.shift(n))
    for k in (1, 2, 3, 5):
        _close_enough(matrix[f"ret_1_lag_{k}"], log_close.diff().shift(k))


@pytest.mark.parametrize("n", [5, 10, 20, 50, 200])
def test_moving_average_ratios(matrix: pd.DataFrame, sp500: pd.DataFrame, n: int) -> None:
    close = sp500["close"]
    _close_enough(matrix[f"sma_ratio_{n}"], close / close.rolling(n).mean() - 1)
    # TA-Lib seeds its EMA with the SMA of the first n closes; so does this reference.
    _close_enough(matrix[f"ema_ratio_{n}"], close / _seeded_ewm(close, 2 / (n + 1), n - 1, n) - 1)


@pytest.mark.parametrize("n", [7, 14, 28])
def test_rsi_is_wilders(matrix: pd.DataFrame, sp500: pd.DataFrame, n: int) -> None:
    change = sp500["close"].diff()
    gains = _seeded_ewm(change.clip(lower=0), 1 / n, n, n)
    losses = _seeded_ewm((-change).clip(lower=0), 1 / n, n, n)
    _close_enough(matrix[f"rsi_{n}"], 100 * gains / (gains + losses))


def test_macd_over_close(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    close = sp500["close"]
    # TA-Lib starts the fast EMA 26 - 12 = 14 bars late so both lines begin at bar 25,
    # and seeds the signal with the mean of the first 9 MACD values.
    line = _seeded_ewm(close, 2 / 13, 25, 12) - _seeded_ewm(close, 2 / 27, 25, 26)
    signal = _seeded_ewm(line, 2 / 10, 33, 9)
    line[:33] = np.nan
    _close_enough(matrix["macd"], line / close)
    _close_enough(matrix["macd_signal"], signal / close)
    _close_enough(matrix["macd_hist"], (line - signal) / close)


def test_bollinger_uses_population_std(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    close = sp500["close"]
    middle = close.rolling(20).mean()
    spread = 2 * close.rolling(20).std(ddof=0)
    _close_enough(matrix["bb_pos_20"], (close - (middle - spread)) / (2 * spread))
    _close_enough(matrix["bb_width_20"], 2 * spread / middle)


def test_atr_over_close(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    # Wilder: the first ATR (bar 14) is the mean of the true ranges of bars 1..14.
    atr = _seeded_ewm(_true_range(sp500), 1 / 14, 14, 14)
    _close_enough(matrix["atr_14"], atr / sp500["close"])


def test_fast_stochastic(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    lowest = sp500["low"].rolling(14).min()
    highest = sp500["high"].rolling(14).max()
    k = 100 * (sp500["close"] - lowest) / (highest - lowest)
    d = k.rolling(3).mean()
    # TA-Lib outputs %K only where %D exists too.
    k[:15] = np.nan
    _close_enough(matrix["stoch_k_14"], k)
    _close_enough(matrix["stoch_d_14"], d)


def test_directional_movement(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    up, down = sp500["high"].diff(), -sp500["low"].diff()
    plus_dm = up.where((up > down) & (up > 0), 0.0).where(up.notna())
    minus_dm = down.where((down > up) & (down > 0), 0.0).where(down.notna())

    def wilder(values: pd.Series) -> pd.Series:
        return values.ewm(alpha=1 / 14, adjust=False).mean()

    # TA-Lib seeds Wilder's sums with the first 13 bars; this reference with the first
    # bar. Ratios of the two agree once the seed has decayed.
    true_range = wilder(_true_range(sp500))
    plus_di = 100 * wilder(plus_dm) / true_range
    minus_di = 100 * wilder(minus_dm) / true_range
    adx = wilder(100 * (plus_di - minus_di).abs() / (plus_di + minus_di))
    _close_enough(matrix["plus_di_14"], plus_di, BURN_IN)
    _close_enough(matrix["minus_di_14"], minus_di, BURN_IN)
    _close_enough(matrix["adx_14"], adx, BURN_IN)


def test_volume_features(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    close, volume = sp500["close"], sp500["volume"]
    signed = np.sign(close.diff()) * volume
    obv = signed.fillna(0).cumsum()
    _close_enough(matrix["obv_slope_20"], (obv - obv.shift(20)) / volume.rolling(20).sum())
    # OBV runs to ~1e12 here, so its z-score is good to ~1e-7, not to rounding.
    expected_z = (obv - obv.rolling(50).mean()) / obv.rolling(50).std()
    np.testing.assert_allclose(matrix["obv_z_50"], expected_z, rtol=0, atol=1e-6)
    log_volume = np.log1p(volume)
    expected = (log_volume - log_volume.rolling(20).mean()) / log_volume.rolling(20).std()
    _close_enough(matrix["volume_z_20"], expected)
    _close_enough(matrix["volume_ratio_20"], volume / volume.rolling(20).mean())


def test_volatility_and_skew(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    returns = np.log(sp500["close"]).diff()
    for n in (5, 10, 20, 60):
        _close_enough(matrix[f"vol_{n}"], returns.rolling(n).std())
    for n in (20, 60):
        volatility = returns.rolling(n).std()
        z = (volatility - volatility.rolling(250).mean()) / volatility.rolling(250).std()
        _close_enough(matrix[f"vol_z_{n}"], z)
    _close_enough(matrix["vol_ratio_5_60"], returns.rolling(5).std() / returns.rolling(60).std())
    for n in (20, 60):
        _close_enough(matrix[f"skew_{n}"], returns.rolling(n).skew())


def test_bar_shape(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    opening, high, low, close = (sp500[k] for k in ("open", "high", "low", "close"))
    spread = (high - low) / close
    _close_enough(matrix["range_hl"], spread)
    _close_enough(matrix["range_ratio_20"], spread / spread.rolling(20).mean())
    _close_enough(matrix["close_pos"], ((close - low) / (high - low)).where(high > low, 0.5))
    _close_enough(matrix["gap"], np.log(opening / close.shift()))
    _close_enough(matrix["body"], np.log(close / opening))


def test_calendar(matrix: pd.DataFrame, sp500: pd.DataFrame) -> None:
    weekdays = np.array([stamp.weekday() for stamp in sp500.index.to_pydatetime()])
    months = np.array([stamp.month for stamp in sp500.index.to_pydatetime()])
    np.testing.assert_array_equal(matrix["dow"], weekdays)
    np.testing.assert_array_equal(matrix["month"], months)
    np.testing.assert_allclose(matrix["dow_sin"], np.sin(2 * np.pi * weekdays / 7), atol=1e-15)
    np.testing.assert_allclose(
        matrix["month_cos"], np.cos(2 * np.pi * (months - 1) / 12), atol=1e-15
    )
    assert "hour" not in matrix


def test_intraday_calendar(minute_bars: pd.DataFrame) -> None:
    matrix = build_feature_matrix(minute_bars, features=["hour", "minute", "tod_sin", "tod_cos"])
    stamps = minute_bars.index.to_pydatetime()
    minutes_of_day = np.array([s.hour * 60 + s.minute for s in stamps])
    np.testing.assert_array_equal(matrix["hour"], minutes_of_day // 60)
    np.testing.assert_array_equal(matrix["minute"], minutes_of_day % 60)
    angle = 2 * np.pi * minutes_of_day / 1440
    np.testing.assert_allclose(matrix["tod_sin"], np.sin(angle), atol=1e-15)
    np.testing.assert_allclose(matrix["tod_cos"], np.cos(angle), atol=1e-15)


def test_exogenous_column_passes_through(minute_bars: pd.DataFrame) -> None:
    matrix = build_feature_matrix(minute_bars, features=["exo_planted"])
    np.testing.assert_array_equal(matrix["exo_planted"], minute_bars["planted"])
