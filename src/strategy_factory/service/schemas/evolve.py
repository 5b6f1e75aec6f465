"""Bodies of ``POST /evolve`` and ``POST /evolve/batch``, and what they answer.

The request fields ARE :class:`EvolveConfig`'s fields (generated from it, so the two
cannot drift apart), plus ``thresholds`` — the original design's name for
``strategy.thresholds``. Types and ranges are checked when the body is parsed (422);
the whole config is then validated once more as an :class:`EvolveConfig`, and against
the data by ``create_run``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from strategy_factory.errors import FactoryError
from strategy_factory.evaluate import criteria_preset
from strategy_factory.evolution import EvolveConfig
from strategy_factory.evolution.config import MAX_GRID_AXIS, Threshold

_THRESHOLDS_HELP = (
    "Absolute minimum |prediction| values of the strategy grid (same as strategy.thresholds); "
    "without them the grid uses strategy.threshold_quantiles of each model's predictions."
)

# ``origin`` is set by the genome search alone (the runs it launches): a request cannot
# claim it. ``prior_trials`` may be given: it only makes the run's deflation stricter.
_SHARED: dict[str, Any] = {
    name: (field.annotation, field)
    for name, field in EvolveConfig.model_fields.items()
    if name not in {"symbol", "origin"}
}


class _OneThresholdList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _criteria_preset(cls, data: Any) -> Any:
        """``"criteria": "evidence"``: a preset's name stands for its ranges."""
        if isinstance(data, dict) and isinstance(data.get("criteria"), str):
            name = data["criteria"]
            try:
                preset = criteria_preset(name)
            except FactoryError as exc:
                raise ValueError(str(exc)) from exc
            return {**data, "criteria": preset.model_dump(), "criteria_name": name}
        return data

    @model_validator(mode="after")
    def _thresholds_once(self) -> _OneThresholdList:
        strategy = getattr(self, "strategy", None)
        if getattr(self, "thresholds", None) is not None and strategy.thresholds is not None:
            raise ValueError("give thresholds or strategy.thresholds, not both")
        return self


RunOptions = create_model(  # type: ignore[call-overload]
    "RunOptions",
    __base__=_OneThresholdList,
    __doc__="Every EvolveConfig field but the symbol; all optional, with its defaults.",
    thresholds=(
        list[Threshold] | None,
        Field(None, max_length=MAX_GRID_AXIS, description=_THRESHOLDS_HELP),
    ),
    **_SHARED,
)


class EvolveRequest(RunOptions):  # type: ignore[misc, valid-type]
    """One run: a symbol plus any :class:`EvolveConfig` field.

    Example::

        {"symbol": "SP500", "reference_symbols": ["NASDAQ"], "max_generations": 4,
         "criteria": {"sqn_100": {"min": 2, "max": 6}, "trades": {"min": 100}}}
    """

    symbol: str = Field(description="Symbol to evolve strategies for (see /api/features/symbols).")

    def config(self) -> EvolveConfig:
        """The run configuration (raises ``ValidationError`` on an impossible combination)."""
        return evolve_config(self, self.symbol)


class EvolveBatchRequest(RunOptions):  # type: ignore[misc, valid-type]
    """Several runs, one per symbol, sharing every other field."""

    symbols: list[str] = Field(min_length=1, max_length=100, description="One run per symbol.")

    @model_validator(mode="after")
    def _distinct(self) -> EvolveBatchRequest:
        seen = [s.strip().upper() for s in self.symbols]
        twice = sorted({s for s in seen if seen.count(s) > 1})
        if twice:
            raise ValueError(f"symbols lists {', '.join(twice)} more than once")
        return self


def evolve_config(options: BaseModel, symbol: str) -> EvolveConfig:
    """The :class:`EvolveConfig` of ``options`` for ``symbol``; unset fields keep defaults."""
    data = options.model_dump(exclude_unset=True, exclude={"symbol", "symbols"})
    thresholds = data.pop("thresholds", None)
    if thresholds is not None:
        data["strategy"] = {**(data.get("strategy") or {}), "thresholds": thresholds}
    return EvolveConfig.model_validate({**data, "symbol": symbol})


class RunAccepted(BaseModel):
    """A run was recorded and handed to the coordinator."""

    run_id: str
    status: str
    symbol: str


class BatchAccepted(BaseModel):
    """Every run of a batch, in the order of ``symbols``."""

    runs: list[RunAccepted]
