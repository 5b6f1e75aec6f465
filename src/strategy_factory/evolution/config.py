"""The typed configuration of an evolution run, validated once before any work starts.

YAML (``factory evolve --config evolve.yaml``) and API bodies map one-to-one onto
:class:`EvolveConfig`; command-line options override single fields. Unknown fields, an
impossible criteria range, a prune fraction outside (0, 1) or an empty seed feature list
are rejected here, with a message that says what to fix.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from strategy_factory.backtest import Execution, StrategyGrid
from strategy_factory.data import normalize_symbol
from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.evaluate import PRESETS, PromotionCriteria, criteria_preset
from strategy_factory.models import (
    DEFAULT_REGIME_CONFIGS,
    MAX_FEATURES,
    Name,
    RegimeConfig,
    TrainingConfig,
    WalkForward,
)

_STRICT = ConfigDict(frozen=True, extra="forbid")
# Holy Grail asks for steady trades (SQN); evidence tests the Sharpe ratio, so ranks by it.
PRESET_RANKING = {"holy_grail": "sqn_100", "evidence": "sharpe"}
MAX_SYMBOLS = 20
MAX_GRID_AXIS = 100
Threshold = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
ZLimit = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]

DEFAULT_THRESHOLD_QUANTILES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.85, 0.9, 0.95)
DEFAULT_Z_LIMITS: tuple[float | None, ...] = (None, 2.0, 1.5, 1.0)
DEFAULT_REGIME_FILTERS: tuple[RegimeConfig, ...] = (
    None,
    {"regime_trend": [0, 1]},
    {"regime_trend": [0, 2]},
    {"regime_gmm": [0]},
    {"regime_hmm": [0]},
)


class DataOptions(BaseModel):
    """Which bars a run uses and how they are split into its three periods.

    Training/validation comes first, then the selection period (ranks strategy
    configurations), then the holdout (judges promotion, untouched until then). Give
    explicit dates or fractions of the usable bars (after indicator warm-up).
    """

    model_config = _STRICT

    start: datetime | None = None
    end: datetime | None = None
    selection_start: datetime | None = None
    holdout_start: datetime | None = None
    selection_fraction: float = Field(0.2, gt=0, lt=1)
    holdout_fraction: float = Field(0.2, gt=0, lt=1)

    @field_validator("start", "end", "selection_start", "holdout_start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.to_pydatetime()

    @model_validator(mode="after")
    def _ordered(self) -> DataOptions:
        if self.selection_fraction + self.holdout_fraction >= 0.9:
            raise ValueError(
                "selection_fraction + holdout_fraction must leave at least 10% for training"
            )
        moments = [
            (n, getattr(self, n)) for n in ("start", "selection_start", "holdout_start", "end")
        ]
        given = [(n, m) for n, m in moments if m is not None]
        for (first, a), (second, b) in itertools.pairwise(given):
            if a >= b:
                raise ValueError(f"{first} ({a:%Y-%m-%d}) must be before {second} ({b:%Y-%m-%d})")
        return self


class StrategyOptions(BaseModel):
    """The strategy grid every model is simulated over, and how trades are executed.

    ``thresholds`` are absolute minimum |prediction| values; without them the grid uses
    ``threshold_quantiles`` of each model's |prediction| on its own training rows, so the
    thresholds fit any symbol's scale without looking past the training period.
    ``regime_filters=None`` takes the defaults plus the model's chosen training regime.
    ``tickers`` adds other symbols the model is applied to (generalization).
    """

    model_config = _STRICT

    thresholds: list[Threshold] | None = Field(None, max_length=MAX_GRID_AXIS)
    threshold_quantiles: list[float] = Field(
        default_factory=lambda: list(DEFAULT_THRESHOLD_QUANTILES), max_length=MAX_GRID_AXIS
    )
    z_limits: list[ZLimit | None] = Field(
        default_factory=lambda: list(DEFAULT_Z_LIMITS), max_length=20
    )
    regime_filters: list[RegimeConfig] | None = Field(None, max_length=64)
    modes: list[Literal["long_short", "long_only"]] = Field(
        default_factory=lambda: ["long_short"], max_length=2
    )
    tickers: list[Name] = Field(default_factory=list, max_length=MAX_SYMBOLS)
    fill: Literal["next_open", "next_close"] = "next_open"
    fee_bps: float = Field(1.0, ge=0, le=1_000, description="Fee per fill, in basis points.")
    slippage_bps: float = Field(
        1.0, ge=0, le=1_000, description="Slippage per fill, in basis points."
    )

    @field_validator("threshold_quantiles")
    @classmethod
    def _quantiles(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("give at least one threshold quantile, e.g. [0, 0.5, 0.9]")
        if any(not 0 <= q < 1 for q in value):
            raise ValueError(f"threshold quantiles must be in [0, 1), got {value}")
        return sorted(set(value))

    @field_validator("tickers")
    @classmethod
    def _tickers(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_symbol(t) for t in value))

    @model_validator(mode="after")
    def _grid_is_valid(self) -> StrategyOptions:
        try:
            StrategyGrid(
                thresholds=self.thresholds or self.threshold_quantiles,
                z_limits=self.z_limits,
                regime_filters=self.regime_filters or [None],
                modes=self.modes,
            )
            self.execution()
        except FactoryError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def execution(self) -> Execution:
        """Fill mode and costs as the backtest engine takes them."""
        return Execution(fill=self.fill, fee_bps=self.fee_bps, slippage_bps=self.slippage_bps)


class RunOrigin(BaseModel):
    """Where a run came from when something other than a person asked for it.

    A run launched by the Bayesian genome search (``genome_search``) names the Optuna
    study, the trial(s) that proposed its genome, the meta-model version that pre-scored it
    and the score it gave. A run that tries a promoted genome on another symbol
    (``transfer``) names the promotion and the symbol it was promoted on.
    """

    model_config = _STRICT

    source: Literal["genome_search", "transfer"] = "genome_search"
    study: str | None = Field(None, min_length=1, max_length=200)
    trials: list[Annotated[int, Field(ge=0)]] | None = Field(None, min_length=1, max_length=1_000)
    meta_model: str | None = Field(None, max_length=200)
    predicted: float | None = Field(None, allow_inf_nan=False)
    genome: dict[Name, Any] = Field(default_factory=dict, max_length=64)
    promotion: str | None = Field(None, min_length=1, max_length=64)
    promoted_on: Name | None = None

    @model_validator(mode="after")
    def _named(self) -> RunOrigin:
        if self.source == "genome_search" and (self.study is None or self.trials is None):
            raise ValueError("a genome search's run names its study and trials")
        if self.source == "transfer" and (self.promotion is None or self.promoted_on is None):
            raise ValueError("a transfer run names the promotion and the symbol it was made on")
        return self


class EvolveConfig(BaseModel):
    """Everything a run needs; the store keeps it, so a resumed run does the same work.

    Example::

        config = EvolveConfig(symbol="SP500", reference_symbols=["NASDAQ"], max_generations=4)
    """

    model_config = _STRICT

    symbol: Name
    reference_symbols: list[Name] = Field(default_factory=list, max_length=MAX_SYMBOLS)
    timeframe: str | None = Field(None, max_length=32)
    data_options: DataOptions = DataOptions()
    algorithm: str = Field("ElasticNet", min_length=1, max_length=200)
    params: dict[Name, Any] = Field(default_factory=dict, max_length=64)
    grid: dict[Name, list[Any] | Literal["auto"]] | None = Field(None, max_length=32)
    regime_configs: list[RegimeConfig] = Field(
        default_factory=lambda: list(DEFAULT_REGIME_CONFIGS), min_length=1, max_length=64
    )
    target_col: Name = "close"
    target_transform: Literal["log_return", "pct_change"] = "log_return"
    horizon: int = Field(1, ge=1, le=10_000)
    walk_forward: WalkForward = WalkForward(folds=3)
    seed_features: list[Name] | None = Field(None, max_length=MAX_FEATURES)
    seed_model_id: str | None = Field(None, max_length=64)
    max_generations: int = Field(4, ge=1, le=100)
    prune_fraction: float = Field(0.25, gt=0, lt=1)
    min_features: int = Field(3, ge=1, le=MAX_FEATURES)
    strategy: StrategyOptions = StrategyOptions()
    criteria: PromotionCriteria = Field(
        default_factory=PromotionCriteria,
        description=(
            "Promotion criteria: ranges per metric, or the name of a preset "
            "('holy_grail', the default; 'evidence')."
        ),
    )
    criteria_name: str = Field(
        "holy_grail",
        max_length=64,
        description="The preset the criteria came from (holy_grail, evidence), or 'custom'.",
    )
    min_dsr: float = Field(0.95, ge=0, le=1)
    rank_by: Literal["sqn_100", "sharpe"] | None = Field(
        None,
        description=(
            "What a model's best configuration is chosen by on the selection period; "
            "default: the preset's (sqn_100 for holy_grail, sharpe for evidence)."
        ),
    )
    early_stop: bool = True
    pipelining: bool = True
    seed: int = Field(0, ge=0, le=2**32 - 1)
    prior_trials: int = Field(
        0,
        ge=0,
        le=10**9,
        description=(
            "Trials made before this run to find it (the genomes a search proposed or "
            "evaluated): added to the effective trial count its Deflated Sharpe Ratio is "
            "charged for."
        ),
    )
    origin: RunOrigin | None = Field(
        None, description="Where the run came from (the genome search that proposed it)."
    )

    @model_validator(mode="before")
    @classmethod
    def _criteria_preset(cls, data: Any) -> Any:
        """``criteria: evidence`` (a preset's name) or a mapping (``custom``)."""
        if not isinstance(data, dict) or "criteria" not in data:
            return data
        criteria = data["criteria"]
        if isinstance(criteria, str):
            try:
                preset = criteria_preset(criteria)
            except FactoryError as exc:
                raise ValueError(str(exc)) from exc
            return {**data, "criteria": preset, "criteria_name": criteria}
        if "criteria_name" not in data:
            return {**data, "criteria_name": "custom"}
        return data

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        return normalize_symbol(value)

    @field_validator("reference_symbols")
    @classmethod
    def _references(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_symbol(s) for s in value))

    @field_validator("seed_features")
    @classmethod
    def _seed_features(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("seed_features is empty; list features or leave it out to use all")
        if value is not None and len(set(value)) != len(value):
            raise ValueError("seed_features lists a feature twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EvolveConfig:
        if self.symbol in self.reference_symbols:
            raise ValueError(f"{self.symbol} cannot be its own reference symbol")
        if self.criteria.dsr is not None:
            raise ValueError("set the Deflated Sharpe Ratio gate with min_dsr, not criteria.dsr")
        if self.criteria_name not in (*PRESETS, "custom"):
            raise ValueError(f"criteria_name is a preset ({', '.join(PRESETS)}) or 'custom'")
        _check_training_options(self)
        if self.seed_features is not None and len(self.seed_features) < self.min_features:
            raise ValueError(
                f"seed_features has {len(self.seed_features)} feature(s), fewer than "
                f"min_features={self.min_features}"
            )
        return self

    @property
    def tickers(self) -> list[str]:
        """The symbol first, then the other tickers the models are applied to."""
        return [self.symbol, *(t for t in self.strategy.tickers if t != self.symbol)]

    @property
    def ranking(self) -> str:
        """The ranking key: ``rank_by``, or the criteria preset's own."""
        return self.rank_by or PRESET_RANKING.get(self.criteria_name, "sqn_100")

    def promotion_criteria(self) -> PromotionCriteria:
        """The criteria of the holdout gate, with ``min_dsr`` as its DSR criterion."""
        if not self.min_dsr:
            return self.criteria
        return PromotionCriteria.model_validate(
            {**self.criteria.model_dump(), "dsr": {"min": self.min_dsr}}
        )

    @classmethod
    def load(cls, data: dict[str, Any]) -> EvolveConfig:
        """Validate ``data`` (parsed YAML/JSON), raising :class:`FactoryError` on mistakes."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise FactoryError(
                f"invalid evolution config: {describe_problems(exc.errors())}"
            ) from exc

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict[str, Any] | None = None) -> EvolveConfig:
        """Read a YAML config file; ``overrides`` (e.g. from the CLI) win field by field.

        ``criteria`` may name a preset, give ranges, or name a YAML file of ranges
        (relative to the config file).
        """
        return cls.load({**read_yaml(path), **(overrides or {})})


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The fields of a YAML config file, a ``criteria`` file it names read in (see
    :meth:`EvolveConfig.from_yaml`); it may also hold the executor settings, which the
    caller takes out (:data:`strategy_factory.execution.settings.FIELDS`)."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FactoryError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise FactoryError(f"config {path} must be a mapping of fields, got {type(data).__name__}")
    criteria = data.get("criteria")
    if isinstance(criteria, str) and criteria not in PRESETS:
        file = Path(path).parent / criteria
        if not file.is_file():
            raise FactoryError(
                f"config {path}: criteria {criteria!r} is neither a preset "
                f"({', '.join(PRESETS)}) nor a file next to the config"
            )
        data["criteria"] = PromotionCriteria.from_yaml(file.read_text()).model_dump()
    return data


def _check_training_options(config: EvolveConfig) -> None:
    """The algorithm, its params and grid, regime configs and folds, checked as training will.

    The same :class:`TrainingConfig` rules apply whichever door the run came through, and
    a mistake is reported before the run is recorded rather than by the first worker.
    """
    try:
        TrainingConfig.load(
            {
                "symbol": config.symbol,
                "features": ["any"],
                "algorithm": config.algorithm,
                "params": config.params,
                "grid": config.grid,
                "regime_configs": config.regime_configs,
                "walk_forward": config.walk_forward,
                "target": {"horizon": config.horizon},
                "seed": config.seed,
            }
        )
    except FactoryError as exc:
        raise ValueError(str(exc).removeprefix("invalid training config: ")) from exc
