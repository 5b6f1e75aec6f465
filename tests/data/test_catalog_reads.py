"""Reads of part of a symbol (a date range, the bars before a moment) use the row groups
they need and equal slicing the whole series."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategy_factory.data import BarCatalog, catalog, synthetic_bars

BARS = synthetic_bars(2_000, freq="B", seed=5)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> BarCatalog:
    """BIZ stored in row groups of 128 bars."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "ROW_GROUP_BARS", 128)
        store = BarCatalog(tmp_path_factory.mktemp("grouped"))
        store.save("BIZ", BARS)
    assert pq.ParquetFile(store.root / "BIZ.parquet").metadata.num_row_groups == 16
    return store


moments = st.integers(-5, len(BARS) + 5).map(
    lambda i: BARS.index[0] - pd.Timedelta(days=3) + pd.Timedelta(hours=17) * i * 2
)


@settings(max_examples=30, deadline=None)
@given(moment=moments, count=st.integers(0, 700))
def test_bars_back_counts_bars_before_a_moment(grouped: BarCatalog, moment, count: int) -> None:  # type: ignore[no-untyped-def]
    position = int(BARS.index.searchsorted(moment)) - count
    expected = BARS.index[min(max(position, 0), len(BARS) - 1)]
    assert grouped.bars_back("BIZ", moment, count) == expected


@settings(max_examples=30, deadline=None)
@given(start=st.one_of(st.none(), moments), end=st.one_of(st.none(), moments))
def test_a_range_read_is_the_slice_of_the_whole(grouped: BarCatalog, start, end) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(
        grouped.load("BIZ", start=start, end=end), BARS.loc[start:end], check_freq=False
    )
