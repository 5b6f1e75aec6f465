"""What a hypothesis about the market says: the one model the YAML file, CLI and API share.

Two shapes, one model:

- an **event** hypothesis: "when ``feature`` is more than ``k`` standard deviations above
  (below, beyond) its rolling mean, the return over the next ``horizon`` bars goes
  ``expect``" — up, down, ``with`` the move (continuation) or ``against`` it (reversal);
- a **sign** hypothesis (no ``k``): "the sign of ``feature`` predicts the sign of the
  return over the next ``horizon`` bars", on every bar — usually with a ``regime``
  condition: "… in regime R".

Example (YAML; a file may hold one hypothesis or a list under ``hypotheses``)::

    name: sp500-2sigma-reversal
    symbol: SP500
    feature: ret_1
    k: 2
    side: beyond
    horizon: 15
    expect: against
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.features.formula import MAX_LENGTH

MAX_HYPOTHESES = 200
Symbol = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class RegimeCondition(BaseModel):
    """Bars whose label from ``labeler`` is one of ``labels`` (0 = calmest for gmm/hmm)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labeler: Literal["regime_gmm", "regime_hmm", "regime_trend", "regime_vix"]
    labels: list[Annotated[int, Field(ge=0, le=16)]] = Field(min_length=1, max_length=16)


class HypothesisSpec(BaseModel):
    """One declarative hypothesis (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=120)
    symbol: Symbol
    references: list[Symbol] = Field(default_factory=list, max_length=8)
    feature: str = Field(
        min_length=1,
        max_length=MAX_LENGTH,
        description="A feature name (`factory features list SYMBOL`) or a `formula:…`.",
    )
    k: float | None = Field(
        None, gt=0, le=10, description="Standard deviations for an event; none: every bar."
    )
    side: Literal["above", "below", "beyond"] = "beyond"
    z_window: int = Field(250, ge=10, le=5_000, description="Bars of the causal rolling z-score.")
    horizon: int = Field(1, ge=1, le=500, description="Bars ahead the return is measured over.")
    expect: Literal["up", "down", "with", "against"] = "with"
    regime: RegimeCondition | None = None
    start: datetime | None = None
    end: datetime | None = None
    min_events: int = Field(30, ge=10, le=100_000)
    bootstrap_reps: int = Field(2_000, ge=200, le=20_000)
    seed: int = Field(0, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _consistent(self) -> HypothesisSpec:
        if self.k is None and self.side != "beyond":
            raise ValueError(
                "side applies to an event (k standard deviations); give k or drop side"
            )
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must come before end")
        return self


class HypothesisFile(BaseModel):
    """A YAML file or API body of several hypotheses."""

    model_config = ConfigDict(extra="forbid")

    hypotheses: list[HypothesisSpec] = Field(min_length=1, max_length=MAX_HYPOTHESES)


def load_hypotheses(data: Any) -> list[HypothesisSpec]:
    """Validate parsed YAML/JSON — one hypothesis, or ``hypotheses: [...]`` — or raise a
    :class:`FactoryError` naming each field to fix."""
    if not isinstance(data, dict):
        raise FactoryError(f"a hypothesis is a mapping of fields, got {type(data).__name__}")
    try:
        if "hypotheses" in data:
            return HypothesisFile.model_validate(data).hypotheses
        return [HypothesisSpec.model_validate(data)]
    except ValidationError as exc:
        raise FactoryError(f"invalid hypothesis: {describe_problems(exc.errors())}") from exc


def read_hypotheses(path: str | Path) -> list[HypothesisSpec]:
    """The hypotheses of a YAML (or JSON) file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FactoryError(f"cannot read hypotheses from {path}: {exc}") from exc
    return load_hypotheses(data)
