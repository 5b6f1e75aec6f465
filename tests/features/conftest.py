"""Real bars of the bundled symbols and small synthetic series, shared by the feature tests."""

from __future__ import annotations

import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, synthetic_bars


@pytest.fixture(scope="session")
def sp500(shared_bars: BarCatalog) -> pd.DataFrame:
    return shared_bars.load("SP500")


@pytest.fixture(scope="session")
def nasdaq(shared_bars: BarCatalog) -> pd.DataFrame:
    return shared_bars.load("NASDAQ")


@pytest.fixture(scope="session")
def vix(shared_bars: BarCatalog) -> pd.DataFrame:
    return shared_bars.load("VIX")


@pytest.fixture(scope="session")
def minute_bars() -> pd.DataFrame:
    """Two days and a bit of one-minute bars with a planted exogenous column."""
    return synthetic_bars(3_000, freq="1min", seed=11, planted_strength=0.1)


@pytest.fixture(scope="session")
def minute_reference() -> pd.DataFrame:
    """A second minute series over the same stamps, as a reference symbol."""
    return synthetic_bars(3_000, freq="1min", seed=12)
