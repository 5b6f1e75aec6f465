"""Fixtures for the hypothesis and indicator tests, imported by the modules that use them
(not a conftest, so other understanding tests keep theirs): stores on both backends (the
store tests' fixtures) and a bar store holding a planted series and a random walk."""

from __future__ import annotations

import pytest

from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.data.synthetic import Regime
from tests.store.conftest import postgres_store_url, store, store_url

__all__ = ["bars", "postgres_store_url", "store", "store_url"]


@pytest.fixture
def bars(catalog: BarCatalog) -> BarCatalog:
    """``SYN``: one regime and a planted column that leads the next return; ``WALK``: none."""
    planted = synthetic_bars(
        6_000, freq="1D", seed=4, regimes=(Regime(0.0, 0.2),), planted_strength=0.2
    )
    catalog.save("SYN", planted)
    catalog.save("WALK", synthetic_bars(3_000, freq="1D", seed=9))
    return catalog
