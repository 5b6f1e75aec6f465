"""Bodies of the understanding endpoints (``/api/hypotheses``, its queue, ``/api/indicators``,
``/api/transfer``).

``POST /api/hypotheses`` takes a :class:`HypothesisFile` and ``POST /api/indicators/discover``
a :class:`DiscoveryConfig` — the very models the YAML file and the CLI validate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.service.schemas.runs import RunOut
from strategy_factory.understanding.hypothesis_spec import HypothesisFile, HypothesisSpec


class HypothesisOut(BaseModel):
    """One tested hypothesis, its event study, its adjusted p-value then and now."""

    id: int
    name: str
    symbol: str
    state: str
    events: int
    effect: float | None
    hit_rate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    adjusted_p_at_test: float | None
    family_size_at_test: int
    adjusted_p_now: float | None
    confirmed_now: bool
    principle: str
    created_at: str
    spec: dict[str, Any]


class HypothesesAnswer(BaseModel):
    """Tested hypotheses and the size of the family the correction covers now."""

    family_size: int
    hypotheses: list[HypothesisOut]


class IndicatorOut(BaseModel):
    """One discovered indicator: its formula (the feature's name) and its figures."""

    id: int
    search_id: str
    formula: str
    symbol: str
    train_ic: float | None
    deflated: float | None
    holdout_ic: float | None
    holdout_p_sidak: float | None
    passed: bool
    trials: int
    principle: str
    created_at: str
    detail: dict[str, Any]


class DiscoveryAnswer(BaseModel):
    """What one search tried and the indicators it judged."""

    trials: int
    duplicates_of_features: int
    indicators: list[IndicatorOut]


class QueueRequest(HypothesisFile):
    """Hypotheses to leave for the next learning cycle, and who queued them."""

    by: str = Field(min_length=1, max_length=128)


class QueuedOut(BaseModel):
    """A hypothesis waiting for the next learning cycle."""

    model_config = ConfigDict(extra="forbid")

    queued: int
    name: str
    queued_by: str
    queued_at: datetime
    spec: HypothesisSpec


class TransferLaunched(BaseModel):
    """One symbol of a transfer: its run (started by the server), or why there is none."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    run_id: str | None
    not_launched: str | None


class TransferOutcomeOut(BaseModel):
    """What a finished transfer run did on its symbol: the sentence the knowledge gets."""

    run_id: str
    symbol: str
    promotion: str
    worked: bool | None = Field(description="A promotion there; None: the run did not complete")
    principle: str


class TransferRunOut(RunOut):
    """A transfer run: its progress, the promotion it tries, and its outcome once finished."""

    promotion: str
    promoted_on: str
    outcome: TransferOutcomeOut | None
