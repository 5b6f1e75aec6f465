"""What an indicator search is asked to do: the one model the CLI, YAML and API share."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategy_factory.understanding.hypothesis_spec import Symbol

MAX_TRIALS = 50_000


class DiscoveryConfig(BaseModel):
    """An indicator search on one symbol (and its reference symbols).

    The bars are cut as a run's are (training 60%, selection 20%, holdout 20%): formulas
    are scored by rank IC on folds of the **training** period only, and the survivors are
    judged once on the **selection** period — a run's own holdout stays unseen, so a
    discovered indicator can seed a run without having looked at the bars that judge it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: Symbol
    references: list[Symbol] = Field(default_factory=list, max_length=4)
    horizon: int = Field(1, ge=1, le=100, description="Bars ahead the return is scored over.")
    population: int = Field(40, ge=4, le=200, description="Formulas kept alive at once.")
    generations: int = Field(40, ge=0, le=200)
    children: int = Field(60, ge=1, le=500, description="New formulas tried per generation.")
    max_depth: int = Field(4, ge=2, le=6)
    folds: int = Field(4, ge=2, le=10)
    dedup_correlation: float = Field(
        0.95, ge=0.5, le=0.999, description="|rank correlation| that makes two series one."
    )
    keep: int = Field(10, ge=1, le=100, description="Indicators reported and judged.")
    min_deflated: float = Field(0.95, ge=0.5, lt=1)
    alpha: float = Field(0.05, gt=0, le=0.2, description="Holdout level, Šidák over `keep`.")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _bounded(self) -> DiscoveryConfig:
        if self.keep > self.population:
            raise ValueError("keep cannot exceed population")
        if self.population + self.generations * self.children > MAX_TRIALS:
            raise ValueError(
                f"population + generations × children is above {MAX_TRIALS:,} formulas; "
                "lower generations or children"
            )
        return self
