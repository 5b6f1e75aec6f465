"""The data a run's work units share: bars, features, target, regimes and z-scores per ticker.

A :class:`DatasetSpec` names the data (symbol, references, extra tickers, timeframe,
date range) and its period boundaries; :func:`load_dataset` builds it once per process
and caches it, so a worker that trains or simulates many models of one run builds the
feature matrix once. Everything in it is causal: features, z-scores and targets come
from the whole series with no look-ahead, and the regime labelers of each ticker are
fitted on that ticker's training period only.

A run's spec names the last stored bar of every symbol it reads (``last_bars``) and a
digest of the bars up to them: bars appended to a symbol later are never read by it, so
a recorded run still rebuilds exactly the data it was created on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.data import BarCatalog, bars_digest, resample_bars
from strategy_factory.errors import FactoryError
from strategy_factory.features import (
    available_features,
    build_feature_matrix,
    default_labelers,
    label_regimes,
    make_target,
    volatility_zscore,
)
from strategy_factory.models import TargetSpec
from strategy_factory.settings import get_settings

# The selection period is cut into 64 blocks to tell trials apart (evolution.trials).
MIN_PERIOD_BARS = 64


class DatasetSpec(BaseModel):
    """Which bars a run uses; ``selection_start``/``holdout_start`` cut its three periods."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    references: list[str] = Field(default_factory=list)
    tickers: list[str] = Field(default_factory=list)
    timeframe: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    target: TargetSpec = TargetSpec()
    selection_start: datetime | None = None
    holdout_start: datetime | None = None
    data_digest: str | None = Field(
        None, description="Digest of every symbol's bars when the run was created."
    )
    formulas: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="Formula features (`formula:…`, e.g. discovered indicators) the run "
        "computes beside the registry's features.",
    )
    last_bars: dict[str, datetime] | None = Field(
        None,
        description="The last stored bar of each symbol when the run was created: the run "
        "reads no bar after it, so bars appended since leave its data as they were.",
    )

    def key(self) -> str:
        """A canonical text of the spec (the cache key)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)


@dataclass(frozen=True)
class TickerData:
    """One ticker's usable bars (after indicator warm-up) and everything derived from them."""

    bars: pd.DataFrame
    features: pd.DataFrame
    target: pd.Series
    regimes: pd.DataFrame
    zscore: np.ndarray

    def period(self, start: datetime | None, end: datetime | None) -> slice:
        """Positions of the bars with ``start <= t < end`` (None: open side)."""
        index = self.bars.index
        first = 0 if start is None else int(index.searchsorted(pd.Timestamp(start)))
        last = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end)))
        return slice(first, last)


@dataclass(frozen=True)
class Dataset:
    """The tickers' data plus the features every ticker has and the declared regime labels."""

    spec: DatasetSpec
    tickers: dict[str, TickerData]
    feature_names: list[str]
    regime_labels: dict[str, list[int]]

    @property
    def primary(self) -> TickerData:
        return self.tickers[self.spec.symbol]


def last_read(symbol: str, spec: DatasetSpec) -> datetime | None:
    """The last moment of ``symbol``'s bars the spec reads (None: all stored bars)."""
    bound = None if spec.last_bars is None else spec.last_bars.get(symbol)
    ends = [moment for moment in (spec.end, bound) if moment is not None]
    return min(ends) if ends else None


def read_bars(symbol: str, spec: DatasetSpec, catalog: BarCatalog | None = None) -> pd.DataFrame:
    """Bars of ``symbol`` in the spec's date range and timeframe."""
    catalog = catalog or BarCatalog(get_settings().bars_dir)
    bars = catalog.load(symbol, start=spec.start, end=last_read(symbol, spec))
    if spec.timeframe:
        bars = resample_bars(bars, spec.timeframe)
    if len(bars) < 2:
        raise FactoryError(f"{symbol} has {len(bars)} bar(s) in the chosen date range")
    return bars


def _usable_from(features: pd.DataFrame, symbol: str) -> int:
    finite = np.isfinite(features.to_numpy(dtype=np.float64)).all(axis=1)
    if not finite.any():
        raise FactoryError(
            f"no bar of {symbol} has every feature defined: the series is shorter than the "
            "longest indicator window or a reference does not overlap it"
        )
    return int(np.argmax(finite))


def _ticker(
    symbol: str, spec: DatasetSpec, references: dict[str, pd.DataFrame], names: list[str]
) -> TickerData:
    bars = read_bars(symbol, spec)
    features = build_feature_matrix(bars, references, names)
    zscore = volatility_zscore(bars["close"].to_numpy(dtype=np.float64))
    target = make_target(bars, spec.target.transform, spec.target.horizon, spec.target.column)
    regimes = label_regimes(bars, references, train_end=training_end(bars.index, spec))
    first = _usable_from(features, symbol)
    return TickerData(
        bars=bars.iloc[first:],
        features=features.iloc[first:],
        target=target.iloc[first:],
        regimes=regimes.iloc[first:],
        zscore=zscore[first:],
    )


def training_end(index: pd.DatetimeIndex, spec: DatasetSpec) -> pd.Timestamp | None:
    """The last bar of ``index`` in the spec's training period (what labelers fit up to)."""
    cutoffs = [pd.Timestamp(c) for c in (spec.selection_start, spec.holdout_start) if c]
    if not cutoffs:
        return None
    before = index[index < min(cutoffs)]
    if len(before) == 0:
        raise FactoryError(f"no bars before the selection period starts ({min(cutoffs)})")
    return before[-1]


def _common_features(spec: DatasetSpec, references: dict[str, pd.DataFrame]) -> list[str]:
    per_ticker = [
        available_features(read_bars(t, spec), references) for t in [spec.symbol, *spec.tickers]
    ]
    common = [name for name in per_ticker[0] if all(name in other for other in per_ticker[1:])]
    return common + [name for name in spec.formulas if name not in common]


@lru_cache(maxsize=4)
def _cached(key: str, versions: tuple[str, ...]) -> Dataset:
    spec = DatasetSpec.model_validate_json(key)
    references = {r: read_bars(r, spec) for r in spec.references}
    names = _common_features(spec, references)
    tickers = {t: _ticker(t, spec, references, names) for t in [spec.symbol, *spec.tickers]}
    labelers = default_labelers(references)
    return Dataset(
        spec=spec,
        tickers=tickers,
        feature_names=names,
        regime_labels={name: list(range(labeler.n_labels)) for name, labeler in labelers.items()},
    )


def load_dataset(spec: DatasetSpec) -> Dataset:
    """Build (or take from this process's cache) the dataset named by ``spec``.

    The cache is keyed by the spec and by the version of every stored symbol it reads,
    so re-importing a symbol (or pointing FACTORY_HOME elsewhere) rebuilds the dataset.
    """
    catalog = BarCatalog(get_settings().bars_dir)
    symbols = [spec.symbol, *spec.references, *spec.tickers]
    if spec.data_digest is not None and spec.data_digest != data_digest(spec):
        raise FactoryError(
            f"the bars of {', '.join(symbols)} have changed since this run was created "
            "(re-imported?): its models and results describe the old bars. Start a new run"
        )
    return _cached(spec.key(), tuple(catalog.version(s) for s in symbols))


def data_digest(spec: DatasetSpec) -> str:
    """One digest of the stored bars of every symbol ``spec`` reads (see ``bars_digest``),
    each up to its bound in ``last_bars`` (all of them without one)."""
    catalog = BarCatalog(get_settings().bars_dir)
    symbols = [spec.symbol, *spec.references, *spec.tickers]
    text = ";".join(f"{symbol}:{_digest(catalog, symbol, spec)}" for symbol in symbols)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _digest(catalog: BarCatalog, symbol: str, spec: DatasetSpec) -> str:
    bound = None if spec.last_bars is None else spec.last_bars.get(symbol)
    if bound is None or pd.Timestamp(bound) >= catalog.meta(symbol).last:
        return catalog.digest(symbol)  # the whole series: its recorded digest
    return bars_digest(catalog.load(symbol, end=bound))


def stored_last_bars(spec: DatasetSpec) -> DatasetSpec:
    """``spec`` bound to the bars stored now: the last bar of every symbol it reads."""
    catalog = BarCatalog(get_settings().bars_dir)
    symbols = [spec.symbol, *spec.references, *spec.tickers]
    bounds = {s: catalog.meta(s).last.to_pydatetime() for s in symbols}
    return spec.model_copy(update={"last_bars": bounds})


def split_points(
    spec: DatasetSpec, selection_fraction: float, holdout_fraction: float
) -> DatasetSpec:
    """``spec`` with its period boundaries set from fractions of the usable bars.

    Explicit boundaries already on ``spec`` are kept. Each period must hold at least
    :data:`MIN_PERIOD_BARS` bars of the primary symbol.
    """
    unsplit = spec.model_copy(update={"selection_start": None, "holdout_start": None})
    index = load_dataset(unsplit).primary.bars.index
    selection, holdout = fraction_starts(index, selection_fraction, holdout_fraction)
    resolved = spec.model_copy(
        update={
            "selection_start": spec.selection_start or selection,
            "holdout_start": spec.holdout_start or holdout,
        }
    )
    _check_periods(index, resolved)
    return resolved


def fraction_starts(
    index: pd.DatetimeIndex, selection_fraction: float, holdout_fraction: float
) -> tuple[datetime, datetime]:
    """The first bars of the selection period and of the holdout when ``index`` is cut by
    fractions: training gets the first ``1 - selection_fraction - holdout_fraction``."""
    n = len(index)
    selection = index[int(n * (1 - holdout_fraction - selection_fraction))]
    holdout = index[int(n * (1 - holdout_fraction))]
    return selection.to_pydatetime(), holdout.to_pydatetime()


def _check_periods(index: pd.DatetimeIndex, spec: DatasetSpec) -> None:
    check_periods(index, pd.Timestamp(spec.selection_start), pd.Timestamp(spec.holdout_start),
                  spec.symbol)  # fmt: skip


def check_periods(
    index: pd.DatetimeIndex, selection: pd.Timestamp, holdout: pd.Timestamp, symbol: str
) -> None:
    """Refuse boundaries out of order, or a period with fewer than :data:`MIN_PERIOD_BARS`."""
    if selection >= holdout:
        raise FactoryError(f"selection_start {selection} must be before holdout_start {holdout}")
    sizes = {
        "training": int((index < selection).sum()),
        "selection": int(((index >= selection) & (index < holdout)).sum()),
        "holdout": int((index >= holdout).sum()),
    }
    short = {name: size for name, size in sizes.items() if size < MIN_PERIOD_BARS}
    if short:
        detail = ", ".join(f"{name} has {size}" for name, size in short.items())
        raise FactoryError(
            f"each period needs at least {MIN_PERIOD_BARS} usable bars of {symbol}: "
            f"{detail}; widen the date range or move the period boundaries"
        )
