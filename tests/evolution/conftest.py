"""Synthetic markets for evolution runs: one with a planted signal, one pure random walk.

Hourly 24/7 bars with crypto-like volatility (50% / 90% a year in two regimes): each bar
moves far more than the default 1 bp fee plus 1 bp slippage, and a week holds enough bars
for the weekly-consistency criterion to be measurable. With ``PLANTED`` strength the
planted feature's best strategies land inside the default promotion ranges; much weaker
fails the minimums, much stronger fails the maxima (a profit factor above 4 is judged
suspicious) — the criteria are a band, not a floor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strategy_factory.data import BarCatalog, Regime, synthetic_bars
from strategy_factory.evolution import Evolution, EvolveConfig, create_run
from strategy_factory.execution import InlineExecutor
from strategy_factory.store import Run, Store, create_store

BARS = 40_000
PLANTED = 0.46
REGIMES = (Regime(0.0, 0.5), Regime(0.0, 0.9))


def store_synthetic(home: Path, symbol: str, strength: float, seed: int = 7) -> None:
    """Save hourly synthetic bars as ``symbol`` in the bar store under ``home``."""
    bars = synthetic_bars(BARS, freq="1h", seed=seed, planted_strength=strength, regimes=REGIMES)
    BarCatalog(home / "bars").save(symbol, bars, replace=True)


@pytest.fixture
def markets(factory_home: Path) -> Path:
    """``PLANTED`` (a planted signal) and ``WALK`` (a pure random walk) in the bar store."""
    store_synthetic(factory_home, "PLANTED", PLANTED)
    store_synthetic(factory_home, "WALK", 0.0)
    return factory_home


@pytest.fixture
def store(factory_home: Path) -> Store:
    """The SQLite store of the test's working directory."""
    return create_store()


Evolve = Callable[..., Run]


@pytest.fixture
def evolve(store: Store) -> Evolve:
    """Create and run an evolution in-process; keyword arguments are EvolveConfig fields."""

    def run(**fields: Any) -> Run:
        created = create_run(store, EvolveConfig.load(fields))
        return Evolution(store, InlineExecutor()).run(created.id)

    return run
