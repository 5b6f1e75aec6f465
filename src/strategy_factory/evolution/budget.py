"""How much work a run asks for, estimated before it is recorded, against a budget.

Every field of a run is bounded on its own, but their product is what costs: a grid of
a thousand thresholds × twenty z-limits × sixty regime filters is each time allowed and
together a 24-million-cell job. :func:`estimate_work` multiplies the run out on the data it
will see, and :func:`check_budget` refuses a run over the configured budget with the
estimate in the message, whichever door (CLI, YAML, API) the run came through.

- **Training** costs model fits × rows × features: every grid cell of every regime
  config is fitted on every walk-forward fold plus the final refit, each generation.
- **Simulation** costs strategy cells × bars: every cell of a model's strategy grid
  steps through every bar of the selection period, on every ticker, each generation.

The same estimate decides where a run's units go (:func:`wants_pool`): in this process,
where training fits its grid on a thread per core and the grid kernel runs on Numba's
threads, or in a pool of processes, which buys only the overlap of one generation's
simulation with the next one's training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from strategy_factory.errors import FactoryError
from strategy_factory.evolution.config import EvolveConfig
from strategy_factory.execution import Dataset
from strategy_factory.models import TrainingConfig
from strategy_factory.settings import get_settings


@dataclass(frozen=True)
class WorkEstimate:
    """The work of a whole run (all generations), in the units the budgets use."""

    fits: int
    fit_values: int
    strategy_cells: int
    cell_bars: int

    def as_record(self) -> dict[str, int]:
        """The estimate as stored with the run."""
        return asdict(self)

    def describe(self) -> str:
        """The estimate in words."""
        return (
            f"{self.fits:,} model fits over {self.fit_values:.3g} row×feature values, "
            f"{self.strategy_cells:,} strategy cells over {self.cell_bars:.3g} cell-bars"
        )


def estimate_work(
    config: EvolveConfig,
    model: TrainingConfig,
    dataset: Dataset,
    default_filters: int,
) -> WorkEstimate:
    """The work of ``config`` on ``dataset`` (``model``: its first generation's config)."""
    generations = config.max_generations
    grid_cells = math.prod(len(values) for values in (model.grid or {}).values())
    fits = grid_cells * len(model.regime_configs) * (model.walk_forward.folds + 1)
    primary = dataset.primary
    training = primary.period(None, dataset.spec.selection_start)
    selection = primary.period(dataset.spec.selection_start, dataset.spec.holdout_start)
    training_rows, selection_rows = training.stop - training.start, selection.stop - selection.start
    strategy = config.strategy
    thresholds = len(strategy.thresholds or strategy.threshold_quantiles)
    filters = len(strategy.regime_filters or []) or default_filters + 1
    per_model = thresholds * len(strategy.z_limits) * filters * len(strategy.modes)
    cells = per_model * len(config.tickers) * generations
    return WorkEstimate(
        fits=fits * generations,
        fit_values=fits * generations * training_rows * len(model.features),
        strategy_cells=cells,
        cell_bars=cells * selection_rows,
    )


# CPU rates of the units on this project's 2-core reference machine, loaded (README,
# "Start-up"): ElasticNet path training on the bundled daily data (the main job's 4.0e8
# row×feature values of fits took 2.7 s), and the grid kernel (issue 16: 141 M cell-bars
# per CPU-second). Slower algorithms only make the pool's overlap worth more.
FIT_VALUES_PER_SECOND = 1.5e8
CELL_BARS_PER_SECOND = 1.4e8
# The pool costs about half a second (fork, each worker's first Numba load, shipping
# models and results); the overlap must win it back twice over.
POOL_MIN_OVERLAP_SECONDS = 1.0


def wants_pool(work: dict[str, Any] | None) -> bool:
    """Whether a run with the recorded ``work`` (:meth:`WorkEstimate.as_record`) should run
    its units in a process pool rather than in this process.

    In this process every unit already uses every core, so the pool can only overlap the
    simulation of generation g with the training of g + 1: at most the smaller of the two,
    estimated here at the rates above. A run recorded before estimates were kept gets the
    pool, as every run did then.
    """
    if work is None:
        return True
    training = work["fit_values"] / FIT_VALUES_PER_SECOND
    simulation = work["cell_bars"] / CELL_BARS_PER_SECOND
    return min(training, simulation) >= POOL_MIN_OVERLAP_SECONDS


def check_budget(estimate: WorkEstimate) -> None:
    """Refuse a run whose estimated work is over ``FACTORY_MAX_FIT_VALUES``,
    ``FACTORY_MAX_STRATEGY_CELLS`` or ``FACTORY_MAX_CELL_BARS``, saying by how much and
    what to change."""
    settings = get_settings()
    over = []
    if estimate.fit_values > settings.max_fit_values:
        over.append(
            f"training {estimate.fit_values:.3g} row×feature values of model fits > "
            f"{settings.max_fit_values:.3g} (FACTORY_MAX_FIT_VALUES)"
        )
    if estimate.strategy_cells > settings.max_strategy_cells:
        over.append(
            f"simulation {estimate.strategy_cells:,} strategy cells > "
            f"{settings.max_strategy_cells:,.0f} (FACTORY_MAX_STRATEGY_CELLS)"
        )
    if estimate.cell_bars > settings.max_cell_bars:
        over.append(
            f"simulation {estimate.cell_bars:.3g} cell-bars > {settings.max_cell_bars:.3g} "
            "(FACTORY_MAX_CELL_BARS)"
        )
    if over:
        raise FactoryError(
            f"the run is over the work budget: {'; '.join(over)}. Estimated: "
            f"{estimate.describe()}. Shrink the grids, the generations or the data, or raise "
            "the budget"
        )
