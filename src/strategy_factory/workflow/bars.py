"""The data every phase shares: bars, volatility z-scores, causal regime labels, periods.

Classifiers are fitted on the training period only (bars before the selection period)
and then label every bar forward with what was known at its close, so the labels the
selection-period phases group by and the ones validation switches on are the same
causal series. Nothing here reads past a bar's close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import Market
from strategy_factory.data import BarCatalog, resample_bars
from strategy_factory.errors import FactoryError
from strategy_factory.execution.dataset import MIN_PERIOD_BARS, check_periods, fraction_starts
from strategy_factory.features import (
    GMMRegimes,
    HMMRegimes,
    RegimeLabeler,
    TrendVolRegimes,
    VIXRegimes,
    label_regimes,
    volatility_zscore,
)
from strategy_factory.settings import get_settings
from strategy_factory.workflow.config import Classifier, WorkflowData

LABELERS: dict[str, type[RegimeLabeler]] = {
    "gmm": GMMRegimes,
    "hmm": HMMRegimes,
    "trend_vol": TrendVolRegimes,
    "vix": VIXRegimes,
}
PERIODS = ("training", "selection", "holdout")


def labeler(name: str, classifier: Classifier) -> RegimeLabeler:
    """The labeler a classifier entry describes; unknown parameters are refused."""
    kind = LABELERS[classifier.type]
    try:
        return kind(**classifier.params)
    except TypeError as exc:
        raise FactoryError(f"classifier {name} ({classifier.type}): {exc}") from exc


@dataclass(frozen=True)
class WorkflowBars:
    """A workflow's symbol: bars, z-scores, regime labels, and its period boundaries."""

    symbol: str
    bars: pd.DataFrame
    zscore: np.ndarray
    regimes: pd.DataFrame
    labels: dict[str, list[int]]
    label_names: dict[str, dict[int, str]]
    selection_start: pd.Timestamp
    holdout_start: pd.Timestamp

    def period(self, name: str) -> slice:
        """Positions of the bars of ``training``, ``selection`` or ``holdout``."""
        index = self.bars.index
        selection = int(index.searchsorted(self.selection_start))
        holdout = int(index.searchsorted(self.holdout_start))
        return {
            "training": slice(0, selection),
            "selection": slice(selection, holdout),
            "holdout": slice(holdout, len(index)),
        }[name]

    def market(self, name: str, predictions: pd.Series, ticker: str | None = None) -> Market:
        """The backtest market of one period with ``predictions`` (full-series, causal)."""
        cut = self.period(name)
        return Market(
            ticker or self.symbol,
            self.bars.iloc[cut],
            predictions.iloc[cut],
            zscore=self.zscore[cut],
            regimes=self.regimes.iloc[cut],
            regime_labels=self.labels,
        )

    def describe(self) -> dict[str, Any]:
        """Each period's first and last bar and bar count (for the manifest and report)."""
        spans = {}
        for name in PERIODS:
            index = self.bars.index[self.period(name)]
            spans[name] = {"first": index[0], "last": index[-1], "bars": len(index)}
        return spans


def _read(symbol: str, data: WorkflowData, catalog: BarCatalog) -> pd.DataFrame:
    bars = catalog.load(symbol, start=data.start, end=data.end)
    if data.timeframe:
        bars = resample_bars(bars, data.timeframe)
    return bars


def _boundaries(index: pd.DatetimeIndex, data: WorkflowData) -> tuple[pd.Timestamp, pd.Timestamp]:
    selection, holdout = fraction_starts(index, data.selection_fraction, data.holdout_fraction)
    chosen = (
        pd.Timestamp(data.selection_start or selection),
        pd.Timestamp(data.holdout_start or holdout),
    )
    check_periods(index, *chosen, data.symbol)
    return chosen


def load_bars(
    data: WorkflowData,
    classifiers: dict[str, Classifier],
    catalog: BarCatalog | None = None,
) -> WorkflowBars:
    """Read the symbol (and references) from the bar store and prepare them."""
    catalog = catalog or BarCatalog(get_settings().bars_dir)
    bars = _read(data.symbol, data, catalog)
    references = {r: _read(r, data, catalog) for r in data.references}
    return prepare_bars(bars, references, data, classifiers)


def prepare_bars(
    bars: pd.DataFrame,
    references: dict[str, pd.DataFrame],
    data: WorkflowData,
    classifiers: dict[str, Classifier],
) -> WorkflowBars:
    """Cut the periods and label the regimes causally (classifiers fitted on training)."""
    if len(bars) < 3 * MIN_PERIOD_BARS:
        raise FactoryError(
            f"{data.symbol} has {len(bars)} bars in the chosen range; a workflow needs at "
            f"least {3 * MIN_PERIOD_BARS} (three periods of {MIN_PERIOD_BARS})"
        )
    selection, holdout = _boundaries(bars.index, data)
    labelers = {name: labeler(name, c) for name, c in classifiers.items()}
    training_end = bars.index[bars.index < selection][-1]
    regimes = label_regimes(bars, references, train_end=training_end, labelers=labelers)
    return WorkflowBars(
        symbol=data.symbol,
        bars=bars,
        zscore=volatility_zscore(bars["close"].to_numpy(dtype=np.float64)),
        regimes=regimes,
        labels={name: list(range(lab.n_labels)) for name, lab in labelers.items()},
        label_names={name: lab.describe_labels() for name, lab in labelers.items()},
        selection_start=selection,
        holdout_start=holdout,
    )
