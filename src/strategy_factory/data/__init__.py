"""Bars: bundled real datasets, CSV/Parquet import with validation, the local bar store,
and the synthetic generator."""

from strategy_factory.data.bundled import BUNDLED, load_bundled
from strategy_factory.data.catalog import AppendResult, BarCatalog, normalize_symbol
from strategy_factory.data.files import read_bars
from strategy_factory.data.resample import bin_start, resample_bars, timeframe_step
from strategy_factory.data.schema import (
    BAR_COLUMNS,
    PRICE_COLUMNS,
    BarMeta,
    bars_digest,
    bars_per_year,
    infer_frequency,
)
from strategy_factory.data.synthetic import (
    DEFAULT_REGIMES,
    Regime,
    fading_edge_bars,
    regime_autocorrelated_bars,
    regime_path,
    synthetic_bars,
)
from strategy_factory.data.validation import normalize_bars

__all__ = [
    "BAR_COLUMNS",
    "BUNDLED",
    "DEFAULT_REGIMES",
    "PRICE_COLUMNS",
    "AppendResult",
    "BarCatalog",
    "BarMeta",
    "Regime",
    "bars_digest",
    "bars_per_year",
    "bin_start",
    "fading_edge_bars",
    "infer_frequency",
    "load_bundled",
    "normalize_bars",
    "normalize_symbol",
    "read_bars",
    "regime_autocorrelated_bars",
    "regime_path",
    "resample_bars",
    "synthetic_bars",
    "timeframe_step",
]
