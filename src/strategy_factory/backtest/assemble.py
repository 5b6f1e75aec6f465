"""Build markets from bars: predictions from a rule or a saved file, z-scores, regime labels.

This is what a command line or a notebook needs to go from stored bars to
:class:`Market` objects without wiring the feature layer by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from strategy_factory.backtest.config import RegimeFilter
from strategy_factory.backtest.market import Market
from strategy_factory.backtest.rules import rule_predictions
from strategy_factory.errors import FactoryError
from strategy_factory.features import default_labelers, label_regimes, volatility_zscore


def regime_columns(regime_filters: Sequence[RegimeFilter | None]) -> list[str]:
    """Every regime column the filters name, sorted."""
    return sorted({column for f in regime_filters if f for column in f})


def saved_predictions(table: pd.DataFrame, ticker: str, first: bool) -> pd.Series:
    """The column of a predictions table meant for ``ticker``.

    A column named after the ticker wins; otherwise a lone column (or one named
    ``prediction``) belongs to the first ticker only.
    """
    if ticker in table.columns:
        return table[ticker]
    if first and "prediction" in table.columns:
        return table["prediction"]
    if first and len(table.columns) == 1:
        return table.iloc[:, 0]
    raise FactoryError(
        f"the predictions file has no column for {ticker}; columns: "
        f"{', '.join(map(str, table.columns))} (name a column after each ticker)"
    )


def prediction_span(bars: pd.DataFrame, predictions: pd.Series | None) -> pd.DataFrame:
    """The bars a market trades: cut to the span of saved predictions, or all of them."""
    if predictions is None:
        return bars
    return bars.loc[predictions.index[0] : predictions.index[-1]]


def _regimes(
    bars: pd.DataFrame,
    columns: list[str],
    references: Mapping[str, pd.DataFrame] | None,
    train_end: pd.Timestamp | str | None,
) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    available = default_labelers(references)
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise FactoryError(
            f"unknown regime column {unknown[0]!r}; available: {', '.join(sorted(available))}"
            + ("" if "regime_vix" in available else " (regime_vix needs the VIX reference)")
        )
    labelers = {c: available[c] for c in columns}
    labels = label_regimes(bars, references, train_end=train_end, labelers=labelers)
    declared = {c: list(range(labelers[c].n_labels)) for c in columns}
    return labels, declared


def assemble_market(
    ticker: str,
    bars: pd.DataFrame,
    predictions: pd.Series | None = None,
    *,
    rule: str = "momentum",
    lookback: int = 20,
    regime_filters: Sequence[RegimeFilter | None] = (None,),
    references: Mapping[str, pd.DataFrame] | None = None,
    regime_train_end: pd.Timestamp | str | None = None,
) -> Market:
    """A :class:`Market` for ``ticker``: the given predictions (bars are cut to their
    span) or the rule's, the default volatility z-score, and the regime labels the
    filters need (labelers fitted up to ``regime_train_end``, or on all bars)."""
    bars = prediction_span(bars, predictions)
    if predictions is None:
        predictions = rule_predictions(bars["close"], rule, lookback)
    zscore = volatility_zscore(bars["close"].to_numpy(dtype=np.float64))
    columns = regime_columns(regime_filters)
    if not columns:
        return Market(ticker, bars, predictions, zscore=zscore)
    regimes, declared = _regimes(bars, columns, references, regime_train_end)
    return Market(ticker, bars, predictions, zscore, regimes, declared)
