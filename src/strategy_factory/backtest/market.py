"""One ticker's backtest inputs, checked once: bars, predictions, z-scores, regime labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy_factory.backtest.config import UNDEFINED_REGIME, RegimeFilter
from strategy_factory.errors import FactoryError

_NANOSECONDS_PER_DAY = 86_400 * 10**9
# 1970-01-01 was a Thursday: shifting by 3 days makes every week start on a Monday.
_MONDAY_SHIFT_DAYS = 3


def first_mismatch(expected: pd.Index, given: pd.Index) -> str:
    """Describe where ``given`` first departs from ``expected`` (empty if they are equal)."""
    if expected.equals(given):
        return ""
    common = min(len(expected), len(given))
    differs = np.flatnonzero(expected[:common] != given[:common])
    if differs.size:
        i = int(differs[0])
        return f"bar {i} is {expected[i]} but the series has {given[i]} there"
    if len(given) < len(expected):
        return f"the series ends before bar {common} ({expected[common]})"
    return f"the series has an extra timestamp {given[common]} after the last bar"


@dataclass(frozen=True)
class Market:
    """What the backtest needs of one ticker, aligned bar for bar.

    ``bars``: at least ``open`` and ``close`` on a UTC DatetimeIndex. ``predictions``:
    one number per bar known at its close (a model's output or a rule's signal), same
    index. ``zscore``: the volatility z-score per bar (NaN = stand aside under a
    z_limit), needed only when the grid has z-limits. ``regimes``: int label columns
    such as ``regime_gmm`` (-1 = undefined), needed only for regime filters.
    ``regime_labels``: the declared labels of each regime column; by default the labels
    seen (except -1).
    """

    ticker: str
    bars: pd.DataFrame
    predictions: pd.Series
    zscore: np.ndarray | pd.Series | None = None
    regimes: pd.DataFrame | None = None
    regime_labels: Mapping[str, Sequence[int]] | None = field(default=None)

    def __post_init__(self) -> None:
        self._check_bars()
        self._check_predictions()
        if self.zscore is not None:
            self._check_zscore()
        if self.regimes is not None:
            self._check_regimes()

    def _check_bars(self) -> None:
        bars = self.bars
        missing = [c for c in ("open", "close") if c not in bars.columns]
        if missing:
            raise FactoryError(f"bars of {self.ticker} need column(s) {', '.join(missing)}")
        if not isinstance(bars.index, pd.DatetimeIndex):
            raise FactoryError(f"bars of {self.ticker} need a DatetimeIndex of bar timestamps")
        if len(bars) < 2:
            raise FactoryError(f"{self.ticker}: a backtest needs at least 2 bars, got {len(bars)}")
        if not (bars.index.is_monotonic_increasing and bars.index.is_unique):
            raise FactoryError(f"bars of {self.ticker} need strictly increasing timestamps")
        prices = bars[["open", "close"]].to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~(np.isfinite(prices) & (prices > 0)).all(axis=1))
        if bad.size:
            raise FactoryError(
                f"bars of {self.ticker}: open/close must be positive numbers; "
                f"first bad bar {bars.index[bad[0]]}"
            )

    def _check_predictions(self) -> None:
        predictions = self.predictions
        if not isinstance(predictions, pd.Series):
            raise FactoryError(f"predictions for {self.ticker} must be a pandas Series")
        where = first_mismatch(self.bars.index, predictions.index)
        if where:
            raise FactoryError(
                f"predictions for {self.ticker} are not aligned with its bars: {where}; "
                "reindex them to the bars' timestamps"
            )
        values = predictions.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise FactoryError(
                f"predictions for {self.ticker} have {bad.size} NaN/infinite value(s), the "
                f"first at {predictions.index[bad[0]]}; fill them (0 = stand aside) or cut "
                "the bars to where predictions exist"
            )

    def _check_zscore(self) -> None:
        if isinstance(self.zscore, pd.Series):
            where = first_mismatch(self.bars.index, self.zscore.index)
            if where:
                raise FactoryError(f"the z-score of {self.ticker} is not aligned: {where}")
        elif np.shape(self.zscore) != (len(self.bars),):
            raise FactoryError(
                f"the z-score of {self.ticker} needs one value per bar ({len(self.bars)}), "
                f"got shape {np.shape(self.zscore)}"
            )

    def _check_regimes(self) -> None:
        regimes = self.regimes
        if isinstance(regimes.index, pd.DatetimeIndex):
            where = first_mismatch(self.bars.index, regimes.index)
        else:
            where = "" if len(regimes) == len(self.bars) else "its length differs from the bars"
        if where:
            raise FactoryError(f"the regime labels of {self.ticker} are not aligned: {where}")
        not_int = [c for c in regimes.columns if not pd.api.types.is_integer_dtype(regimes[c])]
        if not_int:
            raise FactoryError(
                f"regime columns of {self.ticker} must hold integer labels (-1 = undefined): "
                f"{', '.join(map(str, not_int))}"
            )

    @property
    def index(self) -> pd.DatetimeIndex:
        """The bars' timestamps in UTC (naive timestamps are read as UTC)."""
        index = self.bars.index
        return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")

    def zscore_values(self) -> np.ndarray:
        """The z-score as float64 (NaN where unknown)."""
        return np.asarray(self.zscore, dtype=np.float64)

    def labels_of(self, column: str) -> tuple[int, ...]:
        """Declared (or else observed) labels of a regime column, without -1."""
        if self.regime_labels is not None and column in self.regime_labels:
            return tuple(sorted(int(v) for v in self.regime_labels[column]))
        seen = np.unique(self.regimes[column].to_numpy())
        return tuple(int(v) for v in seen if v != UNDEFINED_REGIME)

    def regime_mask(self, regime_filter: RegimeFilter | None) -> np.ndarray:
        """Bars the filter allows (every bar when None); checks columns and labels."""
        if regime_filter is None:
            return np.ones(len(self.bars), dtype=np.bool_)
        if self.regimes is None:
            raise FactoryError(
                f"regime filter {dict(regime_filter)} needs regime labels for {self.ticker}; "
                "pass regimes= (e.g. from strategy_factory.features.label_regimes)"
            )
        allowed = np.ones(len(self.bars), dtype=np.bool_)
        for column, labels in regime_filter.items():
            if column not in self.regimes.columns:
                known = ", ".join(map(str, self.regimes.columns)) or "none"
                raise FactoryError(
                    f"unknown regime column {column!r} for {self.ticker}; known: {known}"
                )
            declared = self.labels_of(column)
            unknown = [v for v in labels if v not in declared]
            if unknown:
                raise FactoryError(
                    f"regime filter {dict(regime_filter)}: label {unknown[0]} is not a label "
                    f"of {column} for {self.ticker} (labels: {', '.join(map(str, declared))})"
                )
            allowed &= np.isin(self.regimes[column].to_numpy(), labels)
        return allowed

    def weeks(self) -> np.ndarray:
        """Calendar week (Monday to Sunday, UTC) of every bar as a running integer."""
        nanoseconds = self.index.as_unit("ns").asi8
        days = np.floor_divide(nanoseconds, _NANOSECONDS_PER_DAY)
        return np.floor_divide(days + _MONDAY_SHIFT_DAYS, 7)
