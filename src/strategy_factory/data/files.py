"""Read bar files (CSV or Parquet, any bar frequency) into normalized bar frames."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from strategy_factory.data.validation import Locator, normalize_bars
from strategy_factory.errors import FactoryError

CSV_SUFFIXES = (".csv", ".txt", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
# Comma, semicolon (the usual delimiter where the comma is the decimal mark), tab, pipe.
DELIMITERS = ",;\t|"


def read_bars(path: str | Path, timezone: str | None = None) -> pd.DataFrame:
    """Read and validate a CSV or Parquet file of bars.

    Raises :class:`FactoryError` naming the file, row and problem when anything is off.
    """
    path = Path(path)
    if not path.is_file():
        raise FactoryError(f"{path}: no such file")
    locate = file_locator(path)
    raw = _read_csv(path) if locate.header_lines else _read_parquet(path)
    return normalize_bars(raw, path.name, locate, timezone)


def file_locator(path: Path) -> Locator:
    """How error messages name a row of the bar file ``path`` (lines for CSV)."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return Locator(path.name)
    if name.endswith(CSV_SUFFIXES):
        return Locator(path.name, header_lines=1)
    raise FactoryError(f"{path}: unknown file type; use .csv (with a header row) or .parquet")


def _read_csv(path: Path) -> pd.DataFrame:
    delimiter = _delimiter(path)
    try:
        raw = pd.read_csv(path, sep=delimiter, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise FactoryError(f"{path.name}: the file is empty; nothing to import") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise FactoryError(f"{path.name}: not a readable CSV file: {exc}") from exc
    if len(raw.columns) == 1:
        raise FactoryError(
            f"{path.name}: found one column ({raw.columns[0]!r}) where bars need a timestamp, "
            "open, high, low and close; the columns must be separated by one delimiter: "
            ", ; tab or |"
        )
    return raw


def _delimiter(path: Path) -> str:
    """The one of :data:`DELIMITERS` found most often in the header line (comma on a tie).

    The header alone decides: data rows may be ragged or hold timestamps with other
    punctuation, and a bar file's header has at least four delimiters.
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            header = handle.readline()
    except (OSError, EOFError) as exc:
        raise FactoryError(f"{path.name}: not a readable CSV file: {exc}") from exc
    return max(DELIMITERS, key=header.count)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise FactoryError(f"{path.name}: not a readable Parquet file: {exc}") from exc
