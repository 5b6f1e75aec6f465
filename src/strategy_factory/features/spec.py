"""What a feature is (a name, what it reads, its warm-up, a function) and what it reads from.

A :class:`Feature` computes one float64 column from :class:`BarInputs`, the bar arrays
of one symbol plus its aligned reference symbols. Intermediate results that several
features share (log returns, a MACD triple) are computed once per build through
:meth:`BarInputs.cached`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy_factory.data import BAR_COLUMNS, PRICE_COLUMNS, normalize_symbol
from strategy_factory.errors import FactoryError
from strategy_factory.features.volatility import log_returns

# What a feature may need beyond a close price.
NEEDS_OHLC = "ohlc"
NEEDS_VOLUME = "volume"
NEEDS_INTRADAY = "intraday"


@dataclass(frozen=True)
class Feature:
    """One named column of the feature matrix.

    ``warm_up`` is the number of leading bars that are NaN on a gap-free series, so the
    feature needs at least ``warm_up + 1`` bars. ``needs`` names what the bars must
    have: ``ohlc`` (a real open/high/low, not just a close), ``volume``, ``intraday``
    (a time of day), ``ref:<SYMBOL>`` (a reference symbol), ``column:<name>`` (an
    extra column of the bar frame).
    """

    name: str
    compute: Callable[[BarInputs], np.ndarray]
    warm_up: int
    needs: frozenset[str] = field(default_factory=frozenset)
    description: str = ""


class BarInputs:
    """The arrays of one symbol's bars and its references, with a per-build cache."""

    def __init__(self, bars: pd.DataFrame, references: Mapping[str, pd.DataFrame]) -> None:
        self.bars = bars
        self.index: pd.DatetimeIndex = bars.index
        self.open, self.high, self.low, self.close, self.volume = (
            np.ascontiguousarray(bars[c].to_numpy(dtype=np.float64)) for c in BAR_COLUMNS
        )
        self.references = references
        self._cache: dict[str, object] = {}

    def cached(self, key: str, make: Callable[[], object]) -> object:
        """The value of ``make()`` computed once per build under ``key``."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def returns(self, periods: int) -> np.ndarray:
        """Log returns of the close over ``periods`` bars, computed once per build."""
        return self.cached(  # type: ignore[return-value]
            f"ret_{periods}", lambda: log_returns(self.close, periods)
        )

    def column(self, name: str) -> np.ndarray:
        """An extra numeric column of the bar frame as float64."""
        return self.bars[name].to_numpy(dtype=np.float64)

    def capabilities(self) -> frozenset[str]:
        """Everything these bars can feed: ohlc, volume, intraday, ref:<S>, column:<c>."""
        found = {f"ref:{name}" for name in self.references}
        found |= {f"column:{name}" for name in exogenous_columns(self.bars)}
        if has_ohlc(self.bars):
            found.add(NEEDS_OHLC)
        if has_volume(self.bars):
            found.add(NEEDS_VOLUME)
        if is_intraday(self.index):
            found.add(NEEDS_INTRADAY)
        return frozenset(found)


def has_ohlc(bars: pd.DataFrame) -> bool:
    """Whether the bars have a real open/high/low rather than copies of the close."""
    close = bars["close"].to_numpy()
    return not all(np.array_equal(bars[c].to_numpy(), close) for c in ("open", "high", "low"))


def has_volume(bars: pd.DataFrame) -> bool:
    """Whether the bars carry a volume (VIX, for one, has none)."""
    volume = bars["volume"].to_numpy(dtype=np.float64)
    return bool(np.isfinite(volume).all() and (volume > 0).any())


def is_intraday(index: pd.DatetimeIndex) -> bool:
    """Whether any bar is stamped off midnight, i.e. a time of day means something."""
    nanoseconds_per_day = 86_400 * 10**9
    return bool((index.as_unit("ns").asi8 % nanoseconds_per_day != 0).any())


def exogenous_columns(bars: pd.DataFrame) -> list[str]:
    """Extra numeric columns of a bar frame, passed through as features."""
    return [
        str(c)
        for c in bars.columns
        if c not in BAR_COLUMNS and pd.api.types.is_numeric_dtype(bars[c])
    ]


def check_bars(bars: pd.DataFrame, what: str = "bars") -> None:
    """Reject a frame that is not in the normalized bar schema, saying what is wrong."""
    if not isinstance(bars, pd.DataFrame):
        raise FactoryError(f"{what} must be a pandas DataFrame of bars, got {type(bars).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in bars.columns]
    if missing:
        raise FactoryError(
            f"{what} lack column(s) {', '.join(missing)}; load them with BarCatalog.load() "
            "or normalize them with strategy_factory.data.normalize_bars()"
        )
    if not isinstance(bars.index, pd.DatetimeIndex) or bars.index.tz is None:
        raise FactoryError(f"{what} need a timezone-aware DatetimeIndex (normalize_bars does it)")
    if len(bars) < 2:
        raise FactoryError(f"{what} have {len(bars)} row(s); features need at least 2 bars")
    if not bars.index.is_monotonic_increasing or bars.index.has_duplicates:
        raise FactoryError(f"{what} timestamps must be strictly increasing")
    for column in PRICE_COLUMNS:
        values = bars[column].to_numpy(dtype=np.float64)
        if not (values > 0).all() or not np.isfinite(values).all():
            raise FactoryError(f"{what} column {column} must be finite and positive")


def named_references(
    references: Mapping[str, pd.DataFrame] | None,
) -> dict[str, pd.DataFrame]:
    """References keyed by their normalized symbol name, each checked to be bars."""
    named = {}
    for key, frame in (references or {}).items():
        check_bars(frame, f"reference {key}")
        named[normalize_symbol(key)] = frame
    return named
