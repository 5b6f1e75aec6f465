"""The checks of the configuration audit, each a plain function of the data a run reads.

Every check returns :class:`Finding` values: what is wrong, its measured consequence and
a fix. None of them trains or simulates anything; they read bars, features, regime labels
and volatility z-scores, which the run would build anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from strategy_factory.data import BarCatalog
from strategy_factory.evolution.config import EvolveConfig
from strategy_factory.evolution.prepare import default_training_bars
from strategy_factory.execution.dataset import Dataset, DatasetSpec, read_bars, training_end
from strategy_factory.execution.units import PERIODS, period_bounds
from strategy_factory.features import default_labelers
from strategy_factory.store import SimulationResult

KINDS = (
    "never_trades",
    "cells_never_trade",
    "constant_feature",
    "reference_coverage",
    "regime_labeler_leak",
    "period_too_short",
)


@dataclass(frozen=True)
class Finding:
    """One reason a configuration cannot work (``error``) or works on less than it seems
    (``warning``)."""

    kind: str
    severity: str
    subject: str
    consequence: str
    fix: str


def reference_coverage(spec: DatasetSpec, catalog: BarCatalog) -> list[Finding]:
    """References that start after or end before the symbol: bars the run loses, or bars
    whose reference features stop being fresh."""
    index = read_bars(spec.symbol, spec, catalog).index
    findings = []
    for reference in spec.references:
        ref = read_bars(reference, spec, catalog).index
        before, after = int((index < ref[0]).sum()), int((index > ref[-1]).sum())
        if before:
            findings.append(
                Finding(
                    "reference_coverage",
                    "warning",
                    reference,
                    f"{reference} starts {ref[0].date()}, after {spec.symbol} "
                    f"({index[0].date()}): the run loses the first {before:,} of "
                    f"{len(index):,} bars of {spec.symbol}",
                    f"drop {reference}, or accept the history from {ref[0].date()}",
                )
            )
        if after:
            findings.append(
                Finding(
                    "reference_coverage",
                    "error",
                    reference,
                    f"{reference} ends {ref[-1].date()}, before {spec.symbol} "
                    f"({index[-1].date()}): the last {after:,} bars of {spec.symbol} have no "
                    f"fresh {reference} bar, so its features there are stale or undefined",
                    f"set data_options.end to {ref[-1].date()} or drop {reference}",
                )
            )
    return findings


def constant_features(dataset: Dataset, features: list[str]) -> list[Finding]:
    """Features that do not vary over one of the periods: they cannot tell its bars apart."""
    primary = dataset.primary
    findings = []
    for period in PERIODS:
        rows = primary.features.iloc[primary.period(*period_bounds(dataset.spec, period))]
        for name in features:
            values = rows[name].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            if values.size and np.ptp(values) == 0:
                findings.append(
                    Finding(
                        "constant_feature",
                        "warning",
                        name,
                        f"{name} is {values[0]:g} on all {values.size:,} bars of the "
                        f"{period} period: it cannot tell them apart"
                        + (
                            ", and the model learns nothing from it"
                            if period == "training"
                            else ", so whatever the model learned from it is a fixed offset"
                        ),
                        f"drop {name} from seed_features, or use a timeframe or period where "
                        "it varies",
                    )
                )
    return findings


def labeler_leak(spec: DatasetSpec, dataset: Dataset, catalog: BarCatalog) -> list[Finding]:
    """Regime labelers whose labels differ from the same labeler fitted on the training
    period only: they were fitted on bars after it (look-ahead)."""
    bars = read_bars(spec.symbol, spec, catalog)
    references = {r: read_bars(r, spec, catalog) for r in spec.references}
    end = training_end(bars.index, spec) if spec.selection_start else _default_training_end(bars)
    training = bars.loc[:end]
    labelled = dataset.primary.regimes
    findings = []
    for name, labeler in default_labelers(references).items():
        honest = clone(labeler).fit(training, references).predict(bars, references)
        honest = honest[-len(labelled) :]
        differ = int((honest != labelled[name].to_numpy()).sum())
        if differ:
            findings.append(
                Finding(
                    "regime_labeler_leak",
                    "error",
                    name,
                    f"{name} labels {differ:,} of {len(labelled):,} bars differently from the "
                    f"same labeler fitted on the training period (to {end.date()}): it was "
                    "fitted on later bars, so every regime filter and regime split with it "
                    "looked ahead",
                    "give the run its selection and holdout boundaries (data_options) so "
                    "labelers are fitted on the training period only",
                )
            )
    return findings


def _default_training_end(bars: pd.DataFrame) -> pd.Timestamp:
    return default_training_bars(bars.index)[-1]


def periods_too_short(config: EvolveConfig, periods: dict[str, Any]) -> list[Finding]:
    """Selection or holdout periods with fewer bars than the criteria's minimum trades
    (a trade lasts at least a bar), or so few that only trading most bars can pass."""
    limits = config.promotion_criteria().trades
    needed = None if limits is None else limits.min
    findings = []
    for name in ("selection", "holdout") if needed else ():
        bars = periods[name]["bars"]
        if bars - 1 < needed:
            severity, consequence = (
                "error",
                "no strategy can make that many trades: nothing can be promoted",
            )
        elif bars < 2 * needed:
            severity, consequence = "warning", "only a strategy trading on most bars can pass"
        else:
            continue
        findings.append(
            Finding(
                "period_too_short",
                severity,
                name,
                f"the {name} period has {bars:,} bars for a minimum of {needed:g} trades: "
                + consequence,
                "use more history, a shorter timeframe, a larger data_options "
                f"{name}_fraction, or criteria asking fewer trades (criteria: evidence asks 30)",
            )
        )
    return findings


def never_trades(config: EvolveConfig, dataset: Dataset) -> list[Finding]:
    """Thresholds, z-limits and regime filters under which a ticker never trades in the
    selection period, and grid cells whose z-limit and regime filter together allow no
    bar, measured on the bars."""
    strategy = config.strategy
    findings = []
    for ticker, data in dataset.tickers.items():
        rows = data.period(*period_bounds(dataset.spec, "selection"))
        zscore = data.zscore[rows]
        regimes = data.regimes.iloc[rows]
        target = np.abs(data.target.iloc[: rows.start].to_numpy())
        largest = float(np.nanmax(target)) if np.isfinite(target).any() else np.inf
        for threshold in strategy.thresholds or []:
            if threshold >= largest:
                findings.append(_threshold_finding(ticker, threshold, largest))
        z_allowed = {z: _z_allows(zscore, z) for z in strategy.z_limits}
        for z, allowed in z_allowed.items():
            if not allowed.any():
                findings.append(_z_finding(ticker, z, zscore))
        filters = strategy.regime_filters or []
        f_allowed = [(f, _filter_allows(regimes, f)) for f in filters]
        for regime_filter, allowed in f_allowed:
            if not allowed.any():
                findings.append(_filter_finding(ticker, regime_filter, regimes))
        findings += _empty_cells(ticker, z_allowed, f_allowed)
    return findings


def _z_allows(zscore: np.ndarray, z_limit: float | None) -> np.ndarray:
    if z_limit is None:
        return np.ones(zscore.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        return zscore <= z_limit


def _filter_allows(regimes: pd.DataFrame, regime_filter: Any) -> np.ndarray:
    allowed = np.ones(len(regimes), dtype=bool)
    for column, labels in (regime_filter or {}).items():
        allowed &= np.isin(regimes[column].to_numpy(), labels)
    return allowed


def _threshold_finding(ticker: str, threshold: float, largest: float) -> Finding:
    return Finding(
        "never_trades", "error", f"{ticker} threshold {threshold:g}",
        f"the threshold {threshold:g} is above the largest |target| of {ticker}'s training "
        f"period ({largest:.4g}): a model predicting that target never reaches it, so no "
        "cell with it trades",
        "use threshold_quantiles (quantiles of each model's own |prediction|) instead of "
        "absolute thresholds, or thresholds well below the target's scale",
    )  # fmt: skip


def _z_finding(ticker: str, z_limit: float, zscore: np.ndarray) -> Finding:
    lowest = np.nanmin(zscore) if np.isfinite(zscore).any() else float("nan")
    return Finding(
        "never_trades", "error", f"{ticker} z_limit {z_limit:g}",
        f"{ticker}'s volatility z-score is never at or below {z_limit:g} in the selection "
        f"period (lowest {lowest:.2f}): no cell with this z_limit trades",
        f"raise the z_limit above {lowest:.2f} or drop it",
    )  # fmt: skip


def _filter_finding(ticker: str, regime_filter: Any, regimes: pd.DataFrame) -> Finding:
    seen = {c: sorted(set(regimes[c].to_numpy().tolist()) - {-1}) for c in regime_filter}
    return Finding(
        "never_trades", "error", f"{ticker} regime filter {regime_filter}",
        f"no bar of {ticker}'s selection period is in regime filter {regime_filter}: no "
        "cell with it trades",
        f"allow labels the period has ({seen}) or drop the filter",
    )  # fmt: skip


def _empty_cells(
    ticker: str, z_allowed: dict[Any, np.ndarray], f_allowed: list[tuple[Any, np.ndarray]]
) -> list[Finding]:
    """z-limit × regime filter cells that allow no bar although each part alone does."""
    findings = []
    for z, by_z in z_allowed.items():
        if z is None:
            continue
        for regime_filter, by_filter in f_allowed:
            if by_z.any() and by_filter.any() and not (by_z & by_filter).any():
                findings.append(
                    Finding(
                        "cells_never_trade",
                        "warning",
                        f"{ticker} z_limit {z:g} × {regime_filter}",
                        f"no bar of {ticker}'s selection period is both within z_limit {z:g} "
                        f"and in {regime_filter}: every cell of this pair never trades",
                        "drop the pair's z_limit or filter, or list only compatible ones",
                    )
                )
    return findings


def cells_never_traded(results: list[SimulationResult]) -> list[Finding]:
    """A run's selection-period cells that made no trade, and the grid values under which
    no cell of a ticker ever traded."""
    if not results:
        return []
    frame = pd.DataFrame(
        {
            "ticker": [r.ticker for r in results],
            "threshold": [r.threshold for r in results],
            "z_limit": [r.z_limit for r in results],
            "regime_filter": [str(r.regime_filter) for r in results],
            "mode": [r.mode for r in results],
            "traded": [bool(r.trades) for r in results],
        }
    )
    findings = []
    for ticker, rows in frame.groupby("ticker"):
        for axis in ("threshold", "z_limit", "regime_filter", "mode"):
            for value, cells in rows.groupby(axis, dropna=False):
                if not cells["traded"].any() and rows[axis].nunique(dropna=False) > 1:
                    findings.append(
                        Finding(
                            "never_trades",
                            "error",
                            f"{ticker} {axis} {value}",
                            f"all {len(cells):,} simulated cells of {ticker} with {axis} "
                            f"{value} made no trade in the selection period",
                            f"drop {axis} {value} from the strategy grid",
                        )
                    )
        idle = int((~rows["traded"]).sum())
        if idle:
            findings.append(
                Finding(
                    "cells_never_trade",
                    "warning",
                    str(ticker),
                    f"{idle:,} of {len(rows):,} simulated cells of {ticker} "
                    f"({idle / len(rows):.0%}) made no trade in the selection period: "
                    "simulated for nothing, and never a trial",
                    "narrow the grid to values that trade (see the findings above)",
                )
            )
    return findings
