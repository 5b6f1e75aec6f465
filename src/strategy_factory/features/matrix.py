"""The feature registry and the one call that builds a feature matrix.

Names are stable: the price and calendar features of :mod:`.price` and
:mod:`.calendar`, ``exo_<column>`` for each extra numeric column of the bar frame
(e.g. ``exo_planted``), and ``ref_<SYMBOL>_<kind>`` for each reference symbol
(see :mod:`.reference`), then any ``formula:<expression>`` asked for by name (see
:mod:`.formula`), in the order asked. Columns come out in that registry order whatever order
they were asked for, so the same selection always gives the same matrix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.features.calendar import CALENDAR_FEATURES
from strategy_factory.features.formula import formula_feature, is_formula
from strategy_factory.features.price import PRICE_FEATURES
from strategy_factory.features.reference import reference_features, referenced_symbol
from strategy_factory.features.spec import (
    BarInputs,
    Feature,
    check_bars,
    exogenous_columns,
    named_references,
)

STATIC_FEATURES: dict[str, Feature] = {f.name: f for f in (*PRICE_FEATURES, *CALENDAR_FEATURES)}

_WHY_MISSING = {
    "ohlc": "a real open/high/low (these bars have only a close)",
    "volume": "volume (these bars have none)",
    "intraday": "intraday bars (these are stamped at midnight)",
}


def _exogenous(x: BarInputs, name: str) -> np.ndarray:
    return x.column(name)


def _registry(inputs: BarInputs) -> list[Feature]:
    """Every feature these bars could have, available or not, in the stable order."""
    exogenous = [
        Feature(
            f"exo_{c}",
            partial(_exogenous, name=c),
            0,
            frozenset({f"column:{c}"}),
            description=f"the bar frame's own {c!r} column",
        )
        for c in exogenous_columns(inputs.bars)
    ]
    references = [
        feature
        for symbol in sorted(inputs.references)
        for feature in reference_features(symbol, inputs.references[symbol])
    ]
    return [*STATIC_FEATURES.values(), *exogenous, *references]


def _inputs(bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None) -> BarInputs:
    check_bars(bars)
    return BarInputs(bars, named_references(references))


def _available(inputs: BarInputs) -> list[Feature]:
    capabilities = inputs.capabilities()
    return [f for f in _registry(inputs) if f.needs <= capabilities]


def available_features(
    bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None = None
) -> list[str]:
    """Names of every feature these bars (and references) can feed, in registry order.

    Features needing volume are left out for symbols without volume (VIX), those
    needing a real open/high/low for close-only symbols, hour and minute for daily bars.
    """
    return [f.name for f in _available(_inputs(bars, references))]


def feature_descriptions(
    bars: pd.DataFrame, references: Mapping[str, pd.DataFrame] | None = None
) -> dict[str, str]:
    """What each available feature is, by name (for listings)."""
    return {f.name: f.description for f in _available(_inputs(bars, references))}


def _select(inputs: BarInputs, names: Sequence[str] | None) -> list[Feature]:
    available = _available(inputs)
    if names is None:
        return available
    if isinstance(names, str):
        raise FactoryError(f"features is a list of names, e.g. [{names!r}], not one string")
    by_name = {f.name: f for f in _registry(inputs)}
    formulas = [formula_feature(name) for name in dict.fromkeys(names) if is_formula(name)]
    by_name |= {f.name: f for f in formulas}
    for name in names:
        if name not in by_name:
            raise FactoryError(_unknown(name, inputs, list(by_name)))
    capabilities = inputs.capabilities()
    for name in names:
        lacking = sorted(by_name[name].needs - capabilities)
        if lacking:
            reasons = ", ".join(_WHY_MISSING.get(n, n) for n in lacking)
            raise FactoryError(f"feature {name} needs {reasons}; leave it out")
    wanted = set(names)
    return [f for f in available if f.name in wanted] + formulas


def _unknown(name: str, inputs: BarInputs, known: list[str]) -> str:
    symbol = referenced_symbol(name)
    if symbol is not None and symbol not in inputs.references:
        given = ", ".join(sorted(inputs.references)) or "none"
        return (
            f"feature {name} needs the reference symbol {symbol}, which was not given "
            f"(references given: {given}); pass references={{'{symbol}': bars}} "
            f"(on the command line: --reference {symbol})"
        )
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown feature {name!r}{hint} (list them with `factory features list SYMBOL`)"


def _check_length(features: list[Feature], n_bars: int) -> None:
    short = [f for f in features if f.warm_up >= n_bars]
    if short:
        longest = max(short, key=lambda f: f.warm_up)
        names = ", ".join(f.name for f in short[:6]) + (" …" if len(short) > 6 else "")
        raise FactoryError(
            f"too few bars ({n_bars}) for {len(short)} feature(s): {names}; "
            f"{longest.name} needs at least {longest.warm_up + 1} bars. "
            "Load more bars or leave those features out"
        )


def build_feature_matrix(
    bars: pd.DataFrame,
    references: Mapping[str, pd.DataFrame] | None = None,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The feature matrix of ``bars``: one float64 column per feature, NaN in warm-up.

    ``references`` maps a symbol name to its bars (aligned onto ``bars`` without
    look-ahead); ``features`` selects names (default: every available one). The value
    at bar ``t`` uses only bars up to ``t``'s close.

    Example::

        matrix = build_feature_matrix(sp500, {"VIX": vix}, ["ret_1", "rsi_14", "ref_VIX_level"])
    """
    inputs = _inputs(bars, references)
    chosen = _select(inputs, features)
    _check_length(chosen, len(bars))
    # Filled column by column into one block, so a million-bar matrix is never copied.
    values = np.empty((len(chosen), len(bars)), dtype=np.float64)
    for row, feature in enumerate(chosen):
        values[row] = feature.compute(inputs)
    return pd.DataFrame(values.T, index=bars.index, columns=[f.name for f in chosen], copy=False)


def drop_warm_up(matrix: pd.DataFrame) -> pd.DataFrame:
    """``matrix`` from its first row where every feature is finite (later gaps stay)."""
    complete = np.isfinite(matrix.to_numpy(dtype=np.float64)).all(axis=1)
    if not complete.any():
        never = [c for c in matrix.columns if not np.isfinite(matrix[c].to_numpy()).any()]
        detail = f"; never finite: {', '.join(never)}" if never else ""
        raise FactoryError(
            f"no bar has every one of the {matrix.shape[1]} features finite{detail}; "
            "load more bars or select fewer features"
        )
    return matrix.iloc[int(np.argmax(complete)) :]
