"""Real market data that ships inside installed packages, so nothing is downloaded.

| name   | what                                  | source                            |
| ------ | ------------------------------------- | --------------------------------- |
| SP500  | S&P 500 index, daily OHLCV 1999–2018  | ``arch.data.sp500``               |
| NASDAQ | NASDAQ Composite, daily OHLCV 1999–2018 | ``arch.data.nasdaq``            |
| VIX    | CBOE VIX, daily close 2014–2019       | ``arch.data.vix`` (no OHLC, no volume) |
| MSFT   | Microsoft, daily OHLCV 1986–2017      | ``pmdarima.datasets.load_msft``   |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from strategy_factory.data.validation import normalize_bars


def _arch_ohlcv(module_name: str) -> pd.DataFrame:
    import importlib

    raw = importlib.import_module(f"arch.data.{module_name}").load()
    return raw[["Open", "High", "Low", "Close", "Volume"]]


def _sp500() -> pd.DataFrame:
    return _arch_ohlcv("sp500")


def _nasdaq() -> pd.DataFrame:
    return _arch_ohlcv("nasdaq")


def _vix() -> pd.DataFrame:
    from arch.data import vix

    # The source lists market holidays with a blank close; they are not bars.
    close = vix.load()["vix"].astype("float64").dropna()
    return pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": np.nan}
    )


def _msft() -> pd.DataFrame:
    from pmdarima.datasets import load_msft

    raw = load_msft()
    return raw.set_index(pd.DatetimeIndex(raw["Date"]))[["Open", "High", "Low", "Close", "Volume"]]


BUNDLED: dict[str, tuple[Callable[[], pd.DataFrame], str]] = {
    "SP500": (_sp500, "arch.data.sp500"),
    "NASDAQ": (_nasdaq, "arch.data.nasdaq"),
    "VIX": (_vix, "arch.data.vix"),
    "MSFT": (_msft, "pmdarima.datasets.load_msft"),
}


def load_bundled(symbol: str) -> pd.DataFrame:
    """Load one bundled dataset in the normalized bar schema (dates at 00:00 UTC)."""
    loader, source = BUNDLED[symbol]
    return normalize_bars(loader(), source)
