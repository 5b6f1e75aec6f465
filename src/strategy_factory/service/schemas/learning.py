"""Bodies of the learning endpoints (``/api/learning``, ``/api/knowledge``,
``/api/settings/learning``).

``PUT /api/settings/learning`` takes a :class:`~strategy_factory.learning.LearningSettings`,
the very model ``factory learn settings set`` validates, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MetaModelOut(BaseModel):
    """The newest meta-model version: what it was trained on and how well it ranks."""

    version: int
    created_at: datetime
    algorithm: str
    metrics: dict[str, Any] = Field(
        description="Cross-validated rank correlations: model, selection metric alone, random"
    )
    training: dict[str, Any]


class MetaModelAnswer(BaseModel):
    """The newest meta-model, or why there is none yet."""

    meta_model: MetaModelOut | None
    reason: str | None = None


class MetaModelVersionOut(BaseModel):
    """One meta-model version with the importance of each genome trait in it."""

    version: int
    created_at: datetime
    algorithm: str
    metrics: dict[str, Any]
    traits: list[dict[str, Any]] = Field(
        description="trait, importance and direction, most important first"
    )


class MetaModelHistory(BaseModel):
    """Recent meta-model versions, newest first, or why there are none yet."""

    versions: list[MetaModelVersionOut]
    reason: str | None = None


class ImportanceAnswer(BaseModel):
    """Importance of each genome trait in the newest meta-model, most important first."""

    version: int | None
    traits: list[dict[str, Any]]
    reason: str | None = None


class AllocationOut(BaseModel):
    """One allocator snapshot."""

    id: int
    created_at: datetime
    state: str = Field(description="allocated, infeasible (see reason) or empty")
    weights: dict[str, float]
    risk: dict[str, Any]
    diff: dict[str, Any]
    reason: str | None
    settings: dict[str, Any]


class AllocatorAnswer(BaseModel):
    """The newest snapshot, the newest with weights, and the recent history."""

    latest: AllocationOut | None
    allocated: AllocationOut | None
    history: list[AllocationOut]
    fund: dict[str, Any] | None = Field(
        None, description="The virtual fund: equity, drawdown and turnover of the allocations"
    )


class AlertOut(BaseModel):
    """An overfitting alert."""

    id: int
    promotion_id: str
    created_at: datetime
    updated_at: datetime
    test: str
    statistic: float | None
    threshold: float | None
    evidence: dict[str, Any]
    demoted: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


class AckRequest(BaseModel):
    """Acknowledge an overfitting alert."""

    model_config = ConfigDict(extra="forbid")

    alert_id: int = Field(ge=1, le=2**62, description="The alert to acknowledge")
    by: str = Field("dashboard", min_length=1, max_length=128, description="Who acknowledges")
    note: str | None = Field(None, max_length=2000, description="Why, for the record")


class KnowledgeOut(BaseModel):
    """The knowledge base's summary of one period."""

    period: str
    created_at: datetime
    updated_at: datetime
    markdown: str
    html: str = Field(description="The Markdown as HTML; raw HTML in it is shown as text")
    facts: dict[str, Any]
    periods: list[str] = Field(default_factory=list, description="Every period with a summary")


class CycleOut(BaseModel):
    """A learning cycle and what each of its steps did."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    state: str
    trigger: str
    steps: list[dict[str, Any]]
    error: str | None
