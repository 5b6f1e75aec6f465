"""CSV/Parquet import: every malformed file gets an error naming file, row and problem,
and a failed import leaves stored data untouched."""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategy_factory.data import BarCatalog, read_bars
from strategy_factory.errors import FactoryError, NotFoundError

GOOD = """timestamp,open,high,low,close,volume
2024-01-02 09:30,10,11,9.5,10.5,100
2024-01-02 09:31,10.5,10.8,10.1,10.2,120
2024-01-02 09:32,10.2,10.4,10.0,10.3,90
2024-01-02 09:33,10.3,10.9,10.2,10.8,150
"""


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def replace_line(text: str, line: int, new: str) -> str:
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_good_csv_is_normalized(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, GOOD))
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert str(bars.index.tz) == "UTC"
    assert bars.index.name == "timestamp"
    assert bars.index[0] == pd.Timestamp("2024-01-02 09:30", tz="UTC")
    assert bars["close"].tolist() == [10.5, 10.2, 10.3, 10.8]
    assert bars.dtypes.eq("float64").all()


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_other_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    text = GOOD.replace(",", delimiter)
    bars = read_bars(write(tmp_path, text))
    pd.testing.assert_frame_equal(bars, read_bars(write(tmp_path, GOOD, "comma.csv")))


def test_delimiter_is_detected_in_a_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(GOOD.replace(",", ";"))
    assert read_bars(path)["close"].tolist() == [10.5, 10.2, 10.3, 10.8]


def test_corrupt_compressed_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FactoryError, match=r"bars\.csv\.gz: not a readable CSV file"):
        read_bars(write(tmp_path, GOOD, "bars.csv.gz"))


def test_unsplittable_lines_hint_at_the_delimiter(tmp_path: Path) -> None:
    with pytest.raises(FactoryError, match=r"bars\.csv: found one column .*delimiter") as raised:
        read_bars(write(tmp_path, GOOD.replace(",", "#")))
    assert "; tab or |" in str(raised.value)


def test_timezone_option_converts_to_utc(tmp_path: Path) -> None:
    bars = read_bars(write(tmp_path, GOOD), timezone="America/New_York")
    assert bars.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")


def test_parquet_roundtrip_and_epoch_timestamps(tmp_path: Path) -> None:
    frame = read_bars(write(tmp_path, GOOD)).reset_index()
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    frame["timestamp"] = (frame["timestamp"] - epoch) // pd.Timedelta(seconds=1)
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    bars = read_bars(path)
    assert bars.index[1] == pd.Timestamp("2024-01-02 09:31", tz="UTC")


def test_volume_is_optional(tmp_path: Path) -> None:
    text = "\n".join(",".join(line.split(",")[:5]) for line in GOOD.splitlines())
    bars = read_bars(write(tmp_path, text))
    assert bars["volume"].isna().all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("timestamp,open,high,low,close,volume\n", "no data rows"),
        (GOOD.replace("volume", "vol").replace(",low,", ",lo,"), "missing column(s) low"),
        (GOOD.replace("timestamp", "when"), "no timestamp column"),
        (
            replace_line(GOOD, 3, "yesterday,10.5,10.8,10.1,10.2,120"),
            "line 3 (data row 2): cannot read timestamp 'yesterday'",
        ),
        (
            replace_line(GOOD, 4, "2024-01-02 09:31,10.2,10.4,10.0,10.3,90"),
            "line 4 (data row 3): duplicate timestamp",
        ),
        (
            replace_line(GOOD, 4, "2024-01-02 09:29,10.2,10.4,10.0,10.3,90"),
            "line 4 (data row 3): timestamp 2024-01-02T09:29:00+00:00 is earlier",
        ),
        (
            replace_line(GOOD, 2, "2024-01-02 09:30,10,11,9.5,abc,100"),
            "line 2 (data row 1): close is 'abc', not a number",
        ),
        (
            replace_line(GOOD, 5, "2024-01-02 09:33,10.3,10.9,-1,10.8,150"),
            "line 5 (data row 4): low is -1; prices must be positive",
        ),
        (
            replace_line(GOOD, 3, "2024-01-02 09:31,10.5,10.0,10.8,10.2,120"),
            "line 3 (data row 2): high 10 is below low 10.8",
        ),
        (
            replace_line(GOOD, 3, "2024-01-02 09:31,10.5,10.6,10.1,10.9,120"),
            "open/close lie outside the high-low range",
        ),
        (replace_line(GOOD, 2, "2024-01-02 09:30,10,11,9.5,10.5,-5"), "volume cannot be negative"),
    ],
    ids=[
        "empty",
        "header-only",
        "missing-column",
        "no-timestamp",
        "unparseable",
        "duplicate",
        "unsorted",
        "wrong-type",
        "non-positive",
        "high-below-low",
        "outside-range",
        "negative-volume",
    ],
)
def test_malformed_csv_names_file_row_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(FactoryError) as raised:
        read_bars(write(tmp_path, text))
    assert "bars.csv" in str(raised.value)
    assert expected in str(raised.value)


def test_nan_run_is_reported_with_its_length(tmp_path: Path) -> None:
    lines = GOOD.splitlines()
    lines[2] = "2024-01-02 09:31,,,,,120"
    lines[3] = "2024-01-02 09:32,,,,,90"
    with pytest.raises(
        FactoryError, match=r"line 3 \(data row 2\): open is missing for 2 bar\(s\) in a row"
    ):
        read_bars(write(tmp_path, "\n".join(lines)))


def test_unknown_file_type(tmp_path: Path) -> None:
    with pytest.raises(FactoryError, match="unknown file type"):
        read_bars(write(tmp_path, GOOD, name="bars.xlsx"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FactoryError, match="no such file"):
        read_bars(tmp_path / "nope.csv")


def test_failed_import_leaves_stored_bars_untouched(catalog: BarCatalog, tmp_path: Path) -> None:
    catalog.import_file(write(tmp_path, GOOD), "MINE")
    before = catalog.load("MINE")
    broken = write(
        tmp_path, replace_line(GOOD, 3, "2024-01-02 09:31,10.5,10.0,10.8,10.2,120"), "b.csv"
    )
    with pytest.raises(FactoryError):
        catalog.import_file(broken, "MINE", replace=True)
    pd.testing.assert_frame_equal(catalog.load("MINE"), before)
    assert not list(catalog.root.glob("*.tmp"))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024-01-02 09:31;10.5;10.0;10.8;10.2;120", "line 3 (data row 2): high 10 is below low"),
        ("2024-01-02 09:31;10.5;10.8;10.1;10.2;120;7", "Expected 6 fields in line 3, saw 7"),
    ],
    ids=["invalid-bar", "ragged-row"],
)
def test_malformed_semicolon_file_leaves_stored_bars_untouched(
    catalog: BarCatalog, tmp_path: Path, line: str, expected: str
) -> None:
    catalog.import_file(write(tmp_path, GOOD.replace(",", ";")), "MINE")
    before = catalog.load("MINE")
    broken = write(tmp_path, replace_line(GOOD.replace(",", ";"), 3, line), "b.csv")
    with pytest.raises(FactoryError, match=r"b\.csv") as raised:
        catalog.import_file(broken, "MINE", replace=True)
    assert expected in str(raised.value)
    pd.testing.assert_frame_equal(catalog.load("MINE"), before)


def test_existing_symbol_needs_replace(catalog: BarCatalog, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    catalog.import_file(path, "mine")
    with pytest.raises(FactoryError, match="already exists; pass --replace"):
        catalog.import_file(path, "MINE")
    meta = catalog.import_file(path, "MINE", replace=True)
    assert meta.rows == 4
    assert meta.frequency == "1min"


def test_bundled_names_are_protected(catalog: BarCatalog, tmp_path: Path) -> None:
    with pytest.raises(FactoryError, match="bundled dataset"):
        catalog.import_file(write(tmp_path, GOOD), "sp500")


def test_unknown_symbol_lists_known_ones(catalog: BarCatalog) -> None:
    with pytest.raises(
        NotFoundError, match="unknown symbol 'NOPE'; known: SP500, NASDAQ, VIX, MSFT"
    ):
        catalog.load("NOPE")


@pytest.mark.parametrize("name", ["", "a b", "../etc", "x" * 41])
def test_invalid_symbol_names(catalog: BarCatalog, tmp_path: Path, name: str) -> None:
    with pytest.raises(FactoryError, match="not a valid name"):
        catalog.import_file(write(tmp_path, GOOD), name)


def test_any_frequency_is_recognized(catalog: BarCatalog, tmp_path: Path) -> None:
    for freq, name in [("5min", "5min"), ("4h", "4h"), ("1D", "1D"), ("7D", "1W")]:
        index = pd.date_range("2024-01-01", periods=30, freq=freq, name="timestamp")
        close = np.linspace(10, 12, 30)
        frame = pd.DataFrame(
            {"open": close, "high": close + 0.1, "low": close - 0.1, "close": close, "volume": 1.0},
            index=index,
        )
        frame.to_csv(tmp_path / f"{freq}.csv")
        meta = catalog.import_file(tmp_path / f"{freq}.csv", f"F{freq}")
        assert meta.frequency == name


def test_version_changes_when_a_symbol_is_replaced(catalog: BarCatalog, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    catalog.import_file(path, "MINE")
    first = catalog.version("MINE")
    assert catalog.version("MINE") == first
    catalog.import_file(
        write(tmp_path, GOOD.replace("10.8,150", "10.7,150"), "c.csv"), "MINE", replace=True
    )
    assert catalog.version("MINE") != first


@pytest.fixture(params=[0o022, 0o027, 0o002], ids=["022", "027", "002"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this process umask, then restore the previous one."""
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_stored_files_respect_the_umask(catalog: BarCatalog, tmp_path: Path, umask: int) -> None:
    catalog.import_file(write(tmp_path, GOOD), "MINE")
    catalog.import_file(write(tmp_path, GOOD, "again.csv"), "MINE", replace=True)
    catalog.load("SP500")  # a bundled dataset copied into the store on first use
    expected = 0o666 & ~umask
    for symbol in ("MINE", "SP500"):
        assert stat.S_IMODE((catalog.root / f"{symbol}.parquet").stat().st_mode) == expected
    assert not list(catalog.root.glob(".*.tmp"))
