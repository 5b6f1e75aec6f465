"""What the run report shows, gathered from the store and re-traded once.

:func:`gather_report` reads the run (its config, generations, promotions and the best
model's selection grid) and re-trades the best strategy on the selection and holdout
periods with :func:`~strategy_factory.execution.strategy_detail` (the store keeps
metrics, not bar-by-bar equity). A failed, stopped or unfinished run is gathered as far
as it went.

The *best strategy* is the promoted one; without a promotion it is the run's best judged
configuration (:func:`~strategy_factory.evolution.summary.best_generation`): the best
candidate by the run's ranking key on the selection period, or the best configuration
with enough trades when none was a candidate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from strategy_factory.backtest import StrategyConfig, StrategyDetail
from strategy_factory.evaluate import Verdict
from strategy_factory.evolution.config import EvolveConfig
from strategy_factory.evolution.prepare import RunContext, run_context
from strategy_factory.evolution.promotion import best_configuration, strategy_of
from strategy_factory.evolution.summary import run_summary
from strategy_factory.execution import strategy_detail
from strategy_factory.execution.units import PERIODS, period_bounds
from strategy_factory.models import model_from_bytes
from strategy_factory.store import ModelRecord, PromotedModel, Run, Store, strategy_key

# Recomputed results must match the stored ones to this relative tolerance, else the
# report says the bars changed since the run.
_MATCH_TOLERANCE = 1e-6


@dataclass(frozen=True)
class PeriodSpan:
    """One of the run's three periods: its first and last bar and how many bars it holds
    (``None`` when only the stored boundary is known)."""

    name: str
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    bars: int | None


@dataclass(frozen=True)
class TradedPeriod:
    """The best strategy traded again on one period, next to what the run recorded."""

    period: str
    detail: StrategyDetail
    close: pd.Series
    metrics: dict[str, float]
    stored: dict[str, Any] | None


@dataclass(frozen=True)
class BestStrategy:
    """The strategy the report charts, and why it is the one."""

    model: ModelRecord
    config: StrategyConfig
    promoted: bool
    candidate: bool | None
    chosen_because: str
    selection: TradedPeriod
    holdout: TradedPeriod
    verdict: Verdict | None
    mismatches: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunReport:
    """Everything the page shows, gathered once."""

    run: Run
    summary: dict[str, Any]
    config: EvolveConfig
    periods: list[PeriodSpan]
    best: BestStrategy | None
    grid: pd.DataFrame
    promotion: PromotedModel | None


@dataclass(frozen=True)
class _Choice:
    model_id: str
    row: dict[str, Any]
    chosen_because: str
    stored_holdout: dict[str, Any] | None
    verdict: Verdict | None
    candidate: bool | None


def gather_report(store: Store, run_id: str) -> RunReport:
    """Read run ``run_id`` from ``store`` and re-trade its best strategy.

    Raises :class:`~strategy_factory.errors.NotFoundError` for an unknown run id.
    """
    summary = run_summary(store, run_id)
    run = store.runs.get(run_id)
    config = EvolveConfig.load(run.config["evolve"])
    promotion = _promotion(store, run)
    choice = _choose(store, run, config, summary, promotion)
    if choice is None:
        return RunReport(run, summary, config, _stored_periods(run), None, _no_grid(), promotion)
    context = run_context(run)
    grid = selection_grid(store, run_id, choice.model_id)
    best = _best_strategy(store, context, choice, grid, promotion is not None)
    return RunReport(run, summary, config, _periods(context), best, grid, promotion)


def selection_grid(store: Store, run_id: str, model_id: str) -> pd.DataFrame:
    """Every selection-period result of one model: strategy fields plus its metrics."""
    count = store.simulations.count(run_id, model_id=model_id, period="selection")
    if count == 0:
        return _no_grid()
    results = store.simulations.top(run_id, model_id=model_id, period="selection", limit=count)
    return pd.DataFrame([_row(result) for result in results])


def _row(result: Any) -> dict[str, Any]:
    """A stored result as one flat row: its metrics, then its strategy fields."""
    data = asdict(result)
    return {**data.pop("metrics"), **data}


def _no_grid() -> pd.DataFrame:
    return pd.DataFrame(columns=["ticker", "threshold", "z_limit", "regime_filter", "mode", "sqn"])


def _promotion(store: Store, run: Run) -> PromotedModel | None:
    promotions = store.promoted.recent(run_id=run.id)
    chosen = [p for p in promotions if p.id == run.promotion_id]
    return (chosen or promotions or [None])[0]


def _choose(
    store: Store,
    run: Run,
    config: EvolveConfig,
    summary: dict[str, Any],
    promotion: PromotedModel | None,
) -> _Choice | None:
    if promotion is not None:
        return _Choice(
            model_id=promotion.model_id,
            row=promotion.strategy,
            chosen_because="promoted: it met every criterion on the holdout",
            stored_holdout=promotion.holdout_metrics,
            verdict=Verdict.model_validate(promotion.verdict),
            candidate=True,
        )
    model_id = _best_model_id(run, summary)
    if model_id is None:
        return None
    best = summary["best"]
    judged = store.simulations.top(run.id, model_id=model_id, period="holdout", limit=1)
    if judged:
        metrics = judged[0].metrics
        return _Choice(
            model_id=model_id,
            row=_row(judged[0]),
            chosen_because=(
                "not promoted; the best configuration the holdout gate judged (ranked by "
                f"{best['ranked_by'] if best else config.ranking})"
            ),
            stored_holdout=metrics,
            verdict=config.promotion_criteria().judge(metrics),
            candidate=metrics.get("candidate"),
        )
    grid = selection_grid(store, run.id, model_id)
    index, candidate = best_configuration(grid, config.promotion_criteria(), config.ranking)
    if index is None:
        return None
    return _Choice(
        model_id=model_id,
        row=grid.iloc[index].to_dict(),
        chosen_because=(
            "not judged on the holdout (the run ended first); the configuration the gate "
            "would pick for the run's best model"
        ),
        stored_holdout=None,
        verdict=None,
        candidate=candidate,
    )


def _best_model_id(run: Run, summary: dict[str, Any]) -> str | None:
    """The summary's best (see :func:`~strategy_factory.evolution.summary.best_generation`);
    before anything was judged, the run's best so far as the engine recorded it."""
    return summary["best"]["model_id"] if summary["best"] else run.best_model_id


def _best_strategy(
    store: Store, context: RunContext, choice: _Choice, grid: pd.DataFrame, promoted: bool
) -> BestStrategy:
    record = store.models.get(choice.model_id)
    model = model_from_bytes(store.models.artifact(record.id))
    config = strategy_of(choice.row)
    execution = context.config.strategy.execution()
    stored_selection = _stored_selection(grid, choice.row)
    traded = {}
    for period, stored in (("selection", stored_selection), ("holdout", choice.stored_holdout)):
        detail, metrics = strategy_detail(context.dataset, model, config, execution, period)
        close = context.dataset.tickers[config.ticker].bars["close"].loc[detail.per_bar.index]
        traded[period] = TradedPeriod(period, detail, close, metrics, stored)
    return BestStrategy(
        model=record,
        config=config,
        promoted=promoted,
        candidate=choice.candidate,
        chosen_because=choice.chosen_because,
        selection=traded["selection"],
        holdout=traded["holdout"],
        verdict=choice.verdict,
        mismatches=[m for p in traded.values() if (m := _mismatch(p))],
    )


def _stored_selection(grid: pd.DataFrame, row: dict[str, Any]) -> dict[str, Any] | None:
    if grid.empty:
        return None
    # Narrow by plain columns first; the canonical key settles z_limit and regime filter.
    same = grid[
        (grid["ticker"] == row["ticker"])
        & (grid["mode"] == row["mode"])
        & (grid["threshold"].astype(float) == float(row["threshold"]))
    ]
    wanted = strategy_key(row)
    found = [r for r in same.to_dict("records") if strategy_key(r) == wanted]
    return found[0] if found else None


def _mismatch(traded: TradedPeriod) -> str | None:
    """A sentence when re-trading does not reproduce the stored trades and return."""
    if traded.stored is None:
        return None
    for name in ("trades", "total_return"):
        stored, now = traded.stored.get(name), traded.metrics.get(name)
        if stored is None or now is None:
            continue
        if not math.isclose(float(stored), float(now), rel_tol=_MATCH_TOLERANCE, abs_tol=1e-12):
            return (
                f"re-trading the {traded.period} period gives {name} {now:.6g}, but the run "
                f"recorded {float(stored):.6g}: the bars changed since the run, so the charts "
                "show today's data"
            )
    return None


def _periods(context: RunContext) -> list[PeriodSpan]:
    index = context.dataset.primary.bars.index
    spans = []
    for name in PERIODS:
        rows = context.dataset.primary.period(*period_bounds(context.spec, name))
        chosen = index[rows]
        spans.append(
            PeriodSpan(
                name,
                chosen[0] if len(chosen) else None,
                chosen[-1] if len(chosen) else None,
                len(chosen),
            )
        )
    return spans


def _stored_periods(run: Run) -> list[PeriodSpan]:
    """The periods as recorded, for a run with nothing to re-trade."""
    recorded = run.config.get("periods")
    if recorded:
        return [
            PeriodSpan(
                name,
                _stamp(recorded[name]["first"]),
                _stamp(recorded[name]["last"]),
                recorded[name]["bars"],
            )
            for name in PERIODS
        ]
    spec = run.config.get("dataset", {})
    bounds = [spec.get("start"), spec.get("selection_start"), spec.get("holdout_start")]
    ends = [spec.get("selection_start"), spec.get("holdout_start"), spec.get("end")]
    return [
        PeriodSpan(name, _stamp(first), _stamp(last), None)
        for name, first, last in zip(PERIODS, bounds, ends, strict=True)
    ]


def _stamp(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)
