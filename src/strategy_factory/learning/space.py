"""What a genome search chooses from: a genome, and the space of a study's trials.

A genome is one Optuna trial: ``feature:<name>`` (in or out) for every candidate feature,
``algorithm``, ``threshold_quantile``, ``z_limit``, ``regime_filter`` (its canonical text, or
``all bars``) and ``mode``. A study's space is fixed when it is created and kept in the
study (Optuna refuses a parameter whose distribution changes between trials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution

from strategy_factory.learning.champions import Champion

MODES = ("long_short", "long_only")
# The highest threshold quantile of the default grid: above it a model trades too rarely.
MAX_QUANTILE = 0.95


@dataclass(frozen=True)
class Genome:
    """One proposed genome: the features a run starts from and a strategy configuration."""

    features: tuple[str, ...]
    algorithm: str
    threshold_quantile: float
    z_limit: float | None
    regime_filter: str
    mode: str

    def as_json(self) -> dict[str, Any]:
        """Plain values (for a run's ``origin``)."""
        return {
            "features": list(self.features),
            "algorithm": self.algorithm,
            "threshold_quantile": self.threshold_quantile,
            "z_limit": self.z_limit,
            "regime_filter": self.regime_filter,
            "mode": self.mode,
        }


@dataclass(frozen=True)
class SearchSpace:
    """What a study's trials choose from (kept in the study as its ``space`` attribute)."""

    features: tuple[str, ...]
    algorithms: tuple[str, ...]
    z_limits: tuple[float | None, ...]
    regime_filters: tuple[str, ...]

    def distributions(self) -> dict[str, BaseDistribution]:
        """Optuna's distribution of every parameter."""
        found: dict[str, BaseDistribution] = {
            f"feature:{name}": CategoricalDistribution((False, True)) for name in self.features
        }
        return found | {
            "algorithm": CategoricalDistribution(self.algorithms),
            "threshold_quantile": FloatDistribution(0.0, MAX_QUANTILE),
            "z_limit": CategoricalDistribution(self.z_limits),
            "regime_filter": CategoricalDistribution(self.regime_filters),
            "mode": CategoricalDistribution(MODES),
        }

    def genome(self, params: dict[str, Any]) -> Genome:
        """The genome of a trial's parameters."""
        return Genome(
            features=tuple(name for name in self.features if params[f"feature:{name}"]),
            algorithm=params["algorithm"],
            threshold_quantile=float(params["threshold_quantile"]),
            z_limit=params["z_limit"],
            regime_filter=params["regime_filter"],
            mode=params["mode"],
        )

    def params(self, champion: Champion) -> dict[str, Any] | None:
        """A champion's genome as trial parameters; None when it lies outside the space."""
        inside = (
            set(champion.features) <= set(self.features)
            and champion.algorithm in self.algorithms
            and champion.z_limit in self.z_limits
            and champion.regime_filter in self.regime_filters
            and champion.mode in MODES
        )
        if not inside:
            return None
        chosen = set(champion.features)
        return {f"feature:{name}": name in chosen for name in self.features} | {
            "algorithm": champion.algorithm,
            "threshold_quantile": min(champion.threshold_quantile, MAX_QUANTILE),
            "z_limit": champion.z_limit,
            "regime_filter": champion.regime_filter,
            "mode": champion.mode,
        }

    def to_json(self) -> dict[str, Any]:
        """Plain values (a study attribute)."""
        return {
            "features": list(self.features),
            "algorithms": list(self.algorithms),
            "z_limits": list(self.z_limits),
            "regime_filters": list(self.regime_filters),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchSpace:
        """The space kept in a study."""
        return cls(
            features=tuple(data["features"]),
            algorithms=tuple(data["algorithms"]),
            z_limits=tuple(None if z is None else float(z) for z in data["z_limits"]),
            regime_filters=tuple(data["regime_filters"]),
        )
