"""Phase 2 of a run: simulate each model's whole grid on the selection period, judge the
best configuration on the holdout, promote what passes.

Models arrive from the training phase generation by generation. A model whose
predictions on the selection period equal its parent's (pruning took only features it
did not use) would trade exactly the parent's strategies: it is not simulated again, and
its generation says so. A child's simulation is queued once its parent has been judged,
with the parent's best SQN as its priority (children of the best parents first; a model
that was not simulated again stands for its parent's SQN), and judgements come in
generation order; a promotion ends the run when ``early_stop`` is set, before the
children of the promoted model were queued at all.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.evolution.prepare import RunContext
from strategy_factory.evolution.promotion import Judgement, best_configuration, judge, rank_key
from strategy_factory.evolution.trials import TRIAL_BLOCKS, Trials
from strategy_factory.execution import SIMULATE, Executor, validate_result
from strategy_factory.execution.units import period_bounds, strategy_grid
from strategy_factory.models import TrainedModel, model_from_bytes
from strategy_factory.store import MIN_RANKED_TRADES, LineageEdge, ModelRecord, Store

Update = Callable[..., None]
IDENTICAL_NOTE = (
    "its predictions equal its parent's, so it trades the same strategies: not simulated again"
)
TOO_FEW_TRADES_NOTE = f"not judged: no configuration with ≥ {MIN_RANKED_TRADES} trades"


@dataclass
class _Pending:
    generation: int
    record: ModelRecord
    parent: ModelRecord | None
    future: Future | None


@dataclass
class SimulationPhase:
    """The simulations of one run: submitted, collected in order, judged, promoted."""

    store: Store
    executor: Executor
    context: RunContext
    update: Update
    check_stop: Callable[[], None]
    trials: Trials = field(default_factory=Trials)
    pending: list[_Pending] = field(default_factory=list)
    promoted_id: str | None = None
    best_key: tuple[float, ...] | None = None
    planned: int = 0
    simulated: int = 0
    cells: int = 0
    _predictions: dict[str, np.ndarray] = field(default_factory=dict)
    # The judged models' best SQN (None when not finite), and who stands for a model
    # that was not simulated again because it predicts what its parent predicted.
    _best_sqn_of: dict[str, float | None] = field(default_factory=dict)
    _same_as: dict[str, str] = field(default_factory=dict)
    _grid_cells: dict[str, int] = field(default_factory=dict)

    def add(
        self, generation: int, record: ModelRecord, parent: ModelRecord | None, now: bool
    ) -> None:
        """Queue a generation's model (``now``: submit it as soon as its parent is judged,
        else from :meth:`submit_all` on).

        A model that predicts exactly what its parent predicted is noted and skipped.
        """
        if parent is not None and self._same_as_parent(record, parent):
            self.store.lineage.note(self.context.run_id, record.id, IDENTICAL_NOTE)
            self._same_as[record.id] = parent.id
            self.planned -= 1
            return
        self._grid_cells[record.id] = self._grid_size(record)
        self.pending.append(_Pending(generation, record, parent, None))
        if now:
            self._submit_ready()

    def submit_all(self) -> None:
        """Submit every queued model whose parent has been judged (the others follow as
        their parents are judged, in :meth:`collect`)."""
        self._submit_ready()

    def collect(self, wait: bool) -> bool:
        """Judge simulated generations in order; True when a promotion ends the run."""
        while self.pending and (wait or _done(self.pending[0])):
            entry = self.pending.pop(0)
            if entry.future is None:  # queued without pipelining: submit it now
                entry.future = self._submit(entry.record, entry.parent)
            judgement = self._judge(entry.generation, entry.record, entry.future.result())
            if judgement is not None and judgement.promoted and self.promoted_id is None:
                self.promoted_id = self._promote(entry.record, judgement)
            if self.promoted_id and self.context.config.early_stop:
                for later in self.pending:
                    if later.future is not None:
                        later.future.cancel()
                return True
            self._submit_ready()
        return False

    def simulations_total(self) -> int:
        """Cells simulated so far, the grids of the models waiting to be simulated, and for
        the planned models not trained yet the last known grid (else the configured one)."""
        waiting = sum(self._grid_cells[entry.record.id] for entry in self.pending)
        untrained = max(self.planned - self.simulated - len(self.pending), 0)
        known = list(self._grid_cells.values())
        per_model = known[-1] if known else estimated_cells(self.context)
        return self.cells + waiting + untrained * per_model

    def _grid_size(self, record: ModelRecord) -> int:
        """The cells the simulation of ``record`` will have: its grid on every ticker."""
        context = self.context
        model = model_from_bytes(self.store.models.artifact(record.id))
        strategy = context.config.strategy.model_dump(mode="json")
        grid = strategy_grid(model, context.dataset, strategy, context.default_regime_filters())
        return len(grid) * len(context.dataset.tickers)

    def _standing_for(self, model_id: str) -> str:
        """The simulated model whose results stand for ``model_id``."""
        while model_id in self._same_as:
            model_id = self._same_as[model_id]
        return model_id

    def _submit_ready(self) -> None:
        for entry in self.pending:
            parent = entry.parent
            ready = parent is None or self._standing_for(parent.id) in self._best_sqn_of
            if entry.future is None and ready:
                entry.future = self._submit(entry.record, parent)

    def _predictions_of(self, record: ModelRecord) -> np.ndarray:
        if record.id not in self._predictions:
            model = model_from_bytes(self.store.models.artifact(record.id))
            primary = self.context.dataset.primary
            rows = primary.period(*period_bounds(self.context.spec, "selection"))
            self._predictions[record.id] = model.predict(primary.features.iloc[rows])
        return self._predictions[record.id]

    def _same_as_parent(self, record: ModelRecord, parent: ModelRecord) -> bool:
        mine, theirs = self._predictions_of(record), self._predictions_of(parent)
        if mine.shape != theirs.shape or not np.array_equal(np.isnan(mine), np.isnan(theirs)):
            return False
        scale = float(np.nanmax(np.abs(theirs), initial=0.0))
        return bool(np.allclose(mine, theirs, rtol=1e-9, atol=1e-12 * scale, equal_nan=True))

    def _submit(self, record: ModelRecord, parent: ModelRecord | None) -> Future:
        self.check_stop()
        payload = {
            "dataset": self.context.spec.model_dump(mode="json"),
            "artifact": base64.b64encode(self.store.models.artifact(record.id)).decode("ascii"),
            "strategy": self.context.config.strategy.model_dump(mode="json"),
            "default_regime_filters": self.context.default_regime_filters(),
            "blocks": TRIAL_BLOCKS,
        }
        priority = None if parent is None else self._best_sqn_of.get(self._standing_for(parent.id))
        return self.executor.submit(SIMULATE, payload, priority=priority)

    def _judge(self, generation: int, record: ModelRecord, raw: dict[str, Any]) -> Judgement | None:
        """Record a model's grid, then judge its best configuration on the holdout (None
        when no configuration traded often enough to be judged)."""
        self.check_stop()
        context = self.context
        result = validate_result(SIMULATE, raw).model_dump()
        run_id, rows = context.run_id, result["rows"]
        self.store.simulations.add_many(run_id, record.id, "selection", rows)
        self.trials.add(result, context.config.symbol)
        self.simulated += 1
        self.cells += len(rows)
        criteria = context.config.promotion_criteria()
        index, candidate = best_configuration(pd.DataFrame(rows), criteria, context.config.ranking)
        progress: dict[str, Any] = {
            "simulations_completed": self.store.simulations.count(run_id, period="selection"),
            "configurations_tried": self.trials.count,
            "simulations_total": self.simulations_total(),
        }
        if index is None:
            most = max((int(r["trades"] or 0) for r in rows), default=0)
            note = f"{TOO_FEW_TRADES_NOTE} on the selection period (the most: {most})"
            self.store.lineage.note(run_id, record.id, note)
            self._best_sqn_of[record.id] = None  # judged as far as it goes: children may go
            self.store.lineage.set_parent_sqn(run_id, record.id, None)
            self.update(run_id, **progress, step_status=f"generation {generation}: {note}")
            return None
        best_sqn = _finite(rows[index].get("sqn_100"))
        self._best_sqn_of[record.id] = best_sqn
        self.store.lineage.set_parent_sqn(run_id, record.id, best_sqn)
        model: TrainedModel = model_from_bytes(self.store.models.artifact(record.id))
        execution = context.config.strategy.execution()
        judgement = judge(
            context.dataset, model, rows[index], candidate, execution, criteria, self.trials
        )
        holdout_row = {
            **judgement.config.as_row(),
            **judgement.holdout_metrics,
            "candidate": judgement.candidate,
            "promoted": judgement.promoted,
            "reason": judgement.reason,
            "misses": judgement.misses,
        }
        self.store.simulations.add_many(run_id, record.id, "holdout", [holdout_row])
        status = f"simulated generation {generation}: {judgement.reason}"
        fields = progress | {"step_status": status}
        ranked = rank_key(rows[index], context.config.ranking)
        key = (judgement.promoted, judgement.candidate, *ranked)
        if self.best_key is None or key > self.best_key:
            self.best_key = key
            fields |= {"best_sqn_100": best_sqn, "best_model_id": record.id}
        self.update(run_id, **fields)
        return judgement

    def _promote(self, record: ModelRecord, judgement: Judgement) -> str:
        context = self.context
        strategy = context.config.strategy
        promoted = self.store.promoted.add(
            run_id=context.run_id,
            model_id=record.id,
            strategy={
                **judgement.config.as_row(),
                "fill": strategy.fill,
                "fee_bps": strategy.fee_bps,
                "slippage_bps": strategy.slippage_bps,
            },
            criteria={
                "preset": context.config.criteria_name,
                **context.config.promotion_criteria().model_dump(mode="json"),
            },
            selection_metrics=judgement.selection_metrics,
            holdout_metrics={**judgement.holdout_metrics, "trials": self.trials.summary()},
            configurations_tried=self.trials.count,
            verdict=judgement.verdict.model_dump(mode="json"),
            lineage=[
                edge_json(edge)
                for edge in self.store.lineage.ancestry(record.id, run_id=context.run_id)
            ],
            dsr=judgement.holdout_metrics.get("dsr"),
            pbo=judgement.holdout_metrics.get("pbo"),
        )
        return promoted.id


def estimated_cells(context: RunContext) -> int:
    """Grid cells per model before its thresholds are known (equal quantiles may merge)."""
    strategy = context.config.strategy
    thresholds = strategy.thresholds or strategy.threshold_quantiles
    filters = strategy.regime_filters or context.default_regime_filters()
    per_ticker = len(thresholds) * len(strategy.z_limits) * len(filters) * len(strategy.modes)
    return per_ticker * len(context.config.tickers)


def edge_json(edge: LineageEdge) -> dict[str, Any]:
    """A lineage edge as plain JSON values."""
    return {**asdict(edge), "created_at": edge.created_at.isoformat()}


def _done(entry: _Pending) -> bool:
    return entry.future is not None and entry.future.done()


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
