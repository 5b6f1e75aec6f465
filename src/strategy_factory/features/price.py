"""Indicators of one symbol's own bars, all scale-free: returns, ratios, z-scores, oscillators.

TA-Lib computes the classic indicators (its EMA and Wilder averages are seeded by a
simple average of the first window and then run forward, so they are causal); Numba
kernels in :mod:`strategy_factory.features.rolling` compute the rolling moments.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import talib

from strategy_factory.features.rolling import rolling_mean, rolling_skew, rolling_zscore
from strategy_factory.features.spec import NEEDS_OHLC, NEEDS_VOLUME, BarInputs, Feature
from strategy_factory.features.volatility import rolling_volatility, volatility_zscore

RETURN_HORIZONS = (1, 5, 10, 20)
RETURN_LAGS = (1, 2, 3, 5)
MA_LENGTHS = (5, 10, 20, 50, 200)
RSI_LENGTHS = (7, 14, 28)
VOLATILITY_WINDOWS = (5, 10, 20, 60)
Z_WINDOW = 250
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9


def shift(values: np.ndarray, bars: int) -> np.ndarray:
    """``values`` delayed by ``bars`` (the value of ``bars`` bars ago), NaN-padded."""
    out = np.full(values.size, np.nan)
    out[bars:] = values[:-bars]
    return out


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator != 0.0, numerator / denominator, np.nan)


def _returns(x: BarInputs, periods: int) -> np.ndarray:
    return x.returns(periods)


def _lagged_return(x: BarInputs, lag: int) -> np.ndarray:
    return shift(x.returns(1), lag)


def _sma_ratio(x: BarInputs, length: int) -> np.ndarray:
    return x.close / talib.SMA(x.close, length) - 1.0


def _ema_ratio(x: BarInputs, length: int) -> np.ndarray:
    return x.close / talib.EMA(x.close, length) - 1.0


def _rsi(x: BarInputs, length: int) -> np.ndarray:
    return talib.RSI(x.close, length)


def _macd(x: BarInputs, part: int) -> np.ndarray:
    triple = x.cached("macd", lambda: talib.MACD(x.close, MACD_FAST, MACD_SLOW, MACD_SIGNAL))
    # Divided by the close so that the same trend reads the same at 100 and at 5,000.
    return triple[part] / x.close  # type: ignore[index]


def _bollinger(x: BarInputs, length: int, part: str) -> np.ndarray:
    upper, middle, lower = x.cached(  # type: ignore[misc]
        f"bbands_{length}", lambda: talib.BBANDS(x.close, length, 2.0, 2.0, 0)
    )
    if part == "pos":
        return _divide(x.close - lower, upper - lower)
    return _divide(upper - lower, middle)


def _atr(x: BarInputs, length: int) -> np.ndarray:
    return talib.ATR(x.high, x.low, x.close, length) / x.close


def _stochastic(x: BarInputs, length: int, part: int) -> np.ndarray:
    pair = x.cached(
        f"stoch_{length}",
        lambda: talib.STOCHF(x.high, x.low, x.close, fastk_period=length, fastd_period=3),
    )
    return pair[part]  # type: ignore[index]


def _directional(x: BarInputs, length: int, kind: str) -> np.ndarray:
    indicator = {"adx": talib.ADX, "plus_di": talib.PLUS_DI, "minus_di": talib.MINUS_DI}[kind]
    return indicator(x.high, x.low, x.close, length)


def _signed_volume(x: BarInputs) -> np.ndarray:
    def make() -> np.ndarray:
        signed = np.full(x.close.size, np.nan)
        signed[1:] = np.sign(np.diff(x.close)) * x.volume[1:]
        return signed

    return x.cached("signed_volume", make)  # type: ignore[return-value]


def _obv_slope(x: BarInputs, window: int) -> np.ndarray:
    """Net signed volume over the window as a share of all volume traded in it: [-1, 1]."""
    signed = rolling_mean(_signed_volume(x), window)
    return _divide(signed, rolling_mean(x.volume, window))


def _obv_zscore(x: BarInputs, window: int) -> np.ndarray:
    signed = _signed_volume(x).copy()
    signed[0] = 0.0
    # OBV's level depends on where the series starts; its z-score within a window does not.
    return rolling_zscore(np.cumsum(signed), window)


def _volume_zscore(x: BarInputs, window: int) -> np.ndarray:
    return rolling_zscore(np.log1p(x.volume), window)


def _volume_ratio(x: BarInputs, window: int) -> np.ndarray:
    return _divide(x.volume, rolling_mean(x.volume, window))


def _volatility(x: BarInputs, window: int) -> np.ndarray:
    return x.cached(f"vol_{window}", lambda: rolling_volatility(x.close, window))  # type: ignore[return-value]


def _volatility_z(x: BarInputs, window: int) -> np.ndarray:
    return volatility_zscore(x.close, window, Z_WINDOW)


def _volatility_ratio(x: BarInputs, short: int, long: int) -> np.ndarray:
    return _divide(_volatility(x, short), _volatility(x, long))


def _skew(x: BarInputs, window: int) -> np.ndarray:
    return rolling_skew(x.returns(1), window)


def _range(x: BarInputs) -> np.ndarray:
    return x.cached("range", lambda: (x.high - x.low) / x.close)  # type: ignore[return-value]


def _range_ratio(x: BarInputs, window: int) -> np.ndarray:
    return _divide(_range(x), rolling_mean(_range(x), window))


def _close_position(x: BarInputs) -> np.ndarray:
    # A bar without range closed neither high nor low: the middle.
    return np.where(x.high > x.low, _divide(x.close - x.low, x.high - x.low), 0.5)


def _gap(x: BarInputs) -> np.ndarray:
    return np.log(x.open / shift(x.close, 1))


def _body(x: BarInputs) -> np.ndarray:
    return np.log(x.close / x.open)


_ANY: frozenset[str] = frozenset()
_OHLC = frozenset({NEEDS_OHLC})
_VOLUME = frozenset({NEEDS_VOLUME})
_MACD_WARM_UP = MACD_SLOW + MACD_SIGNAL - 2
_VOLATILITY_Z_WINDOWS = (20, 60)

# name, function, warm-up (leading NaN bars), needs, description
_FAMILIES: list[tuple] = [
    *(
        (f"ret_{n}", partial(_returns, periods=n), n, _ANY, f"log return over {n} bar(s)")
        for n in RETURN_HORIZONS
    ),
    *(
        (f"ret_1_lag_{k}", partial(_lagged_return, lag=k), 1 + k, _ANY, f"ret_1 {k} bar(s) ago")
        for k in RETURN_LAGS
    ),
    *(
        (f"sma_ratio_{n}", partial(_sma_ratio, length=n), n - 1, _ANY, f"close / SMA({n}) - 1")
        for n in MA_LENGTHS
    ),
    *(
        (f"ema_ratio_{n}", partial(_ema_ratio, length=n), n - 1, _ANY, f"close / EMA({n}) - 1")
        for n in MA_LENGTHS
    ),
    *(
        (f"rsi_{n}", partial(_rsi, length=n), n, _ANY, f"RSI({n}), Wilder smoothing, 0-100")
        for n in RSI_LENGTHS
    ),
    *(
        (f"vol_{n}", partial(_volatility, window=n), n, _ANY, f"std of ret_1 over {n} bars")
        for n in VOLATILITY_WINDOWS
    ),
    *(
        (f"vol_z_{n}", partial(_volatility_z, window=n), n + Z_WINDOW - 1, _ANY, f"z of vol_{n}")
        for n in _VOLATILITY_Z_WINDOWS
    ),
]

_SINGLES: list[tuple] = [
    ("macd", partial(_macd, part=0), _MACD_WARM_UP, _ANY, "MACD(12,26) line / close"),
    ("macd_signal", partial(_macd, part=1), _MACD_WARM_UP, _ANY, "EMA(9) of the line / close"),
    ("macd_hist", partial(_macd, part=2), _MACD_WARM_UP, _ANY, "(line - signal) / close"),
    ("bb_pos_20", partial(_bollinger, length=20, part="pos"), 19, _ANY, "%B of BB(20, 2)"),
    ("bb_width_20", partial(_bollinger, length=20, part="width"), 19, _ANY, "BB(20, 2) width"),
    ("atr_14", partial(_atr, length=14), 14, _OHLC, "ATR(14), Wilder smoothing, / close"),
    ("stoch_k_14", partial(_stochastic, length=14, part=0), 15, _OHLC, "fast %K(14), 0-100"),
    ("stoch_d_14", partial(_stochastic, length=14, part=1), 15, _OHLC, "3-bar mean of %K(14)"),
    ("adx_14", partial(_directional, length=14, kind="adx"), 27, _OHLC, "ADX(14), 0-100"),
    ("plus_di_14", partial(_directional, length=14, kind="plus_di"), 14, _OHLC, "+DI(14), 0-100"),
    ("minus_di_14", partial(_directional, length=14, kind="minus_di"), 14, _OHLC, "-DI(14), 0-100"),
    ("obv_slope_20", partial(_obv_slope, window=20), 20, _VOLUME, "20-bar OBV change / volume"),
    ("obv_z_50", partial(_obv_zscore, window=50), 49, _VOLUME, "z-score of OBV over 50 bars"),
    ("volume_z_20", partial(_volume_zscore, window=20), 19, _VOLUME, "z of log(1 + volume)"),
    ("volume_ratio_20", partial(_volume_ratio, window=20), 19, _VOLUME, "volume / its 20-bar mean"),
    ("vol_ratio_5_60", partial(_volatility_ratio, short=5, long=60), 60, _ANY, "vol_5 / vol_60"),
    ("skew_20", partial(_skew, window=20), 20, _ANY, "skewness of ret_1, 20 bars"),
    ("skew_60", partial(_skew, window=60), 60, _ANY, "skewness of ret_1, 60 bars"),
    ("range_hl", _range, 0, _OHLC, "(high - low) / close"),
    ("range_ratio_20", partial(_range_ratio, window=20), 19, _OHLC, "range_hl / its 20-bar mean"),
    ("close_pos", _close_position, 0, _OHLC, "where the close sits in the bar: 0 low, 1 high"),
    ("gap", _gap, 1, _OHLC, "log(open / previous close)"),
    ("body", _body, 0, _OHLC, "log(close / open)"),
]

PRICE_FEATURES: tuple[Feature, ...] = tuple(Feature(*row) for row in (*_FAMILIES, *_SINGLES))
