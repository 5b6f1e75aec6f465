"""Prediction sources that need no model: rule signals and saved prediction files.

A prediction is a number per bar known at that bar's close; the grid trades its sign
when its size clears a threshold. Rules predict 0 (stand aside) until their window is
full, so they never hand the engine a NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from strategy_factory.data.validation import TIMESTAMP_NAMES
from strategy_factory.errors import FactoryError

RULES: tuple[str, ...] = ("momentum", "mean_reversion")


def _check_window(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FactoryError(f"{name} is a number of bars >= 1, got {value!r}")


def momentum(close: pd.Series, lookback: int = 20) -> pd.Series:
    """The ``lookback``-bar return ``close_t / close_{t-lookback} - 1`` (0 while warming up).

    Example::

        predictions = momentum(bars["close"], lookback=20)
    """
    _check_window("lookback", lookback)
    change = close / close.shift(lookback) - 1.0
    return change.fillna(0.0).rename("prediction")


def mean_reversion(close: pd.Series, window: int = 20) -> pd.Series:
    """Minus the z-score of the close against its ``window``-bar SMA (sample std).

    Positive when the price sits below its average (expect a rise). 0 while warming up
    and where the window has no spread.
    """
    _check_window("window", window)
    if window < 2:
        raise FactoryError(f"window needs at least 2 bars for a standard deviation, got {window}")
    rolling = close.rolling(window)
    std = rolling.std(ddof=1)
    score = -(close - rolling.mean()) / std.where(std > 0)
    return score.fillna(0.0).rename("prediction")


def rule_predictions(close: pd.Series, rule: str, lookback: int = 20) -> pd.Series:
    """Predictions of the rule named ``rule`` (see :data:`RULES`) with its window."""
    if rule == "momentum":
        return momentum(close, lookback)
    if rule == "mean_reversion":
        return mean_reversion(close, lookback)
    raise FactoryError(f"unknown rule {rule!r}; use one of {', '.join(RULES)}")


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.name.lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if suffix.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(path)
    except Exception as exc:
        raise FactoryError(f"{path.name}: cannot read the predictions file: {exc}") from exc
    raise FactoryError(f"{path.name}: unknown file type; use .csv or .parquet")


def _timestamp_index(table: pd.DataFrame, source: str) -> pd.DatetimeIndex:
    if isinstance(table.index, pd.DatetimeIndex):
        stamps = pd.Series(table.index)
    else:
        lowered = {str(c).strip().lower(): c for c in table.columns}
        found = [lowered[n] for n in TIMESTAMP_NAMES if n in lowered]
        if not found:
            raise FactoryError(
                f"{source}: no timestamp column; name one of {', '.join(TIMESTAMP_NAMES)}"
            )
        stamps = table.pop(found[0])
    parsed = pd.to_datetime(stamps, utc=True, errors="coerce", format="mixed")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise FactoryError(
            f"{source} row {bad[0] + 1}: cannot read timestamp {stamps.iloc[bad[0]]!r}"
        )
    index = pd.DatetimeIndex(parsed, name="timestamp")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise FactoryError(f"{source}: timestamps must be strictly increasing")
    return index


def load_predictions(path: str | Path) -> pd.DataFrame:
    """Read saved predictions: a timestamp column plus one or more numeric columns.

    CSV or Parquet; timestamps become a UTC index (naive ones are read as UTC). Each
    numeric column is one prediction series (e.g. ``prediction`` or one per ticker).
    """
    path = Path(path)
    if not path.is_file():
        raise FactoryError(f"{path}: no such predictions file")
    table = _read_table(path)
    if table.empty:
        raise FactoryError(f"{path.name}: the predictions file has no rows")
    index = _timestamp_index(table, path.name)
    numeric = table.select_dtypes("number")
    if numeric.empty:
        raise FactoryError(f"{path.name}: no numeric prediction column besides the timestamp")
    return numeric.set_axis(index).astype(np.float64)
