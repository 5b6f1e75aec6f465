"""Learning settings: one validated document, stored in the store under ``learning``.

The CLI (``factory learn settings show|set``), the API (``GET|PUT /api/settings/learning``)
and the learning cycle read and write the same model. A change is validated whole before
anything is stored, so a refused value leaves the stored settings as they were.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from strategy_factory.errors import FactoryError
from strategy_factory.learning.allocator import AllocatorSettings
from strategy_factory.learning.metamodel import MIN_ROWS, MIN_RUNS
from strategy_factory.learning.monitor import MonitorSettings
from strategy_factory.store import Store

SETTINGS_NAME = "learning"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleSettings(_Section):
    """When ``factory serve`` runs the learning cycle by itself."""

    enabled: bool = Field(False, description="Run the learning cycle on a schedule in the server")
    every_hours: Annotated[float, Field(ge=0.01, le=24 * 31)] = Field(
        24.0, description="Hours between two scheduled cycles (a daily cycle by default)"
    )


class MetaModelSettings(_Section):
    """How the meta-model is trained and judged."""

    target: Literal["sharpe", "sortino", "sqn_100", "total_return"] = Field(
        "sharpe", description="The out-of-sample figure it learns to predict"
    )
    folds: Annotated[int, Field(ge=2, le=20)] = Field(
        5, description="Cross-validation folds, grouped by run"
    )
    min_runs: Annotated[int, Field(ge=2, le=10_000)] = Field(
        MIN_RUNS, description="Fewer finished runs than this: no meta-model yet"
    )
    min_rows: Annotated[int, Field(ge=10, le=10_000_000)] = Field(
        MIN_ROWS, description="Fewer configurations with out-of-sample results: none yet"
    )
    min_forward_bars: Annotated[int, Field(ge=2, le=1_000_000)] = Field(
        60, description="A promotion's forward record replaces its holdout from this many bars"
    )


class SearchSettings(_Section):
    """The Bayesian genome search the cycle runs after the meta-model."""

    enabled: bool = True
    sampler: Literal["tpe", "random"] = "tpe"
    candidates: Annotated[int, Field(ge=1, le=10_000)] = Field(
        64, description="Genomes the sampler proposes per cycle, pre-scored by the meta-model"
    )
    keep: Annotated[int, Field(ge=1, le=50)] = Field(
        2, description="How many of the best-scored proposals are kept"
    )
    launch: bool = Field(
        True, description="Record the kept proposals as evolution runs (tagged by origin)"
    )

    @model_validator(mode="after")
    def _keep_among_candidates(self) -> SearchSettings:
        if self.keep > self.candidates:
            raise ValueError(f"keep ({self.keep}) must not exceed candidates ({self.candidates})")
        return self


class LearningSettings(_Section):
    """Everything the learning cycle is told."""

    schedule: ScheduleSettings = ScheduleSettings()
    monitor: MonitorSettings = MonitorSettings()
    allocator: AllocatorSettings = AllocatorSettings()
    meta_model: MetaModelSettings = MetaModelSettings()
    search: SearchSettings = SearchSettings()
    auto_demote: bool = Field(
        False,
        description="A flagged strategy leaves the allocator at once (its status says why)",
    )


def load_settings(store: Store) -> LearningSettings:
    """The stored learning settings (the defaults before anything was set)."""
    stored = store.settings.get(SETTINGS_NAME)
    return LearningSettings() if stored is None else LearningSettings.model_validate(stored)


def save_settings(store: Store, settings: LearningSettings) -> LearningSettings:
    """Store ``settings`` whole; the settings as stored."""
    store.settings.put(SETTINGS_NAME, settings.model_dump(mode="json"))
    return settings


def with_changes(settings: LearningSettings, changes: dict[str, Any]) -> LearningSettings:
    """``settings`` with ``changes`` (a nested mapping) applied, validated whole.

    Raises :class:`FactoryError` naming each refused field and why.
    """
    merged = _merge(settings.model_dump(mode="json"), changes)
    try:
        return LearningSettings.model_validate(merged)
    except ValidationError as exc:
        raise FactoryError(
            f"learning settings refused (nothing changed): {_problems(exc)}"
        ) from None


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``["monitor.threshold=6", "auto_demote=true"]`` as a nested mapping of YAML values."""
    changes: dict[str, Any] = {}
    for assignment in assignments:
        path, sep, raw = assignment.partition("=")
        if not sep or not path.strip():
            raise FactoryError(f"{assignment!r} is not NAME=VALUE: write e.g. monitor.threshold=6")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise FactoryError(f"{assignment!r}: the value is not valid YAML") from None
        node = changes
        *parents, leaf = path.strip().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise FactoryError(f"{assignment!r} sets inside {part!r}, which is set whole")
            node = child
        node[leaf] = value
    return changes


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
        for error in exc.errors()
    )
