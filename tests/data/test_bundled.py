"""The bundled real datasets load offline in the normalized schema."""

from __future__ import annotations

import pandas as pd
import pytest

from strategy_factory.data import BAR_COLUMNS, BarCatalog, bars_per_year

EXPECTED = {
    "SP500": ("1999-01-04", "2018-12-31", 5031, True),
    "NASDAQ": ("1999-01-04", "2018-12-31", 5031, True),
    "VIX": ("2014-01-03", "2019-01-03", 1259, False),
    "MSFT": ("1986-03-13", "2017-11-10", 7983, True),
}


@pytest.mark.parametrize("symbol", sorted(EXPECTED))
def test_bundled_symbol(shared_bars: BarCatalog, symbol: str) -> None:
    first, last, rows, has_volume = EXPECTED[symbol]
    meta = shared_bars.meta(symbol)
    bars = shared_bars.load(symbol)
    assert (meta.first, meta.last, meta.rows) == (
        pd.Timestamp(first, tz="UTC"),
        pd.Timestamp(last, tz="UTC"),
        rows,
    )
    assert meta.frequency == "1D"
    assert meta.has_volume is has_volume
    assert list(bars.columns) == list(BAR_COLUMNS)
    assert len(bars) == rows
    assert bars.index.is_monotonic_increasing and bars.index.is_unique
    assert 240 < bars_per_year(bars.index) < 260


def test_sp500_known_values(shared_bars: BarCatalog) -> None:
    bars = shared_bars.load("SP500")
    first = bars.iloc[0]
    assert first["open"] == pytest.approx(1229.22998)
    assert first["high"] == pytest.approx(1248.810059)
    assert bars["close"].iloc[-1] == pytest.approx(2506.850098)


def test_vix_has_only_a_close(shared_bars: BarCatalog) -> None:
    meta = shared_bars.meta("VIX")
    bars = shared_bars.load("VIX")
    assert not meta.has_ohlc and not meta.has_volume
    assert (bars["open"] == bars["close"]).all()
    assert bars["close"].iloc[0] == pytest.approx(13.76)


def test_listing_covers_bundled_and_imported(shared_bars: BarCatalog) -> None:
    assert [m.symbol for m in shared_bars.symbols()][:4] == ["SP500", "NASDAQ", "VIX", "MSFT"]


def test_date_slicing(shared_bars: BarCatalog) -> None:
    bars = shared_bars.load("SP500", start="2018-12-20", end="2018-12-27")
    assert bars.index[0] == pd.Timestamp("2018-12-20", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2018-12-27", tz="UTC")
