"""Promotion ("Holy Grail") criteria: typed ranges a strategy's holdout metrics must fall in.

A :class:`PromotionCriteria` holds one optional :class:`Range` per metric; a metric with
no range is not judged. Defaults: SQN-100 (SQN with the trade count capped at 100)
3–5, profit factor 2–4, trades 200–10,000 and weekly consistency at most 0.5. Bounds
are inclusive. Upper bounds on "higher is better" metrics are deliberate: a profit
factor of 9 on a holdout is far more often an overfit or a bug than a discovery. A
missing or NaN metric never passes.

Configs and API bodies map one-to-one onto the model, in YAML::

    sqn_100: {min: 3, max: 5}
    profit_factor: [2, 4]        # [min, max] works too; null for an open side
    trades: {min: 200, max: 10000}
    weekly_consistency: {max: 0.5}
    dsr: true                    # switch on at its default range: min 0.95
    sharpe: {min: 1}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from strategy_factory.errors import FactoryError


class Range(BaseModel):
    """An inclusive ``[min, max]`` range; either side may be left open (``None``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2:
                raise ValueError(f"a range is [min, max], got {len(data)} values")
            return {"min": data[0], "max": data[1]}
        return data

    @model_validator(mode="after")
    def _possible(self) -> Range:
        for side, bound in (("min", self.min), ("max", self.max)):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"{side} is {bound}: give a number, or leave {side} out")
        if self.min is None and self.max is None:
            raise ValueError("give a min, a max or both; to switch a criterion off, set it to null")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}: swap them")
        return self

    @model_serializer
    def _bounds(self) -> dict[str, int | float]:
        # Whole numbers as ints, so configs read "trades: {min: 200}" rather than 200.0.
        bounds = (("min", self.min), ("max", self.max))
        return {side: _whole(b) for side, b in bounds if b is not None}

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the range; NaN never does."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        """The range in words, e.g. ``3–5``, ``at least 0.95``, ``at most 0.5``."""
        if self.min is not None and self.max is not None:
            return f"{_number(self.min)}–{_number(self.max)}"
        if self.min is not None:
            return f"at least {_number(self.min)}"
        return f"at most {_number(self.max)}"  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Metric:
    label: str
    higher_is_better: bool | None = None
    floor: float = -math.inf
    ceiling: float = math.inf
    unit: str = ""


# Names follow the metrics table of strategy_factory.evaluate.metrics, plus dsr and pbo.
METRICS: dict[str, _Metric] = {
    "trades": _Metric("trades", floor=0, unit="a count"),
    "win_rate": _Metric("win rate", True, 0, 1, "a fraction, not a percentage"),
    "expectancy": _Metric("expectancy", True),
    "payoff_ratio": _Metric("payoff ratio", True, 0),
    "profit_factor": _Metric("profit factor", True, 0),
    "sqn": _Metric("SQN", True),
    "sqn_100": _Metric("SQN-100", True),
    "weekly_consistency": _Metric("weekly consistency", False, 0),
    "exposure": _Metric("exposure", None, 0, 1, "a fraction of bars, not a percentage"),
    "total_return": _Metric("total return", True),
    "cagr": _Metric("CAGR", True),
    "sharpe": _Metric("Sharpe", True),
    "sortino": _Metric("Sortino", True),
    "max_drawdown": _Metric(
        "max drawdown", None, ceiling=0, unit="a negative fraction: -0.2 is a 20% drawdown"
    ),
    "max_drawdown_bars": _Metric("max drawdown duration", None, 0, unit="a count of bars"),
    "position_changes": _Metric("position changes", None, 0, unit="a count"),
    "dsr": _Metric("selection DSR", True, 0, 1, "a probability"),
    "pbo": _Metric("PBO", False, 0, 1, "a probability"),
    "holdout_p": _Metric(
        "holdout p-value (Šidák over the holdout looks)", False, 0, 1, "a probability"
    ),
}

# Judged unless a run switches them off.
# SQN is judged on its 100-trade-capped form (Van Tharp's scale, on which 3-5 is
# "excellent"): uncapped SQN grows with the square root of the trade count, so with at
# least 200 trades and a profit factor of 2 or more it is nearly always above 5.
HOLY_GRAIL: dict[str, Range] = {
    "sqn_100": Range(min=3, max=5),
    "profit_factor": Range(min=2, max=4),
    "trades": Range(min=200, max=10_000),
    "weekly_consistency": Range(max=0.5),
}

# The range ``true`` switches a criterion on at; other metrics need an explicit range.
DEFAULT_RANGES: dict[str, Range] = {
    **HOLY_GRAIL,
    "dsr": Range(min=0.95),
    "holdout_p": Range(max=0.05),
    "pbo": Range(max=0.5),
}


class PromotionCriteria(BaseModel):
    """Ranges of holdout metrics a strategy must meet to be promoted; ``null`` = not judged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sqn_100: Range | None = Field(
        HOLY_GRAIL["sqn_100"], description="SQN with the trade count capped at 100"
    )
    profit_factor: Range | None = Field(
        HOLY_GRAIL["profit_factor"], description="gross profit / gross loss"
    )
    trades: Range | None = Field(HOLY_GRAIL["trades"], description="number of trades")
    weekly_consistency: Range | None = Field(
        HOLY_GRAIL["weekly_consistency"], description="std / mean of weekly P&L (lower is steadier)"
    )
    dsr: Range | None = Field(
        default=None, description="Deflated Sharpe Ratio of the selection (true: >= 0.95)"
    )
    pbo: Range | None = Field(
        default=None, description="Probability of Backtest Overfitting (true: <= 0.5)"
    )
    holdout_p: Range | None = Field(
        default=None,
        description="p-value of the holdout Sharpe ratio against 0, Šidák-corrected for the "
        "run's holdout looks (true: <= 0.05)",
    )
    sqn: Range | None = Field(default=None, description="SQN of all trade returns (uncapped)")
    sharpe: Range | None = None
    sortino: Range | None = None
    win_rate: Range | None = None
    expectancy: Range | None = None
    payoff_ratio: Range | None = None
    exposure: Range | None = None
    total_return: Range | None = None
    cagr: Range | None = None
    max_drawdown: Range | None = None
    max_drawdown_bars: Range | None = None
    position_changes: Range | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: ValidationInfo) -> Any:
        if value is False:
            return None
        if value is True:
            if info.field_name not in DEFAULT_RANGES:
                raise ValueError("has no default range: give one, e.g. {min: 1}")
            return DEFAULT_RANGES[info.field_name]
        return value

    @model_validator(mode="after")
    def _in_domain(self) -> PromotionCriteria:
        for name, limits in self.active.items():
            metric = METRICS[name]
            for side, bound in (("minimum", limits.min), ("maximum", limits.max)):
                if bound is not None and not metric.floor <= bound <= metric.ceiling:
                    raise ValueError(f"{name}: {side} {bound:g} is impossible: {_domain(metric)}")
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Keep switched-off defaults as explicit nulls so the dump reloads to the same
        # criteria; leave out optional criteria that are off.
        data = handler(self)
        return {k: v for k, v in data.items() if v is not None or k in HOLY_GRAIL}

    @property
    def active(self) -> dict[str, Range]:
        """The criteria that are switched on, by metric name."""
        fields = type(self).model_fields
        return {name: r for name in fields if (r := getattr(self, name)) is not None}

    def judge(self, metrics: Mapping[str, Any]) -> Verdict:
        """Judge one strategy's metrics (a mapping such as a metrics-table row).

        Example::

            verdict = PromotionCriteria().judge({"sqn": 2.41, "profit_factor": 2.5, ...})
            verdict.passed, [r.reason for r in verdict.misses]
        """
        results = tuple(
            _judge_one(name, limits, metrics.get(name)) for name, limits in self.active.items()
        )
        return Verdict(passed=all(r.met for r in results), results=results)

    def met_table(self, metrics: pd.DataFrame) -> pd.DataFrame:
        """One boolean column per active criterion: whether each row meets it."""
        return pd.DataFrame(
            {name: _column_met(metrics, name, limits) for name, limits in self.active.items()},
            index=metrics.index,
            dtype=bool,
        )

    def mask(self, metrics: pd.DataFrame) -> pd.Series:
        """Rows of a metrics table (one per grid cell) that meet every criterion.

        Example: ``promoted = table[criteria.mask(table)]``.
        """
        passed = np.ones(len(metrics), dtype=bool)
        for name, limits in self.active.items():
            passed &= _column_met(metrics, name, limits)
        return pd.Series(passed, index=metrics.index, name="passed")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> PromotionCriteria:
        """Criteria from a parsed config section; ``None`` or ``{}`` gives the defaults."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            raise FactoryError(f"invalid promotion criteria: {_explain(exc)}") from exc
        except TypeError as exc:
            raise FactoryError(f"promotion criteria must be a mapping: {exc}") from exc

    @classmethod
    def from_yaml(cls, text: str) -> PromotionCriteria:
        """Criteria from YAML text (see the module docstring for the shape)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FactoryError(f"promotion criteria are not valid YAML: {exc}") from exc
        if data is not None and not isinstance(data, Mapping):
            raise FactoryError("promotion criteria YAML must be a mapping of metric: range")
        return cls.from_mapping(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> PromotionCriteria:
        """Criteria from a JSON object."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise FactoryError(f"invalid promotion criteria: {_explain(exc)}") from exc

    def to_yaml(self) -> str:
        """YAML that :meth:`from_yaml` reads back to equal criteria."""
        return yaml.safe_dump(self.model_dump(), sort_keys=False, default_flow_style=None)

    def to_json(self) -> str:
        """JSON that :meth:`from_json` reads back to equal criteria."""
        return self.model_dump_json()


class CriterionResult(BaseModel):
    """How one metric fared against its range."""

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings")

    metric: str
    value: float | None  # None when the metric was missing
    range: Range
    met: bool
    reason: str

    @property
    def brief(self) -> str:
        """The outcome in a few words, e.g. ``trades 178 < 200``."""
        metric = METRICS[self.metric]
        if self.value is None:
            return f"{metric.label} missing"
        if math.isnan(self.value):
            return f"{metric.label} undefined"
        low, high = self.range.min, self.range.max
        if low is not None and self.value < low:
            return f"{metric.label} {_number(self.value, near=low)} < {_number(low)}"
        if high is not None and self.value > high:
            shown = f"{metric.label} {_number(self.value, near=high)} > {_number(high)}"
            return shown + (" (suspiciously high)" if metric.higher_is_better else "")
        return f"{metric.label} {_number(self.value)} {_inside(self.range)}"


class Verdict(BaseModel):
    """Whether a strategy passed, and why or why not, criterion by criterion."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    results: tuple[CriterionResult, ...]

    @property
    def misses(self) -> tuple[CriterionResult, ...]:
        """The criteria that were not met."""
        return tuple(r for r in self.results if not r.met)


def _judge_one(name: str, limits: Range, raw: Any) -> CriterionResult:
    metric = METRICS[name]
    value = _as_float(raw)
    met = False
    if value is None:
        reason = f"{metric.label} is missing from the metrics, so it cannot pass"
    elif math.isnan(value):
        what = "NaN (undefined, e.g. too few trades to measure it)"
        if isinstance(raw, str):
            what = f"not a number ({raw!r})"
        reason = f"{metric.label} is {what}, so it cannot pass"
    elif limits.min is not None and value < limits.min:
        shown = _number(value, near=limits.min)
        reason = f"{metric.label} {shown} is below the minimum {_number(limits.min)}"
    elif limits.max is not None and value > limits.max:
        shown = _number(value, near=limits.max)
        reason = f"{metric.label} {shown} is above the maximum {_number(limits.max)}"
        if metric.higher_is_better:
            reason += " — suspiciously high, likely overfit"
    else:
        met = True
        reason = f"{metric.label} {_number(value)} is {_inside(limits)}"
    return CriterionResult(metric=name, value=value, range=limits, met=met, reason=reason)


def _column_met(metrics: pd.DataFrame, name: str, limits: Range) -> np.ndarray:
    if name not in metrics.columns:
        return np.zeros(len(metrics), dtype=bool)
    values = pd.to_numeric(metrics[name], errors="coerce").to_numpy(dtype=float)
    met = ~np.isnan(values)
    if limits.min is not None:
        met &= values >= limits.min
    if limits.max is not None:
        met &= values <= limits.max
    return met


def _as_float(raw: Any) -> float | None:
    """The metric as a float; None when missing, NaN when it is not a number."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return math.nan
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _inside(limits: Range) -> str:
    text = limits.describe()
    return text if text.startswith("at ") else f"within {text}"


def _number(value: float, near: float | None = None) -> str:
    """A readable number, precise enough not to look equal to the bound ``near``."""
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    for digits in (3, 6, 17):
        text = f"{value:,.0f}" if abs(value) >= 1000 and digits == 3 else f"{value:.{digits}g}"
        if near is None or text != _number(near):
            return text
    return text


def _whole(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _domain(metric: _Metric) -> str:
    unit = f" ({metric.unit})" if metric.unit else ""
    if math.isinf(metric.ceiling):
        return f"{metric.label} cannot be below {metric.floor:g}{unit}"
    if math.isinf(metric.floor):
        return f"{metric.label} cannot be above {metric.ceiling:g}{unit}"
    return f"{metric.label} is between {metric.floor:g} and {metric.ceiling:g}{unit}"


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = (
                f"unknown metric; known metrics: {', '.join(METRICS)}"
                if len(error["loc"]) == 1
                else "unknown field; a range has only min and max"
            )
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


# Named sets of criteria a run chooses with ``--criteria NAME`` (or a YAML file of its own).
# ``holy_grail``: the seed's ranges exactly, upper caps included — a band of strategies
# that are good but not suspiciously good. ``evidence``: statistics instead of caps — the
# holdout Sharpe ratio significantly above zero after correcting for every holdout look, a
# search that is not overfit (PBO), enough trades and a bounded drawdown; no upper bounds.
PRESETS: dict[str, PromotionCriteria] = {
    "holy_grail": PromotionCriteria(),
    "evidence": PromotionCriteria(
        sqn_100=None,
        profit_factor=None,
        trades=Range(min=30),
        weekly_consistency=None,
        holdout_p=Range(max=0.05),
        pbo=Range(max=0.5),
        max_drawdown=Range(min=-0.5),
    ),
}


def criteria_preset(name: str) -> PromotionCriteria:
    """The criteria preset called ``name`` (see :data:`PRESETS`)."""
    if name not in PRESETS:
        raise FactoryError(
            f"unknown criteria preset {name!r}; presets: {', '.join(PRESETS)} "
            "(or give the criteria as a mapping, or a YAML file on the command line)"
        )
    return PRESETS[name]
