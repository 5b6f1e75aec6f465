"""Plain values the store returns and accepts: frozen dataclasses and status enums.

Nothing here holds a session or a connection; a record is a snapshot of its row.
Field names are the column names, so a row maps onto a record one-to-one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self, TypeVar

from sqlalchemy import Row

from strategy_factory.errors import FactoryError

E = TypeVar("E", bound=StrEnum)

# SQN of a handful of trades is noise (two lucky trades with alike returns score 200):
# "best" is chosen among configurations with at least this many trades.
MIN_RANKED_TRADES = 30


class RunStatus(StrEnum):
    """Where an evolution run is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    STOPPED = "stopped"


class StopReason(StrEnum):
    """Why an evolution run ended."""

    MAX_GENERATIONS = "max_generations"
    CANNOT_PRUNE = "cannot_prune"
    PROMOTED = "promoted"
    FAILED = "failed"
    STOPPED_BY_USER = "stopped_by_user"
    NO_SIGNAL = "no_signal"


class JobStatus(StrEnum):
    """Where a queued job is: waiting, leased to a worker, or finished either way."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class WorkflowState(StrEnum):
    """Where a multi-phase workflow is (its manifest's ``state``)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PromotionStatus(StrEnum):
    """A promotion's life after it: traded forward and allocated, or demoted (and why)."""

    ACTIVE = "active"
    DEMOTED = "demoted"


class ForwardStatus(StrEnum):
    """Where a promotion's forward tracking stands.

    ``tracking``: up to date with the stored bars; ``waiting``: some symbol it reads (a
    reference) has no bars as recent as the others yet; ``failed``: it cannot go on (the
    reason says why) until what is wrong is fixed.
    """

    TRACKING = "tracking"
    WAITING = "waiting"
    FAILED = "failed"


class Period(StrEnum):
    """Which slice of the data a simulation ran on."""

    SELECTION = "selection"
    HOLDOUT = "holdout"


def parse_enum(kind: type[E], value: str, what: str) -> E:
    """``value`` as a member of ``kind``, or a :class:`FactoryError` listing the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise FactoryError(f"{what} {value!r} is not one of: {choices}") from None


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


class _Record:
    @classmethod
    def from_row(cls, row: Row[Any] | Mapping[str, Any]) -> Self:
        mapping = row._mapping if isinstance(row, Row) else row
        return cls(**{item.name: mapping[item.name] for item in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Run(_Record):
    """One evolution run: its configuration, progress of both phases and outcome."""

    id: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    symbol: str
    algorithm: str
    config: dict[str, Any]
    current_generation: int
    max_generations: int
    models_trained: int
    models_total: int
    simulations_completed: int
    simulations_total: int
    step_status: str | None
    best_sqn_100: float | None
    best_model_id: str | None
    promoted: bool
    promotion_id: str | None
    configurations_tried: int
    stop_reason: str | None
    error: str | None
    stop_requested: bool
    owner_id: str | None = None
    owner_expires_at: datetime | None = None

    def abandoned(self, now: datetime | None = None) -> bool:
        """Unfinished, and nobody holds a live lease on it: its driver stopped heartbeating.

        Such a run continues with ``factory evolve --resume`` (or ``POST
        /runs/{id}/resume``), or is picked up by the next server that starts.
        """
        if self.status != RunStatus.RUNNING.value:
            return False
        expires = self.owner_expires_at
        return expires is None or expires < (now or datetime.now(UTC))

    @property
    def display_status(self) -> str:
        """The status to show: ``abandoned`` for a running run nobody drives."""
        return "abandoned" if self.abandoned() else self.status


@dataclass(frozen=True)
class ModelRecord(_Record):
    """A trained model's metadata (the artifact itself lives at ``artifact_path``)."""

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
    artifact_path: str | None
    created_at: datetime


@dataclass(frozen=True)
class FingerprintHit(_Record):
    """A known training configuration and the model that was trained for it."""

    fingerprint: str
    model_id: str
    config: str
    fingerprint_version: str
    created_at: datetime
    hits: int


@dataclass(frozen=True)
class LineageEdge(_Record):
    """One parent → child step of the lineage DAG (the seed has no parent)."""

    id: int
    run_id: str
    parent_model_id: str | None
    child_model_id: str
    generation: int
    parent_sqn: float | None
    pruned_features: list[str]
    remaining_features: list[str]
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class GenerationSummary:
    """One generation of a run: how many models, simulations, and the best of them."""

    generation: int
    models: int
    simulations: int
    best_sqn_100: float | None
    best_model_id: str | None


@dataclass(frozen=True)
class SimulationResult(_Record):
    """One strategy-grid cell simulated for one model on one period."""

    id: int
    run_id: str
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
    created_at: datetime


@dataclass(frozen=True)
class PromotedModel(_Record):
    """A strategy that passed the promotion criteria on the holdout, with its evidence."""

    id: str
    run_id: str
    model_id: str
    strategy: dict[str, Any]
    criteria: dict[str, Any]
    selection_metrics: dict[str, Any]
    holdout_metrics: dict[str, Any]
    configurations_tried: int
    dsr: float | None
    pbo: float | None
    verdict: dict[str, Any]
    lineage: list[Any] | dict[str, Any]
    created_at: datetime
    status: str = PromotionStatus.ACTIVE.value
    status_reason: str | None = None
    status_changed_at: datetime | None = None


@dataclass(frozen=True)
class ForwardState(_Record):
    """Where one promotion's forward tracking stands.

    ``started_after``: the last bar of the promotion's run (forward bars come after it);
    ``last_bar``: the last bar processed; ``state``: what continues the tracking exactly
    from there (owned by ``learning.forward``); ``status``: a :class:`ForwardStatus`.
    """

    promotion_id: str
    symbol: str
    started_after: datetime
    last_bar: datetime
    bars_tracked: int
    state: dict[str, Any]
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ForwardBar:
    """One forward bar of a promotion: the position held at its close and its return."""

    timestamp: datetime
    position: int
    bar_return: float


@dataclass(frozen=True)
class Job:
    """A unit of work to enqueue.

    ``dedup_key`` names the unit within its run (enqueueing it again is a no-op); by
    default it is derived from ``kind`` and the canonical payload. A higher
    ``parent_sqn`` is claimed first; jobs without one come after all that have one.
    """

    kind: str
    payload: dict[str, Any]
    run_id: str | None = None
    parent_sqn: float | None = None
    max_attempts: int = 3
    dedup_key: str = field(default="")

    def __post_init__(self) -> None:
        if not 0 < len(self.kind) <= 32:
            raise FactoryError(f"job kind {self.kind!r} must be 1 to 32 characters")
        if len(self.dedup_key) > 255:
            raise FactoryError(f"dedup_key {self.dedup_key[:40]!r}... is over 255 characters")
        if self.max_attempts < 1:
            raise FactoryError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not self.dedup_key:
            digest = hashlib.sha256(canonical_json(self.payload).encode()).hexdigest()
            object.__setattr__(self, "dedup_key", f"{self.kind}:{digest}")


@dataclass(frozen=True)
class JobRecord(_Record):
    """A queued job as it stands, whatever its status."""

    id: int
    run_id: str | None
    kind: str
    payload: dict[str, Any]
    dedup_key: str
    parent_sqn: float | None
    status: str
    created_at: datetime
    claimed_at: datetime | None
    claimed_by: str | None
    lease_token: str | None
    lease_expires_at: datetime | None
    attempts: int
    max_attempts: int
    result: Any
    error: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class ClaimedJob(_Record):
    """A job leased to one worker: pass ``lease_token`` to heartbeat, complete or fail it."""

    id: int
    run_id: str | None
    kind: str
    payload: dict[str, Any]
    dedup_key: str
    parent_sqn: float | None
    attempts: int
    max_attempts: int
    claimed_by: str
    lease_token: str
    lease_expires_at: datetime


@dataclass(frozen=True)
class JobOutcome(_Record):
    """How a finished job ended: ``done`` with its result, or ``failed`` with its error."""

    id: int
    status: str
    result: Any
    error: str | None
    attempts: int


@dataclass(frozen=True)
class Worker(_Record):
    """A worker process and its last sign of life."""

    id: str
    hostname: str
    pid: int
    started_at: datetime
    last_heartbeat: datetime
    status: str
    current_job_id: int | None


@dataclass(frozen=True)
class WorkflowRecord(_Record):
    """A workflow as last recorded from its manifest (``results/<id>/``).

    ``phases``: per phase its name, type, state, progress, summary, error, started_at and
    finished_at; ``edits``: the files a user edited between phases.
    """

    id: str
    name: str
    state: str
    workspace: str
    config: dict[str, Any]
    phases: list[dict[str, Any]]
    edits: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


# The fields of a run shown as JSON (the CLI's --json and the API).
RUN_FIELDS = (
    "id",
    "status",
    "symbol",
    "algorithm",
    "created_at",
    "started_at",
    "finished_at",
    "current_generation",
    "max_generations",
    "models_trained",
    "models_total",
    "simulations_completed",
    "simulations_total",
    "step_status",
    "best_sqn_100",
    "best_model_id",
    "promoted",
    "promotion_id",
    "configurations_tried",
    "stop_reason",
    "error",
    "owner_id",
)


def run_json(run: Run) -> dict[str, Any]:
    """The run's progress and outcome as plain JSON values."""
    data = {name: getattr(run, name) for name in RUN_FIELDS}
    for name in ("created_at", "started_at", "finished_at"):
        data[name] = None if data[name] is None else data[name].isoformat()
    # A running run whose driver stopped heartbeating: nobody will move it on by itself.
    data["abandoned"] = run.abandoned()
    return data
