"""Read bar files (CSV or Parquet, any bar frequency) into normalized bar frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from strategy_factory.data.validation import Locator, normalize_bars
from strategy_factory.errors import FactoryError

CSV_SUFFIXES = (".csv", ".txt", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def read_bars(path: str | Path, timezone: str | None = None) -> pd.DataFrame:
    """Read and validate a CSV or Parquet file of bars.

    Raises :class:`FactoryError` naming the file, row and problem when anything is off.
    """
    path = Path(path)
    if not path.is_file():
        raise FactoryError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        raw = _read_parquet(path)
        locate = Locator(path.name)
    elif name.endswith(CSV_SUFFIXES):
        raw = _read_csv(path)
        locate = Locator(path.name, header_lines=1)
    else:
        raise FactoryError(
            f"{path}: unknown file type; use .csv (comma-separated with a header row) or .parquet"
        )
    return normalize_bars(raw, path.name, locate, timezone)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise FactoryError(f"{path.name}: the file is empty; nothing to import") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FactoryError(f"{path.name}: not a readable CSV file: {exc}") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise FactoryError(f"{path.name}: not a readable Parquet file: {exc}") from exc
