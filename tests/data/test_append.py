"""Appending bars: new bars must continue the series (repeats unchanged, the calendar kept),
and a refused append leaves the stored symbol exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.data import BarCatalog, synthetic_bars
from strategy_factory.errors import FactoryError
from tests.factory_command import factory

# Business days: weekends are the longest gap of the stored history (3 days).
BARS = synthetic_bars(120, freq="B", start="2024-01-01", seed=3)


def write_csv(path: Path, bars: pd.DataFrame) -> Path:
    frame = bars.reset_index()
    frame["timestamp"] = frame["timestamp"].dt.strftime("%Y-%m-%d")
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


def stored_state(catalog: BarCatalog, symbol: str) -> tuple[str, str, pd.DataFrame]:
    """Everything an append could change: the file version, the digest and the bars."""
    return catalog.version(symbol), catalog.digest(symbol), catalog.load(symbol)


@pytest.fixture
def stored(catalog: BarCatalog, tmp_path: Path) -> BarCatalog:
    """``BIZ`` imported from a CSV holding its first 80 bars."""
    catalog.import_file(write_csv(tmp_path / "biz.csv", BARS.iloc[:80]), "BIZ")
    return catalog


def test_bars_after_the_stored_ones_are_appended_and_repeats_are_skipped(
    stored: BarCatalog, tmp_path: Path
) -> None:
    before = stored.meta("BIZ")
    result = stored.append_file(write_csv(tmp_path / "more.csv", BARS.iloc[70:100]), "BIZ")
    assert (result.added, result.repeated) == (20, 10)
    assert (result.first, result.last) == (BARS.index[80], BARS.index[99])
    pd.testing.assert_frame_equal(stored.load("BIZ"), BARS.iloc[:100], check_freq=False)
    meta = stored.meta("BIZ")
    assert (meta.rows, meta.last) == (100, BARS.index[99])
    assert meta.digest != before.digest  # the content changed, and so did its digest
    assert meta.source == before.source == "biz.csv"
    assert meta.source_path == str((tmp_path / "more.csv").resolve())


def test_a_file_with_nothing_new_changes_nothing(stored: BarCatalog, tmp_path: Path) -> None:
    before = stored_state(stored, "BIZ")
    result = stored.append_file(write_csv(tmp_path / "same.csv", BARS.iloc[40:80]), "BIZ")
    assert (result.added, result.repeated, result.first) == (0, 40, None)
    assert stored_state(stored, "BIZ")[:2] == before[:2]  # not even rewritten


def test_update_reads_the_imported_file_again(stored: BarCatalog, tmp_path: Path) -> None:
    write_csv(tmp_path / "biz.csv", BARS.iloc[:90])  # the vendor's file has grown
    assert stored.update("BIZ").added == 10
    assert stored.update("BIZ").added == 0
    assert stored.meta("BIZ").rows == 90
    stored.save("SYN", BARS)
    with pytest.raises(FactoryError, match=r"was not read from a file.*--append"):
        stored.update("SYN")


def refused(catalog: BarCatalog, path: Path, match: str, **options: object) -> None:
    """Appending ``path`` fails with ``match`` and leaves BIZ exactly as it was."""
    version, digest, bars = stored_state(catalog, "BIZ")
    with pytest.raises(FactoryError, match=match):
        catalog.append_file(path, "BIZ", **options)  # type: ignore[arg-type]
    assert stored_state(catalog, "BIZ")[:2] == (version, digest)
    pd.testing.assert_frame_equal(catalog.load("BIZ"), bars)


def test_a_changed_repeated_bar_is_refused_naming_timestamp_and_column(
    stored: BarCatalog, tmp_path: Path
) -> None:
    changed = BARS.iloc[75:90].copy()
    changed.loc[BARS.index[77], "low"] *= 0.99
    path = write_csv(tmp_path / "changed.csv", changed)
    refused(
        stored,
        path,
        r"changed.csv line 4 .*: the bar of 2024-04-17T.* differs from .* BIZ in low",
    )


def test_a_bar_inserted_into_history_is_refused(stored: BarCatalog, tmp_path: Path) -> None:
    table = BARS.iloc[78:90].reset_index()
    table["timestamp"] = table["timestamp"].dt.strftime("%Y-%m-%d %H:%M")
    table.loc[1, "timestamp"] = "2024-04-18 12:00"  # between two stored bars
    path = tmp_path / "inserted.csv"
    table.to_csv(path, index=False, float_format="%.17g")
    refused(
        stored,
        path,
        r"inserted.csv line 3 .*: 2024-04-18T12:00.* is not a stored bar of BIZ .* cannot insert",
    )


def test_a_gap_longer_than_any_in_the_history_is_refused(
    stored: BarCatalog, tmp_path: Path
) -> None:
    skipped = pd.concat([BARS.iloc[80:82], BARS.iloc[90:100]])  # two weeks of bars missing
    path = write_csv(tmp_path / "gap.csv", skipped)
    refused(stored, path, r"gap.csv line 4 .*: 2024-05-06.* comes 13 days .* longer than 3 days")
    # A market closed that long is said with --max-gap.
    assert stored.append_file(path, "BIZ", max_gap=pd.Timedelta("13D")).added == 12


def test_the_first_new_bar_must_follow_the_last_stored_one_within_the_calendar(
    stored: BarCatalog, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "late.csv", BARS.iloc[90:100])
    refused(stored, path, r"late.csv line 2 .*: 2024-05-06.* after 2024-04-19.*longer than 3 days")


def test_bars_off_the_series_grid_are_refused(stored: BarCatalog, tmp_path: Path) -> None:
    shifted = BARS.iloc[80:85].copy()
    shifted.index = shifted.index + pd.Timedelta(hours=9)
    path = tmp_path / "shifted.csv"
    table = shifted.reset_index()
    table.to_csv(path, index=False, float_format="%.17g")
    refused(stored, path, r"line 2 .*: .* is off BIZ's bar grid: .* not a multiple of 1 days")


def test_other_columns_are_refused(stored: BarCatalog, tmp_path: Path) -> None:
    extra = BARS.iloc[80:85].assign(planted=1.0)
    refused(stored, write_csv(tmp_path / "extra.csv", extra), "has column\\(s\\) planted")
    bare = BARS.iloc[80:85].assign(volume=np.nan)
    refused(stored, write_csv(tmp_path / "bare.csv", bare), "BIZ has volume and the file has none")


def test_a_malformed_file_is_refused(stored: BarCatalog, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", BARS.iloc[80:90])
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",-", 2).replace(",-", ",", 1)  # a negative high
    path.write_text("\n".join(lines) + "\n")
    refused(stored, path, r"bad.csv line 4 \(data row 3\): high is -")


def test_a_close_only_series_stays_close_only(catalog: BarCatalog, tmp_path: Path) -> None:
    flat = BARS.assign(open=BARS["close"], high=BARS["close"], low=BARS["close"])
    catalog.save("IDX", flat.iloc[:80])
    path = write_csv(tmp_path / "ohlc.csv", BARS.iloc[80:90])
    with pytest.raises(FactoryError, match="IDX has only a close"):
        catalog.append_file(path, "IDX")
    assert catalog.append("IDX", flat.iloc[80:90]).added == 10


def test_bundled_data_can_be_extended(catalog: BarCatalog, shared_bars: BarCatalog) -> None:
    shared_bars.meta("SP500")  # cached once per session; this test's store starts from it
    catalog.root.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_bars.root / "SP500.parquet", catalog.root / "SP500.parquet")
    sp500 = catalog.load("SP500")
    last = sp500.iloc[-1]
    later = pd.DataFrame(
        [last.to_dict()] * 2, index=pd.DatetimeIndex(["2019-01-02", "2019-01-03"], tz="UTC")
    )
    assert catalog.append("SP500", later).added == 2
    assert catalog.meta("SP500").rows == len(sp500) + 2


def test_the_command_appends_and_updates(stored: BarCatalog, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "more.csv", BARS.iloc[80:95])
    done = factory("data", "import", str(path), "--symbol", "BIZ", "--append")
    assert done.returncode == 0, done.stderr
    assert "appended 15 bars to BIZ (2024-04-22 → 2024-05-10" in done.stdout
    write_csv(path, BARS.iloc[80:100])
    updated = CliRunner().invoke(app, ["data", "update", "BIZ", "--json"])
    assert updated.exit_code == 0, updated.output
    assert '"added": 5' in updated.output
    for args, message in [
        (["import", str(path), "--symbol", "BIZ", "--append", "--replace"], "pick one"),
        (["update", "BIZ", "--max-gap", "soon"], "--max-gap 'soon' is not a duration"),
        (["import", str(path), "--symbol", "NEW", "--max-gap", "3D"], "use it with --append"),
    ]:
        refused = CliRunner().invoke(app, ["data", *args])
        assert isinstance(refused.exception, FactoryError)
        assert message in str(refused.exception)
