"""The evolution engine: train → prune → simulate → judge, generation after generation.

Phase 1 trains the seed model, prunes the bottom ``prune_fraction`` of its features by
importance and trains the child, up to ``max_generations`` or until nothing can be
pruned. A model whose training-config fingerprint is already in the store is reused,
never retrained. Phase 2 simulates every model across its whole strategy grid on the
selection period and judges its best configuration on the holdout (see
:mod:`.promotion`). With ``pipelining`` a generation is simulated while the next one
trains; with ``early_stop`` a promotion ends the run.

Everything is recorded as it happens, so a run killed at any point resumes where it
stopped: replaying the deterministic plan finds each trained model by fingerprint,
re-records nothing (results are idempotent) and counts nothing twice.

The engine drives a run on behalf of an *owner* (a server's coordinator, ``factory
evolve``) that holds the run's lease: every write to the run is fenced by the owner's id,
so a driver that lost the lease stops with :class:`LeaseLostError` instead of racing the
new one. When the store stays unreachable past the retries of its writes, the run is left
as it is (``running``, its lease running out) and :class:`StoreUnavailableError` is
raised: whoever resumes it later continues where it stopped, nothing is marked failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from strategy_factory.errors import FactoryError
from strategy_factory.evolution.prepare import RunContext, run_context
from strategy_factory.evolution.pruning import NoRankingError, lineage_length, prune
from strategy_factory.evolution.simulation import SimulationPhase
from strategy_factory.evolution.trainer import ModelTrainer
from strategy_factory.evolution.trials import Trials
from strategy_factory.execution import Executor, executor_notices
from strategy_factory.store import (
    ModelRecord,
    Run,
    Store,
    StoreUnavailableError,
    is_transient,
)

PBO_BLOCKS = 16
Listener = Callable[[Run], None]


class StopRequestedError(Exception):
    """The user asked the run to stop (checked between units of work)."""


class Evolution:
    """Runs (or resumes) recorded evolution runs with an executor, recording into a store.

    ``owner_id``: the id of the run lease's holder (see :meth:`RunRepository.acquire`);
    the run's writes are fenced by it. Without one, writes are not fenced (a library
    caller that knows it is alone) and fingerprint claims use a fresh id.
    """

    def __init__(
        self,
        store: Store,
        executor: Executor,
        listener: Listener | None = None,
        owner_id: str | None = None,
    ):
        self.store = store
        self.executor = executor
        self.listener = listener
        self.owner_id = owner_id
        self.trainer = ModelTrainer(
            store, executor, owner_id or f"engine-{uuid.uuid4().hex[:12]}", self._stop_check
        )
        self._run_id = ""

    def run(self, run_id: str) -> Run:
        """Run ``run_id`` to its end, or resume it where it stopped; returns the final run."""
        self._run_id = run_id
        run = self.store.runs.get(run_id)
        if run.status in ("completed", "stopped"):
            raise FactoryError(f"run {run_id} has already {run.status}; start a new run instead")
        try:
            context = run_context(run)
            self.store.runs.start(run_id, owner_id=self.owner_id)
            reason, promoted_id = self._evolve(context)
        except StopRequestedError:
            return self._finish(run_id, "stopped", "stopped_by_user")
        except Exception as exc:
            if is_transient(exc):
                raise _unavailable(run_id, exc) from exc
            if self._stop_requested(run_id):  # e.g. its queued units were cancelled by the stop
                return self._finish(run_id, "stopped", "stopped_by_user")
            self._fail(run_id, exc)
            raise
        return self._finish(run_id, "completed", reason, promoted_id=promoted_id)

    def _stop_requested(self, run_id: str) -> bool:
        try:
            return self.store.runs.get(run_id).stop_requested
        except Exception:  # the failure being recorded matters more than this check
            return False

    def _fail(self, run_id: str, exc: Exception) -> None:
        """Record the failure (unless the store is what failed: then leave it resumable)."""
        try:
            self._finish(run_id, "failed", "failed", error=f"{type(exc).__name__}: {exc}")
        except Exception as recording:
            if is_transient(recording):
                raise _unavailable(run_id, recording) from exc
            raise

    def _evolve(self, context: RunContext) -> tuple[str, str | None]:
        config = context.config
        phase = SimulationPhase(
            self.store,
            self.executor,
            context,
            self._update,
            self._stop_check,
            trials=Trials(prior=config.prior_trials),
        )
        features, parent, pruned = list(context.seed_features), None, []
        phase.planned = lineage_length(
            len(features), config.prune_fraction, config.min_features, config.max_generations
        )
        reason = "max_generations"
        self._update(
            context.run_id,
            models_total=phase.planned,
            simulations_total=phase.simulations_total(),
            step_status="starting",
        )
        trained = 0
        for generation in range(config.max_generations):
            record = self._model(context, generation, features, parent, pruned)
            trained += 1
            signal = (record.validation_metrics or {}).get("signal", {})
            if not signal.get("usable", False):
                reason = self._no_signal(context, generation, record, signal)
                break
            if config.pipelining and phase.collect(wait=False):
                return "promoted", phase.promoted_id
            phase.add(generation, record, parent, now=config.pipelining)
            self._update(context.run_id, simulations_total=phase.simulations_total())
            try:
                kept, pruned = prune(
                    features,
                    (record.importance or {}).get("scores", {}),
                    config.prune_fraction,
                    config.min_features,
                    tie_break=(record.validation_metrics or {}).get("feature_rank_ic"),
                )
            except NoRankingError as exc:
                reason = self._no_signal(context, generation, record, {"description": str(exc)})
                break
            if not pruned:
                reason = "cannot_prune"
                break
            features, parent = kept, record
        phase.planned = phase.simulated + len(phase.pending)
        self._update(
            context.run_id, models_total=trained, simulations_total=phase.simulations_total()
        )
        phase.submit_all()
        if phase.collect(wait=True):
            return "promoted", phase.promoted_id
        return reason, phase.promoted_id

    def _no_signal(
        self, context: RunContext, generation: int, record: ModelRecord, signal: dict[str, Any]
    ) -> str:
        """Stop the lineage: this generation's model has no signal to prune or trade."""
        note = f"no signal: {signal.get('description', 'the model ranks nothing')}"
        self.store.lineage.note(context.run_id, record.id, note)
        self._update(context.run_id, step_status=f"generation {generation}: {note}")
        return "no_signal"

    def _check_stop(self, run_id: str) -> None:
        if self.store.runs.get(run_id).stop_requested:
            raise StopRequestedError

    def _stop_check(self) -> None:
        self._check_stop(self._run_id)

    def _model(
        self,
        context: RunContext,
        generation: int,
        features: list[str],
        parent: ModelRecord | None,
        pruned: list[str],
    ) -> ModelRecord:
        """The model of one generation: found by fingerprint, or trained now."""
        self._check_stop(context.run_id)
        training = context.training_config(features)
        self._update(
            context.run_id,
            current_generation=generation,
            step_status=f"training generation {generation} ({len(features)} features)",
        )
        model_id, trained = self.trainer.model_id(context, generation, training)
        status = (
            f"trained generation {generation}"
            if trained
            else f"generation {generation}: reused a trained model"
        )
        record = self.store.models.get(model_id)
        self._record_edge(context, generation, record, parent, pruned)
        self._update(context.run_id, current_generation=generation, step_status=status)
        return record

    def _record_edge(
        self,
        context: RunContext,
        generation: int,
        record: ModelRecord,
        parent: ModelRecord | None,
        pruned: list[str],
    ) -> None:
        recorded = {e.child_model_id for e in self.store.lineage.of_run(context.run_id)}
        if record.id not in recorded:
            self.store.lineage.add_edge(
                run_id=context.run_id,
                child_model_id=record.id,
                parent_model_id=None if parent is None else parent.id,
                generation=generation,
                pruned_features=pruned,
                remaining_features=record.features,
                reason=_reason(parent, pruned, context.config.prune_fraction),
            )
            recorded.add(record.id)
        # Counted from the lineage, not incremented: a run killed between recording an
        # edge and counting it still shows every model on resume.
        self._update(context.run_id, models_trained=len(recorded))

    def _update(self, run_id: str, **fields: Any) -> None:
        notices = executor_notices(self.executor)
        if notices and fields.get("step_status"):  # e.g. a Dask worker refused mid-run
            fields["step_status"] = " · ".join([fields["step_status"], *notices[-3:]])
        run = self.store.runs.update_progress(run_id, owner_id=self.owner_id, **fields)
        if self.listener is not None:
            self.listener(run)

    def _finish(
        self,
        run_id: str,
        status: str,
        reason: str,
        error: str | None = None,
        promoted_id: str | None = None,
    ) -> Run:
        run = self.store.runs.finish(
            run_id, status, reason, error=error, promotion_id=promoted_id, owner_id=self.owner_id
        )
        if self.listener is not None:
            self.listener(run)
        return run


def _unavailable(run_id: str, exc: BaseException) -> StoreUnavailableError:
    detail = " ".join(str(getattr(exc, "orig", exc)).split())[:200]
    return StoreUnavailableError(
        f"the store became unreachable while driving run {run_id} ({detail}); the run is "
        f"left as it was: resume it with `factory evolve --resume {run_id}` once the store "
        "is back (a server resumes it by itself)"
    )


def _reason(parent: ModelRecord | None, pruned: list[str], fraction: float) -> str:
    if parent is None:
        return "seed"
    return f"pruned the {len(pruned)} least important feature(s) (prune_fraction {fraction:g})"
