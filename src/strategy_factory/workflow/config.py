"""The typed configuration of a workflow: its data, regime classifiers and phases.

A workflow YAML maps one-to-one onto :class:`WorkflowConfig` (the API body too). Every
phase names its type; phases run in the order listed and may be repeated or dropped
where their inputs allow it (checked by the coordinator before any work). Unknown
fields, impossible ranges and parameter spaces beyond the size limits are refused here,
with a message that says what to fix.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from strategy_factory.backtest import RULES, Execution
from strategy_factory.data import normalize_symbol
from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.evaluate import PRESETS, PromotionCriteria, criteria_preset
from strategy_factory.evolution.config import DataOptions
from strategy_factory.execution.settings import FIELDS

_STRICT = ConfigDict(frozen=True, extra="forbid")
MAX_TRIALS = 100_000
MAX_VALUES = 1_000
MAX_FAMILIES = 16
MAX_PHASES = 32
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]
Metric = Literal["sharpe", "sortino", "calmar", "sqn_100", "profit_factor", "total_return"]
Objective = Literal["sharpe", "sortino", "calmar", "worst_regime_drawdown"]
STRATEGY_PARAMETERS = ("threshold", "z_limit", "mode")
RULE_PARAMETERS = {"momentum": "lookback", "mean_reversion": "lookback"}


class Span(BaseModel):
    """A numeric range searched by random or Optuna sampling (``log`` for scale parameters)."""

    model_config = _STRICT

    low: Number
    high: Number
    integer: bool = False
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if not self.low <= self.high:
            raise ValueError(f"low {self.low} must not exceed high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


Values = Annotated[list[Any], Field(min_length=1, max_length=MAX_VALUES)]


class Family(BaseModel):
    """A strategy family and its parameter space.

    ``kind``: ``rule`` (``rule``: momentum or mean_reversion, parameter ``lookback``),
    ``predictions`` (a user's file: ``path`` and ``column``) or ``model`` (a model of an
    evolution run in the store: ``model`` id or ``promotion`` id). Every family also takes
    the strategy parameters ``threshold`` (minimum |prediction|), ``z_limit`` (null: no
    volatility filter) and ``mode`` (long_short, long_only). A parameter is a list of
    values (grid) or a ``{low, high}`` span (random and Optuna search).
    """

    model_config = _STRICT

    name: Name
    kind: Literal["rule", "predictions", "model"]
    rule: Literal["momentum", "mean_reversion"] | None = None
    model: str | None = Field(None, max_length=128, description="a model id (kind: model)")
    promotion: str | None = Field(None, max_length=128, description="or a promotion id")
    path: str | None = Field(None, max_length=4096)
    column: str | None = Field(None, max_length=256)
    parameters: dict[str, Values | Span] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Family:
        if self.kind == "rule" and self.rule not in RULES:
            raise ValueError(f"a rule family needs rule: one of {', '.join(RULES)}")
        if self.kind == "predictions" and not self.path:
            raise ValueError("a predictions family needs path: the predictions file")
        if self.kind == "model" and (self.model is None) == (self.promotion is None):
            raise ValueError("a model family names exactly one of model (id) or promotion (id)")
        allowed = {*STRATEGY_PARAMETERS, *self.signal_parameters()}
        unknown = sorted(set(self.parameters) - allowed)
        if unknown:
            raise ValueError(
                f"family {self.name}: unknown parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        for name, space in self.parameters.items():
            _check_space(name, space)
        lookback = self.parameters.get("lookback")
        shortest = lookback.low if isinstance(lookback, Span) else min(lookback or [2])
        if self.rule == "mean_reversion" and shortest < 2:
            raise ValueError("mean_reversion needs a lookback of at least 2 bars (a std)")
        return self

    def signal_parameters(self) -> tuple[str, ...]:
        """Parameters that change the predictions (the rest only filter them)."""
        return (RULE_PARAMETERS[self.rule],) if self.kind == "rule" and self.rule else ()

    def space(self) -> dict[str, list[Any] | Span]:
        """Every parameter with defaults filled in (threshold 0, no z-limit, long_short).

        Signal parameters come first, so a grid's trials of one prediction series are
        numbered consecutively.
        """
        defaults: dict[str, list[Any] | Span] = {name: [20] for name in self.signal_parameters()}
        defaults |= {"threshold": [0.0], "z_limit": [None], "mode": ["long_short"]}
        return {name: self.parameters.get(name, default) for name, default in defaults.items()}

    def grid_size(self) -> int:
        """Trials in the full grid (spans count as unbounded: random/Optuna only)."""
        sizes = [len(v) if isinstance(v, list) else math.inf for v in self.space().values()]
        return int(math.prod(sizes)) if all(math.isfinite(s) for s in sizes) else MAX_TRIALS + 1


def _check_space(name: str, space: list[Any] | Span) -> None:
    if name == "mode":
        if not isinstance(space, list) or any(m not in ("long_short", "long_only") for m in space):
            raise ValueError("mode takes a list of long_short / long_only")
        return
    if isinstance(space, Span):
        if name == "lookback" and (not space.integer or space.low < 1):
            raise ValueError("lookback spans are integer: true with low >= 1")
        return
    for value in space:
        if name == "z_limit" and value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name}: values must be finite numbers, got {value!r}")
        if name == "lookback" and (not isinstance(value, int) or value < 1 or value > 10_000):
            raise ValueError(f"lookback: whole numbers of bars in [1, 10000], got {value!r}")
        if name == "threshold" and value < 0:
            raise ValueError(f"threshold: a minimum |prediction| >= 0, got {value}")
        if name == "z_limit" and not 0 < value <= 100:
            raise ValueError(f"z_limit: in (0, 100] or null, got {value}")


class Search(BaseModel):
    """How a parameter space is expanded: the full ``grid``, ``random`` or ``optuna`` (TPE)."""

    model_config = _STRICT

    method: Literal["grid", "random", "optuna"] = "grid"
    trials: int = Field(200, ge=1, le=MAX_TRIALS, description="random/optuna trials per family")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class ParameterDiscovery(BaseModel):
    """Phase 1: every trial of every family over the selection period, signals captured."""

    model_config = _STRICT

    type: Literal["parameter_discovery"]
    name: Name = "parameter_discovery"
    families: list[Family] = Field(min_length=1, max_length=MAX_FAMILIES)
    search: Search = Search()
    metric: Metric = Field("sharpe", description="what optuna maximizes")

    @model_validator(mode="after")
    def _bounded(self) -> ParameterDiscovery:
        names = [f.name for f in self.families]
        if len(set(names)) != len(names):
            raise ValueError(f"family names must be distinct, got {names}")
        if self.search.method == "grid":
            for family in self.families:
                if family.grid_size() > MAX_TRIALS:
                    raise ValueError(
                        f"family {family.name}: the grid has more than {MAX_TRIALS:,} trials "
                        "(or a {low, high} span): use search.method random or optuna"
                    )
        return self


class RegimeAnalysis(BaseModel):
    """Phase 2: the best parameters of each family in each regime of each classifier."""

    model_config = _STRICT

    type: Literal["regime_analysis"]
    name: Name = "regime_analysis"
    metric: Metric = "sharpe"
    min_bars: int = Field(60, ge=2, le=10_000_000, description="bars a regime needs")
    min_trades: int = Field(10, ge=1, le=1_000_000, description="trades a choice needs")


class EnsembleOptimization(BaseModel):
    """Phase 3: per regime, weights over the families' chosen trials, by signal replay."""

    model_config = _STRICT

    type: Literal["ensemble_optimization"]
    name: Name = "ensemble_optimization"
    classifier: Name | None = Field(None, description="default: the first classifier")
    method: Literal["grid", "cmaes"] = "grid"
    step: float = Field(0.1, gt=0, le=1, description="grid spacing on the weight simplex")
    trials: int = Field(500, ge=1, le=MAX_TRIALS, description="cmaes weight sets per regime")
    objective: Objective = "sharpe"
    min_weight: float = Field(0.0, ge=-1, le=1)
    max_weight: float = Field(1.0, ge=0, le=2)
    long_only: bool = Field(True, description="weights >= 0 (no shorting of a member)")
    seed: int = Field(0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _feasible(self) -> EnsembleOptimization:
        if self.min_weight > self.max_weight:
            raise ValueError(f"min_weight {self.min_weight} exceeds max_weight {self.max_weight}")
        if self.long_only and self.min_weight < 0:
            raise ValueError("long_only weights cannot have a negative min_weight")
        return self


class Validation(BaseModel):
    """Phase 4: the adaptive strategy on the holdout, judged by the promotion criteria."""

    model_config = _STRICT

    type: Literal["validation"]
    name: Name = "validation"
    classifier: Name | None = Field(None, description="default: the ensemble's classifier")
    criteria: PromotionCriteria = Field(default_factory=lambda: criteria_preset("evidence"))

    @field_validator("criteria", mode="before")
    @classmethod
    def _preset(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in PRESETS:
                raise ValueError(f"unknown criteria preset {value!r}; use {', '.join(PRESETS)}")
            return criteria_preset(value)
        return value


Phase = Annotated[
    ParameterDiscovery | RegimeAnalysis | EnsembleOptimization | Validation,
    Field(discriminator="type"),
]
PHASE_TYPES = ("parameter_discovery", "regime_analysis", "ensemble_optimization", "validation")


class Classifier(BaseModel):
    """A regime labeler: ``gmm``, ``hmm``, ``trend_vol`` or ``vix`` with its parameters."""

    model_config = _STRICT

    type: Literal["gmm", "hmm", "trend_vol", "vix"]
    params: dict[str, int | float | str | list[float]] = Field(default_factory=dict)


class WorkflowData(DataOptions):
    """The bars: one symbol (plus references such as VIX), cut into three periods.

    Training (classifiers are fitted there), selection (phases 1–3 look only here) and
    the holdout (only validation trades it), by dates or fractions of the bars, checked
    as an evolution run's are.
    """

    symbol: Name
    references: list[Name] = Field(default_factory=list, max_length=8)
    timeframe: str | None = Field(None, max_length=16)
    selection_fraction: float = Field(0.4, gt=0, lt=1)
    holdout_fraction: float = Field(0.3, gt=0, lt=1)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return normalize_symbol(value)

    @field_validator("references")
    @classmethod
    def _references(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_symbol(r) for r in value))


class Costs(BaseModel):
    """How signals fill and what every position change costs (basis points)."""

    model_config = _STRICT

    fill: Literal["next_open", "next_close"] = "next_open"
    fee_bps: float = Field(1.0, ge=0, le=1_000)
    slippage_bps: float = Field(1.0, ge=0, le=1_000)

    def execution(self) -> Execution:
        """As the backtest engine takes it."""
        return Execution(fill=self.fill, fee_bps=self.fee_bps, slippage_bps=self.slippage_bps)


def _default_classifiers() -> dict[str, Classifier]:
    return {"regime_trend": Classifier(type="trend_vol")}


class WorkflowConfig(BaseModel):
    """A whole workflow: data, costs, regime classifiers and the phases in order.

    Example (YAML)::

        name: sp500-adaptive
        data: {symbol: SP500}
        classifiers: {regime_vol: {type: gmm, params: {n_regimes: 2}}}
        phases:
          - type: parameter_discovery
            families:
              - {name: momentum, kind: rule, rule: momentum,
                 parameters: {lookback: [5, 20, 60], threshold: [0, 0.01]}}
          - {type: regime_analysis}
          - {type: ensemble_optimization}
          - {type: validation}
    """

    model_config = _STRICT

    name: Name = "workflow"
    data: WorkflowData
    costs: Costs = Costs()
    classifiers: dict[Name, Classifier] = Field(
        default_factory=_default_classifiers, min_length=1, max_length=8
    )
    phases: list[Phase] = Field(min_length=1, max_length=MAX_PHASES)

    @field_validator("classifiers")
    @classmethod
    def _regime_names(cls, value: dict[str, Classifier]) -> dict[str, Classifier]:
        bad = [name for name in value if not re.fullmatch(r"regime_[A-Za-z0-9_]+", name)]
        if bad:
            raise ValueError(f"classifier names start with regime_, e.g. regime_vol; got {bad}")
        return value

    @model_validator(mode="after")
    def _phases(self) -> WorkflowConfig:
        names = [phase.name for phase in self.phases]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"phase names must be distinct (give a repeated phase its own name): {repeated}"
            )
        for phase in self.phases:
            chosen = getattr(phase, "classifier", None)
            if chosen is not None and chosen not in self.classifiers:
                raise ValueError(
                    f"phase {phase.name}: unknown classifier {chosen!r}; "
                    f"declared: {', '.join(self.classifiers)}"
                )
        return self

    def phase(self, name: str) -> Phase:
        """The phase called ``name``."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise FactoryError(f"no phase {name!r}; phases: {', '.join(p.name for p in self.phases)}")

    @classmethod
    def load(cls, data: Any) -> WorkflowConfig:
        """Validate parsed YAML/JSON, raising :class:`FactoryError` on mistakes."""
        if not isinstance(data, dict):
            raise FactoryError(f"a workflow is a mapping of fields, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise FactoryError(f"invalid workflow: {describe_problems(exc.errors())}") from exc

    @classmethod
    def from_yaml(cls, path: str | Path) -> WorkflowConfig:
        """Read a workflow YAML file; a predictions path is relative to the file.

        Executor settings in the file are left for :func:`read_workflow` to return.
        """
        return read_workflow(path)[0]


def read_workflow(path: str | Path) -> tuple[WorkflowConfig, dict[str, Any]]:
    """A workflow YAML file's workflow and its executor settings (``executor``,
    ``workers``, ``scheduler``: where discovery runs, which no output depends on, so
    they are no part of the workflow)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FactoryError(f"cannot read workflow {path}: {exc}") from exc
    executor = {k: data.pop(k) for k in FIELDS if k in data} if isinstance(data, dict) else {}
    config = WorkflowConfig.load(data)
    anchored = [_anchor(phase, path.parent) for phase in config.phases]
    return config.model_copy(update={"phases": anchored}), executor


def _anchor(phase: Any, folder: Path) -> Any:
    if not isinstance(phase, ParameterDiscovery):
        return phase
    families = [
        f.model_copy(update={"path": str((folder / f.path).resolve())})
        if f.path and not Path(f.path).is_absolute()
        else f
        for f in phase.families
    ]
    return phase.model_copy(update={"families": families})


def grid_points(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid space, in a stable order (first parameter slowest)."""
    names = list(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*space.values())]
