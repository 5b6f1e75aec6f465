"""The bars one forward update reads: the new bars, and a fixed warm-up before them.

An update of N new bars computes features, z-scores and regime labels over the
:data:`WARM_UP_BARS` bars before the last processed bar plus the N new ones, never over
the whole history. Every indicator in the library with a finite window (rolling moments,
SMAs, z-scores, the GMM's 20-bar observations, the volatility z-score's 20 + 250 bars)
looks back at most 310 bars, so it is the same on the window as on the whole series, up
to rounding. Those with infinite memory converge to the full-history value geometrically:

- EMAs (TA-Lib seeds them with the mean of their first window): the slowest is EMA(200),
  whose seed's weight after k bars is (199/201)^k — about 4e-18 after 4,000 bars, below
  a double's precision. MACD's EMAs (12, 26, 9) and Wilder's smoothing (RSI up to 28,
  ATR and ADX over 14) forget faster.
- The HMM's filtered state probability forgets its start: each bar contracts the gap
  between two filters by at least the chain's mixing, and 4,000 bars of it leave nothing
  a label (the most probable state) can see.

So :data:`WARM_UP_BARS` = 4,000, and ``tests/learning/test_forward_warm_up.py`` checks it
on long series: every feature, z-score and label computed on such a window equals the
full-history value (to 1e-12, labels exactly). A window that reaches back to the run's
first bar is exactly the run's computation.

A forward bar is processed only once every symbol it reads (the ticker and the run's
references) has a bar stamped at or after it: a reference that has not caught up would
otherwise be carried forward from an older bar, and the bar's features would change when
it arrives. With a timeframe, a bin counts once the stored bars reach its end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.backtest import Market
from strategy_factory.data import BarCatalog, bin_start, resample_bars, timeframe_step
from strategy_factory.errors import FactoryError
from strategy_factory.features import build_feature_matrix, volatility_zscore
from strategy_factory.learning.forward_strategy import ForwardStrategy

WARM_UP_BARS = 4_000


@dataclass(frozen=True)
class ForwardWindow:
    """The ticker's bars from the warm-up through the new bars, and its references'.

    ``anchor``: position in ``bars`` of the last bar already processed; ``lagging``:
    the symbols whose bars stop before the ticker's, with their last bar.
    """

    bars: pd.DataFrame
    references: dict[str, pd.DataFrame]
    anchor: int
    lagging: dict[str, pd.Timestamp]

    @property
    def new(self) -> pd.DataFrame:
        """The bars after the anchor."""
        return self.bars.iloc[self.anchor + 1 :]

    def status(self) -> tuple[str, str]:
        """``(status, reason)`` of the tracking after these bars."""
        last = self.bars.index[-1]
        if self.lagging:
            behind = ", ".join(f"{s} after {_day(t)}" for s, t in self.lagging.items())
            return "waiting", f"waiting for bars of {behind}"
        return "tracking", f"up to date: tracked to {_day(last)}"


def read_window(
    catalog: BarCatalog, strategy: ForwardStrategy, anchor: pd.Timestamp, warm_up: int
) -> ForwardWindow:
    """The bars an update of ``strategy`` after bar ``anchor`` reads.

    Only the window is read from the bar store (row groups around it): the cost of an
    update does not grow with the history before it.
    """
    ticker = strategy.ticker
    since = _since(catalog, ticker, strategy, anchor, warm_up)
    bars = _tracked(catalog, ticker, strategy, since)
    position = int(bars.index.searchsorted(anchor))
    if position == len(bars) or bars.index[position] != anchor:
        raise FactoryError(
            f"the bar of {anchor.isoformat()} that forward tracking of {ticker} reached is "
            "no longer stored: its bars were replaced (re-imported?), so its forward results "
            "describe bars that are gone"
        )
    bars = bars.iloc[max(position - warm_up, 0) :]
    references = {
        name: _tracked(
            catalog, name, strategy, _since(catalog, name, strategy, bars.index[0], warm_up)
        )
        for name in strategy.spec.references
    }
    common = min(frame.index[-1] for frame in (bars, *references.values()))
    lagging = {s: f.index[-1] for s, f in references.items() if f.index[-1] < bars.index[-1]}
    return ForwardWindow(
        bars.loc[:common],
        {name: frame.loc[:common] for name, frame in references.items()},
        int(bars.index.searchsorted(anchor)),
        lagging,
    )


def forward_market(strategy: ForwardStrategy, window: ForwardWindow) -> Market:
    """The backtest view of the anchor and the new bars: bars, model predictions,
    volatility z-scores and regime labels, computed over the whole window."""
    bars, references = window.bars, window.references
    features = build_feature_matrix(bars, references, strategy.model.features)
    predictions = strategy.model.predict(features)
    zscore = volatility_zscore(bars["close"].to_numpy(dtype=np.float64))
    regimes = pd.DataFrame(
        {name: labeler.predict(bars, references) for name, labeler in strategy.labelers.items()},
        index=bars.index,
        dtype=np.int64,
    )
    cut = slice(window.anchor, None)
    return Market(
        ticker=strategy.ticker,
        bars=bars.iloc[cut],
        predictions=pd.Series(predictions[cut], index=bars.index[cut]),
        zscore=zscore[cut],
        regimes=regimes.iloc[cut] if strategy.labelers else None,
        regime_labels=strategy.regime_labels(),
    )


def _since(
    catalog: BarCatalog,
    symbol: str,
    strategy: ForwardStrategy,
    moment: pd.Timestamp,
    count: int,
) -> pd.Timestamp | None:
    """Where to start reading ``symbol`` so that ``count`` of its bars precede ``moment``
    (never before the run's start). With a timeframe: the start of the bin ``count``
    bins before it, as bins are cut the same from any bin boundary."""
    start = None if strategy.spec.start is None else pd.Timestamp(strategy.spec.start)
    if strategy.spec.timeframe is not None:
        step = timeframe_step(strategy.spec.timeframe)
        first = bin_start(moment - count * step, step)
    else:
        first = catalog.bars_back(symbol, moment, count)
    return first if start is None else max(first, start)


def _tracked(
    catalog: BarCatalog, symbol: str, strategy: ForwardStrategy, since: pd.Timestamp | None
) -> pd.DataFrame:
    """A symbol's stored bars from ``since``, in the run's timeframe (complete bins only)."""
    bars = catalog.load(symbol, start=since)
    if strategy.spec.timeframe is not None:
        bars = _complete_bins(bars, strategy.spec.timeframe)
    if bars.empty:
        when = "" if since is None else f" from {since.isoformat()} on"
        raise FactoryError(f"no (complete) bars of {symbol} are stored{when}")
    return bars


def _complete_bins(raw: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """``raw`` resampled to ``timeframe``, without bins the stored bars do not reach the
    end of (their last raw bar, one raw step before the bin's end, is not stored yet)."""
    if len(raw) < 2:
        return raw.iloc[:0]
    bars = resample_bars(raw, timeframe)
    raw_step = pd.Timedelta(int(np.diff(raw.index.as_unit("ns").asi8).min()), unit="ns")
    return bars[bars.index + timeframe_step(timeframe) - raw_step <= raw.index[-1]]


def _day(moment: pd.Timestamp) -> str:
    if moment.hour == moment.minute == moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M")
