"""What the run and promotion endpoints answer (mirrors of the store's records)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class RunOut(BaseModel):
    """A run's progress in both phases (training, simulation) and its outcome."""

    id: str
    status: str
    symbol: str
    algorithm: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    current_generation: int
    max_generations: int
    models_trained: int
    models_total: int
    simulations_completed: int
    simulations_total: int
    step_status: str | None
    best_sqn_100: float | None = Field(
        description="SQN-100 (SQN with trades capped at 100) of the run's best configuration"
    )
    best_model_id: str | None
    promoted: bool
    promotion_id: str | None = Field(description="The promotion (GET /promoted/{id}) if any")
    configurations_tried: int
    stop_reason: str | None
    error: str | None
    owner_id: str | None = Field(
        None, description="The process driving the run (its lease holder), if any."
    )
    abandoned: bool = Field(
        False,
        description=(
            "Running, but its driver stopped heartbeating: resume it with "
            "POST /runs/{id}/resume (a server also takes it over by itself)."
        ),
    )


class SimulationOut(BaseModel):
    """One simulated strategy: its grid cell and metrics."""

    id: int
    model_id: str
    period: str
    ticker: str
    threshold: float
    z_limit: float | None
    regime_filter: dict[str, list[int]] | None
    mode: str
    trades: int | None
    sqn: float | None
    sqn_100: float | None
    profit_factor: float | None
    weekly_consistency: float | None
    sharpe: float | None
    total_return: float | None
    max_drawdown: float | None
    metrics: dict[str, Any]


class GenerationOut(BaseModel):
    """One generation: its model, features kept and pruned, best selection result, holdout."""

    generation: int
    state: str = Field(
        description=(
            "judged, no_signal, too_few_trades (no configuration traded often enough to be "
            "judged), same_as_parent (not simulated again), pending, or not_simulated (the "
            "run ended first)."
        )
    )
    note: str = Field(description="Why a generation was not judged, in words.")
    model_id: str
    parent_model_id: str | None
    parent_sqn: float | None = Field(description="The parent's best SQN-100 (queue priority)")
    features: int
    remaining_features: list[str]
    pruned_features: list[str]
    reason: str | None
    simulations: int
    best_selection: SimulationOut | None
    holdout: SimulationOut | None


class TopResultOut(SimulationOut):
    """A configuration among a run's best: its result, generation and SQN-100."""

    generation: int | None
    sqn_100: float | None
    alike: int = Field(description="How many results (models, tickers) had this very outcome.")


class TopResultsOut(BaseModel):
    """A run's best distinct configurations, ranked as the promotion gate ranks them."""

    ranked_by: str
    min_trades: int = Field(description="Only configurations with at least this many trades.")
    results: list[TopResultOut]
    per_generation: list[TopResultOut]


class PromotionBrief(BaseModel):
    """A promotion as a run summary lists it."""

    id: str
    model_id: str
    strategy: dict[str, Any]
    holdout_metrics: dict[str, Any]
    dsr: float | None
    pbo: float | None
    configurations_tried: int


class MissOut(BaseModel):
    """A criterion the best configuration missed, on the period that decided."""

    metric: str
    period: str = Field(description="selection (not a candidate) or holdout")
    value: float | None
    min: float | None
    max: float | None
    text: str = Field(description="e.g. 'trades 178 < 200'")


class BestOut(BaseModel):
    """The run's best judged configuration (promoted, else candidate, else by ranking)."""

    generation: int
    model_id: str
    ranked_by: str = Field(description="sqn_100 or sharpe: the run's ranking key")
    strategy: dict[str, Any]
    candidate: bool = Field(description="Met the per-configuration criteria on selection")
    promoted: bool
    selection: dict[str, Any]
    holdout: dict[str, Any]
    misses: list[MissOut]
    reason: str | None


class GroupedMissOut(BaseModel):
    """One criterion missed across judged generations, said once."""

    period: str
    metric: str
    generations: list[int]
    closest: float | None = Field(description="The value nearest to the bound")
    text: str


class NotJudgedOut(BaseModel):
    """A generation that was not judged on the holdout, and why."""

    generation: int
    state: str
    note: str


class VerdictOut(BaseModel):
    """The verdict in parts."""

    state: str = Field(description="running, promoted, not_promoted or failed")
    text: str
    ranked_by: str
    best: BestOut | None
    misses: list[GroupedMissOut]
    not_judged: list[NotJudgedOut]


class RunSummaryOut(BaseModel):
    """A run with its configuration, generations (lineage), promotions and verdict."""

    run: RunOut
    config: dict[str, Any]
    generations: list[GenerationOut]
    promoted: list[PromotionBrief]
    best: BestOut | None
    verdict: str = Field(description="The verdict in one sentence")
    verdict_detail: VerdictOut


class ResumeResponse(BaseModel):
    """The run was taken over by this server and is being driven again."""

    run_id: str
    status: str


class StopResponse(BaseModel):
    """Whether the stop was recorded (false: the run had already finished)."""

    run_id: str
    stopping: bool
    status: str


class LineageEdgeOut(BaseModel):
    """One parent → child step of a model's lineage (the seed has no parent)."""

    run_id: str
    parent_model_id: str | None
    child_model_id: str
    generation: int
    parent_sqn: float | None
    pruned_features: list[str]
    remaining_features: list[str]
    reason: str | None


class ModelOut(BaseModel):
    """A trained model's record (its artifact stays in the store)."""

    id: str
    run_id: str | None
    generation: int
    fingerprint: str
    algorithm: str
    symbol: str
    features: list[str]
    chosen_config: dict[str, Any] | None
    validation_metrics: dict[str, Any] | None
    importance: dict[str, Any] | None
    data_ranges: dict[str, Any] | None
    created_at: datetime


class PromotedOut(BaseModel):
    """A promoted strategy as the hall of fame lists it."""

    id: str
    run_id: str
    model_id: str
    symbol: str
    strategy: dict[str, Any]
    holdout_metrics: dict[str, Any]
    selection_metrics: dict[str, Any]
    configurations_tried: int
    dsr: float | None
    pbo: float | None
    created_at: datetime
    status: str = Field(
        description="active, or demoted (by the overfitting monitor or by hand: see reason)"
    )
    status_reason: str | None = None
    status_changed_at: datetime | None = None


class PromotedDetail(PromotedOut):
    """A promotion with all its evidence: criteria and verdict, the simulation settings,
    the full lineage and the model record."""

    criteria: dict[str, Any]
    verdict: dict[str, Any]
    simulation: dict[str, Any]
    lineage: list[LineageEdgeOut]
    model: ModelOut
