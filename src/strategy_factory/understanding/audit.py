"""The configuration audit: what makes an evolution configuration unable to work.

:func:`audit_config` checks a configuration before any work (from YAML, the API or the
CLI; the same :class:`~strategy_factory.evolution.EvolveConfig`), :func:`audit_run` a
recorded run (its stored configuration and dataset, plus the grid cells it simulated).
Each finding says what is wrong, its measured consequence and a fix; a clean
configuration has no finding. The audit never writes anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.evolution.config import EvolveConfig
from strategy_factory.evolution.prepare import (
    config_spec,
    default_seed_features,
    describe_periods,
    recorded_spec,
)
from strategy_factory.execution.dataset import Dataset, DatasetSpec, load_dataset
from strategy_factory.json_values import plain
from strategy_factory.settings import get_settings
from strategy_factory.store import Store
from strategy_factory.understanding import audit_checks as checks


@dataclass(frozen=True)
class AuditReport:
    """The findings of one audit, and what was audited."""

    target: str
    findings: list[checks.Finding]
    checked: tuple[str, ...] = checks.KINDS

    @property
    def errors(self) -> list[checks.Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return plain(
            {
                "target": self.target,
                "clean": not self.findings,
                "errors": len(self.errors),
                "warnings": len(self.findings) - len(self.errors),
                "checked": list(self.checked),
                "findings": [asdict(f) for f in self.findings],
            }
        )


class AuditRequest(BaseModel):
    """What to audit: a recorded run, or an evolution configuration (the fields of
    ``factory evolve --config``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str | None = Field(None, min_length=1, max_length=64)
    config: EvolveConfig | None = None

    @model_validator(mode="after")
    def _one(self) -> AuditRequest:
        if (self.run_id is None) == (self.config is None):
            raise ValueError("give either run_id or config, not both or neither")
        return self


def audit_config(config: EvolveConfig, target: str | None = None) -> AuditReport:
    """Audit ``config`` against the stored bars, before any work."""
    spec = config_spec(config)
    dataset = _dataset(spec)
    return AuditReport(
        target or f"config for {config.symbol}",
        _common(config, spec, dataset, config.seed_features or default_seed_features(dataset)),
    )


def audit_run(store: Store, run_id: str) -> AuditReport:
    """Audit a recorded run: its configuration and data, and the cells it simulated."""
    run = store.runs.get(run_id)
    config = EvolveConfig.load(run.config["evolve"])
    spec = recorded_spec(run)
    dataset = _dataset(spec)
    findings = _common(config, spec, dataset, list(run.config["seed_features"]))
    findings += checks.cells_never_traded(store.simulations.of_run(run.id))
    return AuditReport(f"run {run.id}", findings)


def audit_target(store: Store, target: str) -> AuditReport:
    """Audit a run id, or an evolution YAML file when ``target`` is a file path."""
    path = Path(target)
    if path.suffix in {".yaml", ".yml"} or path.is_file():
        if not path.is_file():
            raise FactoryError(f"no config file {target}: give a YAML path or a run id")
        return audit_config(EvolveConfig.from_yaml(path), target=str(path))
    return audit_run(store, target)


def audit_request(store: Store, request: AuditRequest) -> AuditReport:
    """Audit what an API request names."""
    if request.config is not None:
        return audit_config(request.config)
    return audit_run(store, str(request.run_id))


def _dataset(spec: DatasetSpec) -> Dataset:
    try:
        return load_dataset(spec)
    except FactoryError as exc:
        raise FactoryError(f"the audit cannot build the run's data: {exc}") from exc


def _common(
    config: EvolveConfig, spec: DatasetSpec, dataset: Dataset, seed_features: list[str]
) -> list[checks.Finding]:
    catalog = BarCatalog(get_settings().bars_dir)
    unknown = [f for f in seed_features if f not in dataset.feature_names]
    if unknown:
        raise FactoryError(
            f"seed feature(s) {', '.join(unknown)} are not available for {spec.symbol}; "
            f"available: {', '.join(dataset.feature_names)}"
        )
    return [
        *checks.reference_coverage(spec, catalog),
        *checks.periods_too_short(config, describe_periods(spec, dataset)),
        *checks.constant_features(dataset, seed_features),
        *checks.labeler_leak(spec, dataset, catalog),
        *checks.never_trades(config, dataset),
    ]
