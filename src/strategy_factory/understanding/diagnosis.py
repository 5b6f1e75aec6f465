"""Why a strategy wins or loses on a period, from its trades alone.

:func:`diagnose_trades` takes one configuration's trades (a
:class:`~strategy_factory.backtest.StrategyDetail`) and what was known at each decision:
regime labels, volatility z-score, the model's features and their contributions. It
compares every group of every split with the other trades, every feature before losing
against before winning trades, and corrects all of those p-values together
(Benjamini-Hochberg at :data:`FDR`): one family, so looking at more splits or features
raises the bar for each. The verdict sentences are written from the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control

from strategy_factory.backtest import StrategyDetail
from strategy_factory.json_values import plain
from strategy_factory.understanding.precursors import (
    MIN_SIDE_TRADES,
    FeatureResult,
    attribution_table,
    compare_features,
)
from strategy_factory.understanding.splits import (
    MIN_GROUP_TRADES,
    GroupResult,
    compare_groups,
    decision_bars,
    trade_contexts,
)

FDR = 0.05
# Features past this many are named in one sentence: the tables hold their figures.
MOST_FEATURE_SENTENCES = 5


@dataclass(frozen=True)
class Diagnosis:
    """The diagnosis of one configuration on one period (see the module docstring)."""

    trades: int
    open_trades_left_out: int
    tests: int
    splits: list[dict[str, Any]]
    features: list[dict[str, Any]]
    attribution: list[dict[str, float]] | None
    attribution_note: str
    verdict: list[str]
    notes: list[str] = field(default_factory=list)

    def significant_groups(self) -> list[dict[str, Any]]:
        """The split groups that pass the correction."""
        return [s for s in self.splits if s["significant"]]

    def significant_features(self) -> list[dict[str, Any]]:
        """The features that pass the correction."""
        return [f for f in self.features if f["significant"]]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values; non-finite numbers become null."""
        return plain(asdict(self))


@dataclass(frozen=True)
class TradeInputs:
    """What was known at every bar of the period, aligned with the detail's bars."""

    regimes: pd.DataFrame | None
    zscore: np.ndarray
    features: pd.DataFrame
    contributions: pd.DataFrame | None = None
    regime_names: Mapping[str, Mapping[int, str]] | None = None
    attribution_note: str = ""


def diagnose_trades(detail: StrategyDetail, inputs: TradeInputs) -> Diagnosis:
    """Diagnose the closed trades of ``detail`` (a trade still open at the last bar has
    no outcome yet and is left out, said in the notes)."""
    closed = detail.trades[~detail.trades["is_open"]]
    left_out = len(detail.trades) - len(closed)
    if closed.empty:
        return _nothing(left_out, inputs.attribution_note)
    index = detail.per_bar.index
    returns = closed["return"].to_numpy(dtype=np.float64)
    at = decision_bars(closed, index)
    contexts = trade_contexts(closed, index, inputs.regimes, inputs.zscore, inputs.regime_names)
    features = compare_features(inputs.features.iloc[at].reset_index(drop=True), returns)
    groups = _step_down(returns, contexts, features)
    attribution = None
    if inputs.contributions is not None:
        signed = inputs.contributions.iloc[at].mul(closed["direction"].to_numpy(), axis=0)
        attribution = attribution_table(signed.reset_index(drop=True), returns)
    adjusted = _adjust([g.p_value for g in groups] + [f.p_value for f in features])
    split_rows = [_group_row(g, p) for g, p in zip(groups, adjusted[: len(groups)], strict=True)]
    feature_rows = [
        _feature_row(f, p) for f, p in zip(features, adjusted[len(groups) :], strict=True)
    ]
    tests = sum(p is not None for p in adjusted)
    notes = _notes(contexts, returns, groups, left_out)
    return Diagnosis(
        trades=len(closed),
        open_trades_left_out=left_out,
        tests=tests,
        splits=split_rows,
        features=feature_rows,
        attribution=attribution,
        attribution_note=inputs.attribution_note,
        verdict=verdict(split_rows, feature_rows, tests, len(closed)),
        notes=notes,
    )


def _step_down(
    returns: np.ndarray, contexts: pd.DataFrame, features: list[FeatureResult]
) -> list[GroupResult]:
    """Groups compared with the rest, step by step: in each split the group that differs
    most (after correction) is set aside and the others are compared again without it,
    until no further group differs (see
    :func:`~strategy_factory.understanding.splits.compare_groups`)."""
    aside: dict[str, set[str]] = {}
    while True:
        groups = compare_groups(returns, contexts, aside)
        adjusted = _adjust([g.p_value for g in groups] + [f.p_value for f in features])
        strongest: dict[str, tuple[float, str]] = {}
        for group, p in zip(groups, adjusted, strict=False):
            if p is None or p > FDR or group.group in aside.get(group.split, set()):
                continue
            strongest[group.split] = min(
                strongest.get(group.split, (p, group.group)), (p, group.group)
            )
        if not strongest:
            return groups
        for split, (_, name) in strongest.items():
            aside.setdefault(split, set()).add(name)


def _nothing(left_out: int, attribution_note: str) -> Diagnosis:
    note = "no closed trade in the period: nothing to diagnose"
    if left_out:
        note += f" (one trade was still open at the last bar, {left_out} left out)"
    return Diagnosis(0, left_out, 0, [], [], None, attribution_note, [note + "."], [note])


def _adjust(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values of the tested entries, None elsewhere."""
    tested = [p for p in p_values if p is not None]
    if not tested:
        return [None] * len(p_values)
    adjusted = iter(false_discovery_control(np.asarray(tested), method="bh"))
    return [None if p is None else float(next(adjusted)) for p in p_values]


def _group_row(result: GroupResult, adjusted: float | None) -> dict[str, Any]:
    return {
        **asdict(result),
        "adjusted_p": adjusted,
        "significant": adjusted is not None and adjusted <= FDR,
    }


def _feature_row(result: FeatureResult, adjusted: float | None) -> dict[str, Any]:
    return {
        **asdict(result),
        "adjusted_p": adjusted,
        "significant": adjusted is not None and adjusted <= FDR,
    }


def _notes(
    contexts: pd.DataFrame, returns: np.ndarray, groups: list[GroupResult], left_out: int
) -> list[str]:
    notes = []
    if left_out:
        notes.append(f"{left_out} trade still open at the last bar is left out (no outcome yet)")
    for split in contexts.columns:
        only = pd.unique(contexts[split])
        if len(only) == 1:
            notes.append(f"{split}: every trade is in {only[0]}, nothing to compare")
    small: dict[str, list[str]] = {}
    for g in groups:
        if not g.tested:
            small.setdefault(g.split, []).append(f"{g.group} ({g.trades})")
    for split, names in small.items():
        notes.append(
            f"{split}: too few trades to test (fewer than {MIN_GROUP_TRADES} in the group "
            f"or outside it): {', '.join(names)}"
        )
    winners = int((returns > 0).sum())
    if min(winners, len(returns) - winners) < MIN_SIDE_TRADES:
        notes.append(
            f"{winners} winning and {len(returns) - winners} losing trades: fewer than "
            f"{MIN_SIDE_TRADES} on a side, so features before losses are not compared"
        )
    return notes


def verdict(
    splits: list[dict[str, Any]], features: list[dict[str, Any]], tests: int, trades: int
) -> list[str]:
    """Plain sentences: every group and feature that passes the correction, or that
    nothing does."""
    if tests == 0:
        return [
            f"Nothing could be tested: {trades} trade(s) are too few for any split "
            f"(at least {MIN_GROUP_TRADES} per group and outside it) or feature comparison."
        ]
    significant = [s for s in splits if s["significant"]]
    telling = [f for f in features if f["significant"]]
    if not significant and not telling:
        return [
            f"Nothing passes Benjamini-Hochberg correction at {FDR:.0%} over {tests} tests: "
            f"over {trades} trades, results do not depend detectably on regime, hour, "
            "weekday, volatility, side or holding time, and no feature differs before "
            "losing and winning trades."
        ]
    sentences = [_split_sentence(s) for s in sorted(significant, key=lambda s: s["adjusted_p"])]
    telling = sorted(telling, key=lambda f: f["adjusted_p"])
    sentences += [_feature_sentence(f) for f in telling[:MOST_FEATURE_SENTENCES]]
    if len(telling) > MOST_FEATURE_SENTENCES:
        rest = [f["feature"] for f in telling[MOST_FEATURE_SENTENCES:]]
        sentences.append(
            f"{len(rest)} more features also differ before losing trades (correlated "
            f"indicators often say one thing many times): {', '.join(rest)}."
        )
    sentences.append(
        f"{len(significant) + len(telling)} of {tests} tests pass Benjamini-Hochberg "
        f"correction at {FDR:.0%}."
    )
    return sentences


def _split_sentence(row: dict[str, Any]) -> str:
    better = row["mean_return"] > row["rest_mean_return"]
    return (
        f"{row['split']} = {row['group']}: trades earn {'more' if better else 'less'} than "
        f"the rest, {row['mean_return']:+.3%} on average against "
        f"{row['rest_mean_return']:+.3%} ({row['trades']} against {row['rest_trades']} "
        f"trades, win rate {row['win_rate']:.0%}; BH-adjusted p = {row['adjusted_p']:.2g})."
    )


def _feature_sentence(row: dict[str, Any]) -> str:
    higher = row["losers_median"] > row["winners_median"]
    return (
        f"Before losing trades {row['feature']} is {'higher' if higher else 'lower'}: "
        f"median {row['losers_median']:.4g} against {row['winners_median']:.4g} before "
        f"winning trades ({row['losers']} losers, {row['winners']} winners; "
        f"BH-adjusted p = {row['adjusted_p']:.2g})."
    )
