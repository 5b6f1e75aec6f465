"""Rebalancing and monitoring over the stored promotions.

:func:`rebalance` gives the active promotions capital: their returns (the holdout's bars
and then their forward bars) go to :func:`~strategy_factory.learning.allocator.allocate`,
and the result is stored as a snapshot with its change against the previous allocation
— or, when no allocation is possible, with the reason. :func:`check_overfitting` runs the
overfitting monitor on every active promotion's forward returns against the promise of
its holdout, stores an alert for each flagged one, and with ``auto_demote`` demotes it
(it leaves the allocator, and its status says why). :func:`fund` is the virtual fund: the
allocations applied to the promotions' forward returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.json_values import plain
from strategy_factory.learning.allocation_diff import diff
from strategy_factory.learning.allocator import allocate
from strategy_factory.learning.forward import forward_returns
from strategy_factory.learning.forward_strategy import holdout_returns
from strategy_factory.learning.fund import virtual_fund
from strategy_factory.learning.monitor import Promise, monitor
from strategy_factory.learning.settings import LearningSettings
from strategy_factory.store import AllocationSnapshot, PromotedModel, Store

ACTIVE = "active"


@dataclass(frozen=True)
class PromotionReturns:
    """A promotion's per-bar returns: its holdout's, then its forward bars'."""

    promotion: PromotedModel
    holdout: pd.Series
    forward: pd.Series
    bars_per_year: float

    @property
    def combined(self) -> pd.Series:
        """Holdout then forward returns on one time index."""
        return pd.concat([self.holdout, self.forward]).sort_index()


def promotion_returns(store: Store, promotion: PromotedModel) -> PromotionReturns:
    """The holdout and forward returns of ``promotion`` (the holdout replayed from its
    stored model, exactly as forward tracking starts from it)."""
    holdout, per_year = holdout_returns(store, promotion)
    return PromotionReturns(promotion, holdout, forward_returns(store, promotion.id), per_year)


@dataclass(frozen=True)
class ActiveReturns:
    """Returns of the active promotions by id (oldest first), and the promotions whose
    returns cannot be rebuilt, with why (their run's bars replaced, their model gone)."""

    series: dict[str, PromotionReturns]
    unavailable: dict[str, str]


def active_returns(store: Store) -> ActiveReturns:
    """Returns of every active promotion (see :class:`ActiveReturns`)."""
    series, unavailable = {}, {}
    for promotion in store.promoted.recent(limit=None, status=ACTIVE)[::-1]:
        try:
            series[promotion.id] = promotion_returns(store, promotion)
        except (FactoryError, ValueError, KeyError) as exc:
            # A run whose bars were replaced, a model or configuration that is not there.
            unavailable[promotion.id] = f"its returns cannot be rebuilt: {exc}"
    return ActiveReturns(series, unavailable)


def rebalance(
    store: Store, settings: LearningSettings, active: ActiveReturns | None = None
) -> AllocationSnapshot:
    """Allocate capital over the active promotions and store the snapshot (a promotion
    whose returns cannot be rebuilt is left out, and named with why)."""
    active = active_returns(store) if active is None else active
    returns = active.series
    options = settings.allocator.model_dump(mode="json")
    if not returns:
        unavailable = "; ".join(f"{key} {why}" for key, why in active.unavailable.items())
        return store.allocations.record(
            state="empty",
            weights={},
            risk={"excluded": active.unavailable},
            diff={},
            reason="no active promotion to allocate to"
            + (f" ({unavailable})" if unavailable else ""),
            settings=options,
        )
    frame = pd.DataFrame({key: item.combined for key, item in returns.items()})
    per_year = float(np.median([item.bars_per_year for item in returns.values()]))
    allocation = allocate(frame, settings.allocator, per_year)
    summary = allocation.to_json()
    risk = {
        # The market time the allocation was made at: the last bar it saw. The virtual
        # fund holds it from the first bar after.
        "as_of": frame.index.max().isoformat(),
        "volatility": summary["volatility"],
        "max_volatility": settings.allocator.max_volatility,
        "expected_return": summary["expected_return"],
        "risk_contributions": summary["risk_contributions"],
        "clusters": summary["clusters"],
        "excluded": {**active.unavailable, **summary["excluded"]},
        "periods": summary["periods"],
        "dropped_periods": summary["dropped_periods"],
        "periods_per_year": per_year,
        "solver_status": summary["solver_status"],
    }
    if not allocation.feasible:
        return store.allocations.record(
            state="infeasible",
            weights={},
            risk=plain(risk),
            diff={},
            reason=allocation.reason,
            settings=options,
        )
    previous = store.allocations.latest(allocated_only=True)
    weights = {str(key): float(weight) for key, weight in allocation.weights.items()}
    change = diff(None if previous is None else previous.weights, weights).to_json()
    return store.allocations.record(
        state="allocated",
        weights=weights,
        risk=plain(risk),
        diff=change,
        reason=None,
        settings=options,
    )


def check_overfitting(
    store: Store, settings: LearningSettings, active: ActiveReturns | None = None
) -> dict[str, Any]:
    """Judge every active promotion's forward record; store alerts, demote when told to.

    Returns what was judged: ``judged`` (how many), ``alerts`` (one entry per flagged
    promotion) and ``states`` (each promotion's verdict and reason; ``not_judged`` for one
    whose returns cannot be rebuilt).
    """
    active = active_returns(store) if active is None else active
    returns = active.series
    alerts: list[dict[str, Any]] = []
    states = {
        key: {"state": "not_judged", "reason": why} for key, why in active.unavailable.items()
    }
    for key, item in returns.items():
        result = monitor(
            Promise.from_holdout(item.holdout), item.forward, settings.monitor, item.bars_per_year
        )
        states[key] = {"state": result.state, "reason": result.reason}
        if not result.flagged:
            continue
        demoted = settings.auto_demote and store.promoted.demote(
            key, f"overfitting monitor: {result.reason}"
        )
        alert, new = store.alerts.raise_alert(
            promotion_id=key,
            test="cusum",
            statistic=result.statistic,
            threshold=result.threshold,
            evidence=result.to_json(),
            demoted=bool(demoted),
        )
        alerts.append(
            {
                "alert_id": alert.id,
                "promotion_id": key,
                "statistic": result.statistic,
                "threshold": result.threshold,
                "new": new,
                "demoted": alert.demoted,
            }
        )
    return plain({"judged": len(returns), "alerts": alerts, "states": states})


def fund(store: Store) -> dict[str, Any] | None:
    """The virtual fund of the stored allocations over the promotions' forward returns,
    or None while no allocation or no forward return exists."""
    snapshots = store.allocations.allocated()
    if not snapshots:
        return None
    held = sorted({key for snapshot in snapshots for key in snapshot.weights})
    columns = {key: forward_returns(store, key) for key in held}
    frame = pd.DataFrame({key: series for key, series in columns.items() if len(series)})
    if frame.empty:
        return None
    frame = frame.reindex(columns=held).fillna(0.0)
    table = {pd.Timestamp(s.risk["as_of"]): s.weights for s in snapshots}
    return virtual_fund(table, frame).to_json(series=True)
