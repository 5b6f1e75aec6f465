"""A run on resampled bars is tracked bin by bin: a bin counts once the stored bars reach
its end, and the result is still the whole-series backtest."""

from __future__ import annotations

import numpy as np
import pytest

from strategy_factory.data import BarCatalog, resample_bars, synthetic_bars
from strategy_factory.learning.forward import forward_results, update_forward
from strategy_factory.store import create_store
from tests.learning.conftest import REGIMES, Promoted, promote

# 15-minute bars tracked as hourly bins: 5,000 hours stored, then appends ending mid-hour.
STORED = 20_000
SYN = synthetic_bars(32_000, freq="15min", seed=7, planted_strength=0.1, regimes=REGIMES)
REF = synthetic_bars(32_000, freq="15min", seed=8, regimes=REGIMES)
HOURS = resample_bars(SYN, "1h").index


@pytest.mark.usefixtures("factory_home")
def test_complete_bins_are_tracked_as_the_whole_series_backtest(catalog: BarCatalog) -> None:
    catalog.save("SYN", SYN.iloc[:STORED])
    catalog.save("REF", REF.iloc[:STORED])
    store = create_store()
    promoted = Promoted(store, catalog, promote(store, timeframe="1h"))
    update_forward(store, catalog)
    for stop in (26_002, 29_003, 32_000):  # each append ends inside an hour but the last
        catalog.append("SYN", SYN.iloc[STORED:stop])
        catalog.append("REF", REF.iloc[STORED:stop])
        [update] = update_forward(store, catalog).updates
        complete = SYN.index[stop - 1].floor("1h") - (stop % 4 != 0) * np.timedelta64(1, "h")
        assert update.last == complete, stop
    recorded = forward_results(store, promoted.promotion.id)
    assert len(recorded) == 3_000
    assert recorded.index.equals(HOURS[5_000:8_000])
    expected = promoted.whole_series_backtest().loc[recorded.index]
    assert np.array_equal(recorded["position"].to_numpy(), expected["position"].to_numpy())
    np.testing.assert_allclose(recorded["return"], expected["returns"], rtol=0, atol=1e-12)
