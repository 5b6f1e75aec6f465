"""Features of a symbol relative to reference symbols (an index, VIX), aligned without look-ahead.

**Alignment.** A bar is labelled by its start and known at its close. An intraday bar
of width ``w`` stamped ``t`` closes at ``t + w``. A daily (or coarser) bar stamped at
00:00 of day ``D`` is assumed known at the close of its last session, and all daily
series are assumed to close at the same moment of the day, so a daily reference of day
``D`` is used by a daily symbol's bar of day ``D`` (SP500 with VIX), but the UTC moment
of that close is unknown. Hence, conservatively:

* reference bar ``r`` is available from ``stamp(r) + width(r)`` (for a daily bar, the
  end of its day);
* a symbol bar uses the last reference bar available by ``stamp + width`` of its own
  bar; when the symbol is daily or coarser and the reference is intraday, by the
  *start* of the symbol bar's last day instead, as its session close is unknown.

So intraday bars use the previous day's daily reference, a daily bar uses the same
day's daily reference and the previous day's intraday ones. Between reference bars the
last value carries forward (an as-of join); before the first one the value is NaN.
Widths are the median spacing of each series' timestamps.

**Features** (per reference ``S``): ``ref_S_rs_5``/``_20`` relative strength (the
symbol's n-bar log return minus the reference's), ``ref_S_corr_20``/``_60`` and
``ref_S_beta_60`` of one-bar log returns on the symbol's bars. A reference with OHLC is a
price, whose level means nothing across time: it adds only ``ref_S_ret_1``, its one-bar
log return. A reference with only a close (``BarMeta.has_ohlc`` False, e.g. VIX) is read
as an indicator series, so it adds ``ref_S_level`` and its log changes
``ref_S_change_1``/``_5``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from strategy_factory.features.rolling import rolling_beta, rolling_corr
from strategy_factory.features.spec import BarInputs, Feature, has_ohlc
from strategy_factory.features.volatility import log_returns

_DAY = pd.Timedelta(days=1)


def bar_width(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The nominal width of the bars in ``index``: the median spacing of their stamps."""
    return pd.Timedelta(int(np.median(np.diff(index.as_unit("ns").asi8))), unit="ns")


def align_reference(
    reference: pd.DataFrame, index: pd.DatetimeIndex, column: str = "close"
) -> np.ndarray:
    """``reference[column]`` as known at the close of each bar of ``index`` (see module doc).

    Example::

        vix_on_sp500 = align_reference(catalog.load("VIX"), catalog.load("SP500").index)
    """
    reference_width = bar_width(reference.index)
    symbol_width = bar_width(index)
    available_from = reference.index.as_unit("ns").asi8 + reference_width.value
    known_by = index.as_unit("ns").asi8 + symbol_width.value
    if symbol_width >= _DAY > reference_width:
        known_by = known_by - _DAY.value
    position = np.searchsorted(available_from, known_by, side="right") - 1
    values = reference[column].to_numpy(dtype=np.float64)
    return np.where(position >= 0, values[np.maximum(position, 0)], np.nan)


def _aligned_close(x: BarInputs, symbol: str) -> np.ndarray:
    return x.cached(  # type: ignore[return-value]
        f"ref_close:{symbol}", lambda: align_reference(x.references[symbol], x.index)
    )


def _aligned_returns(x: BarInputs, symbol: str, periods: int) -> np.ndarray:
    return x.cached(  # type: ignore[return-value]
        f"ref_ret:{symbol}:{periods}", lambda: log_returns(_aligned_close(x, symbol), periods)
    )


def _relative_strength(x: BarInputs, symbol: str, window: int) -> np.ndarray:
    return x.returns(window) - _aligned_returns(x, symbol, window)


def _correlation(x: BarInputs, symbol: str, window: int) -> np.ndarray:
    return rolling_corr(x.returns(1), _aligned_returns(x, symbol, 1), window)


def _beta(x: BarInputs, symbol: str, window: int) -> np.ndarray:
    return rolling_beta(x.returns(1), _aligned_returns(x, symbol, 1), window)


def _level(x: BarInputs, symbol: str) -> np.ndarray:
    return _aligned_close(x, symbol)


@dataclass(frozen=True)
class _Kind:
    compute: Callable[..., np.ndarray]
    keywords: dict[str, int]
    warm_up: int
    text: str
    # "all" references, only "priced" ones (with OHLC), or only "close_only" ones.
    applies_to: str = "all"


_KINDS: dict[str, _Kind] = {
    "ret_1": _Kind(_aligned_returns, {"periods": 1}, 1, "one-bar log return of {s}", "priced"),
    "level": _Kind(_level, {}, 0, "level of {s}", "close_only"),
    "change_1": _Kind(
        _aligned_returns, {"periods": 1}, 1, "one-bar log change of {s}", "close_only"
    ),
    "change_5": _Kind(_aligned_returns, {"periods": 5}, 5, "5-bar log change of {s}", "close_only"),
    "rs_5": _Kind(_relative_strength, {"window": 5}, 5, "5-bar log return minus {s}'s"),
    "rs_20": _Kind(_relative_strength, {"window": 20}, 20, "20-bar log return minus {s}'s"),
    "corr_20": _Kind(_correlation, {"window": 20}, 20, "20-bar correlation of returns with {s}"),
    "corr_60": _Kind(_correlation, {"window": 60}, 60, "60-bar correlation of returns with {s}"),
    "beta_60": _Kind(_beta, {"window": 60}, 60, "60-bar beta of returns on {s}'s"),
}
_NAME = re.compile(rf"^ref_(?P<symbol>.+)_(?P<kind>{'|'.join(_KINDS)})$")


def reference_features(symbol: str, reference: pd.DataFrame) -> list[Feature]:
    """The features a reference symbol offers, named ``ref_<SYMBOL>_<kind>``."""
    kind_of_reference = "priced" if has_ohlc(reference) else "close_only"
    return [
        Feature(
            f"ref_{symbol}_{name}",
            partial(kind.compute, symbol=symbol, **kind.keywords),
            kind.warm_up,
            frozenset({f"ref:{symbol}"}),
            description=kind.text.format(s=symbol),
        )
        for name, kind in _KINDS.items()
        if kind.applies_to in ("all", kind_of_reference)
    ]


def referenced_symbol(name: str) -> str | None:
    """The reference symbol a feature name asks for (``ref_VIX_level`` → ``VIX``), if any."""
    match = _NAME.match(name)
    return match["symbol"] if match else None
