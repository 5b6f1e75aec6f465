"""The regime-adaptive strategy: members' signals blended with the weights of the bar's regime.

At the close of bar t the classifier's causal label picks the regime; the target
exposure is that regime's weights applied to its members' signals formed at the same
close, filled at the next bar like any signal. A regime's members are the trials
chosen for it, so switching regime switches parameters and weights at once. Bars whose
label is undefined (-1, a classifier still warming up) or a label the ensemble has no
blend for use the overall blend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import BlendDetail, Execution, simulate_blend
from strategy_factory.errors import FactoryError
from strategy_factory.workflow.backtester import Trial, trial_signals
from strategy_factory.workflow.bars import WorkflowBars
from strategy_factory.workflow.config import Family
from strategy_factory.workflow.files import Blend, EnsembleWeights

OVERALL = "overall"


@dataclass(frozen=True)
class AdaptivePlan:
    """Every member any regime uses, and each regime's weights over all of them."""

    classifier: str
    members: list[tuple[str, int, dict[str, Any]]]  # (family, trial, params)
    weights: dict[str, np.ndarray]  # regime label (text) or "overall" -> weight per member

    def row(self, label: int) -> str:
        """The blend in force for a label: its own, else the overall one."""
        return str(label) if str(label) in self.weights else OVERALL


def plan_of(ensemble: EnsembleWeights) -> AdaptivePlan:
    """The adaptive plan an ensemble weights file describes."""
    blends: dict[str, Blend] = {OVERALL: ensemble.overall, **ensemble.regimes}
    members: list[tuple[str, int, dict[str, Any]]] = []
    for blend in blends.values():
        for member in blend.members:
            key = (member.family, member.trial, member.params)
            if key not in members:
                members.append(key)
    weights = {}
    for name, blend in blends.items():
        row = np.zeros(len(members))
        for member, weight in zip(blend.members, blend.weights, strict=True):
            row[members.index((member.family, member.trial, member.params))] += weight
        weights[name] = row
    return AdaptivePlan(ensemble.classifier, members, weights)


@dataclass(frozen=True)
class AdaptiveRun:
    """The adaptive strategy on one period: the blend's detail, regimes and switches."""

    detail: BlendDetail
    regimes: pd.Series  # the classifier's label at each bar's close
    in_force: pd.Series  # the blend in force at each bar's close ("overall" or a label)
    signals: np.ndarray  # (bars × members) member signals

    def switches(self) -> pd.DataFrame:
        """Bars where the blend in force changed: time, from, to."""
        blend = self.in_force.to_numpy()
        changed = np.flatnonzero(blend[1:] != blend[:-1]) + 1
        return pd.DataFrame(
            {"time": self.in_force.index[changed], "from": blend[changed - 1], "to": blend[changed]}
        )


def member_signals(
    data: WorkflowBars, families: dict[str, Family], plan: AdaptivePlan, period: str
) -> np.ndarray:
    """Each member's signal on ``period`` computed from the bars (bars × members, int8)."""
    missing = sorted({family for family, _, _ in plan.members} - set(families))
    if missing:
        raise FactoryError(
            f"the ensemble names family {missing[0]!r}, which the discovery phase does not declare"
        )
    columns = [
        trial_signals(data, families[family], Trial(number, params), period)
        for family, number, params in plan.members
    ]
    return np.column_stack(columns).astype(np.int8)


def run_adaptive(
    data: WorkflowBars,
    families: dict[str, Family],
    plan: AdaptivePlan,
    period: str,
    execution: Execution,
) -> AdaptiveRun:
    """Trade the adaptive strategy on ``period`` (``selection`` or ``holdout``)."""
    cut = data.period(period)
    bars = data.bars.iloc[cut]
    labels = data.regimes[plan.classifier].iloc[cut]
    in_force = pd.Series([plan.row(int(v)) for v in labels.to_numpy()], index=bars.index)
    weights = np.stack([plan.weights[name] for name in in_force.to_numpy()])
    signals = member_signals(data, families, plan, period)
    detail = simulate_blend(bars, signals, weights, execution)
    return AdaptiveRun(detail, labels, in_force, signals)
