"""A discovered indicator seeds an evolution run by its name alone: the run computes the
formula in its dataset, trains on it and records it in the lineage."""

from __future__ import annotations

from strategy_factory.data import BarCatalog
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.execution.dataset import DatasetSpec, load_dataset
from strategy_factory.store import create_store
from strategy_factory.understanding.discovery_config import DiscoveryConfig
from strategy_factory.understanding.indicators import run_discovery
from tests.understanding.market_stores import bars

__all__ = ["bars"]


def test_a_discovered_indicator_seeds_an_evolution_run(bars: BarCatalog) -> None:
    store = create_store()
    config = DiscoveryConfig(symbol="SYN", generations=1, children=10, keep=2)
    _, indicators = run_discovery(store, config, bars)
    formula = indicators[0].formula
    seed = [formula, "exo_planted", "ret_1", "rsi_14"]
    created = create_run(
        store, EvolveConfig.load({"symbol": "SYN", "seed_features": seed, "max_generations": 1})
    )
    run = Evolution(store, InlineExecutor()).run(created.id)
    assert run.status == "completed"
    (edge,) = store.lineage.of_run(run.id)
    assert formula in edge.remaining_features
    assert formula in store.models.get(edge.child_model_id).features
    # The run's dataset carries the formula, so any worker rebuilds the same column.
    spec = DatasetSpec.model_validate(run.config["dataset"])
    assert formula in spec.formulas
    assert formula in load_dataset(spec).feature_names
