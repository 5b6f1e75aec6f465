"""Signals kept as their changes: decoding gives back exactly the signals encoded, only
the changes are kept, and malformed changes are refused with the first problem."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from strategy_factory.backtest import (
    SignalChanges,
    StrategyConfig,
    config_signals,
    signal_changes,
)
from strategy_factory.backtest.market import Market
from strategy_factory.errors import FactoryError

SIGNAL = st.sampled_from([-1, 0, 1])


@st.composite
def held_signals(draw: st.DrawFn) -> np.ndarray:
    """(series × bars) signals held for runs of bars, as strategies' signals are."""
    series = draw(st.integers(1, 6))
    bars = draw(st.integers(1, 300))
    rows = []
    for _ in range(series):
        runs = draw(st.lists(st.tuples(SIGNAL, st.integers(1, 40)), min_size=1, max_size=30))
        row = np.concatenate([np.full(length, value, np.int8) for value, length in runs])
        rows.append(np.resize(row, bars))  # repeated or cut to the bars
    return np.stack(rows)


@settings(max_examples=150, deadline=None)
@given(signals=st.one_of(held_signals(), arrays(np.int8, (3, 50), elements=SIGNAL)))
def test_decoding_the_changes_gives_back_every_signal_exactly(signals: np.ndarray) -> None:
    changes = signal_changes(signals)
    decoded = changes.decode()
    assert decoded.dtype == np.int8
    np.testing.assert_array_equal(decoded, signals)
    # Only the changes: a row at bar 0 of every series, then one per bar whose value differs.
    assert changes.value.size == signals.shape[0] + np.count_nonzero(np.diff(signals, axis=1))
    same_series = changes.series[1:] == changes.series[:-1]
    assert (changes.value[1:] != changes.value[:-1])[same_series].all()
    # Any series, in any order, decodes alone to its own signal.
    order = np.arange(signals.shape[0])[::-1]
    np.testing.assert_array_equal(changes.decode(order), signals[order])


def test_checked_changes_decode_like_encoded_ones() -> None:
    signals = np.array([[0, 0, 1, 1, -1], [1, 1, 1, 1, 1]], dtype=np.int8)
    encoded = signal_changes(signals)
    read = SignalChanges.checked(
        encoded.series.astype(np.int64) + 7, encoded.bar, encoded.value, encoded.bars
    )
    np.testing.assert_array_equal(read.decode([7, 8]), signals)
    np.testing.assert_array_equal(encoded.bar, [0, 2, 4, 0])


def test_a_strategy_grid_signals_survive_the_round_trip(sp500: Market) -> None:
    configs = [
        StrategyConfig("SP500", threshold, z_limit=z_limit, mode=mode)
        for threshold in (0.0, 0.002, 0.01)
        for z_limit in (None, 1.0)
        for mode in ("long_short", "long_only")
    ]
    signals = config_signals(sp500, configs)
    changes = signal_changes(signals)
    np.testing.assert_array_equal(changes.decode(), signals)
    assert changes.value.size < signals.size / 3  # held signals: far fewer changes than bars


BAD = {
    "lengths": (([0, 0], [0], [1, 1], 5), "differ in length"),
    "float bars": (([0], [0.5], [1], 5), "bar must be whole numbers"),
    "signal 2": (([0, 0], [0, 3], [1, 2], 5), "a signal is -1, 0 or 1, got 2"),
    "no bars": (([0], [0], [1], 0), "at least one bar"),
    "unordered": (([1, 0], [0, 0], [1, 1], 5), "ordered by series"),
    "beyond": (([0, 0], [0, 5], [1, 0], 5), "series 0: bar 5 is outside 0 … 4"),
    "late start": (([0, 3], [0, 2], [1, 0], 5), "series 3: its first change is at bar 2"),
    "backwards": (([0, 0, 0], [0, 3, 2], [1, 0, 1], 5), "bar 2 follows bar 3"),
    "negative": (([-1], [0], [1], 5), "series numbers are >= 0"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_malformed_changes_are_refused_with_the_first_problem(case: str) -> None:
    (series, bar, value, bars), message = BAD[case]
    with pytest.raises(FactoryError, match=message):
        SignalChanges.checked(np.array(series), np.array(bar), np.array(value), bars)


def test_decoding_a_series_without_changes_says_which() -> None:
    changes = signal_changes(np.zeros((2, 4), dtype=np.int8))
    with pytest.raises(FactoryError, match="no changes of series 5"):
        changes.decode([0, 5])


def test_signals_without_bars_are_refused() -> None:
    with pytest.raises(FactoryError, match="at least one bar"):
        signal_changes(np.zeros((2, 0), dtype=np.int8))


def _steps(changes: SignalChanges) -> tuple[np.ndarray, np.ndarray]:
    """Each series' count of rows and the steps between consecutive codes."""
    counts = np.bincount(changes.series, minlength=changes.count)
    return counts, np.diff(changes.codes(), prepend=np.int32(0)).astype(np.int32)


@settings(max_examples=100, deadline=None)
@given(signals=held_signals())
def test_changes_sent_as_steps_come_back_exactly(signals: np.ndarray) -> None:
    changes = signal_changes(signals)
    back = SignalChanges.from_steps(*_steps(changes), changes.bars)
    for name in ("series", "bar", "value"):
        np.testing.assert_array_equal(getattr(back, name), getattr(changes, name))
        assert getattr(back, name).dtype == getattr(changes, name).dtype
    np.testing.assert_array_equal(back.decode(), signals)


STEPS = {  # (array, row, change, message): series 0 at bars 0 and 2, series 1 at bar 0
    "signal 2": ("steps", 1, 1, "a signal is -1, 0 or 1, got 2"),
    "beyond": ("steps", 1, 12, "series 0: bar 5 is outside 0 … 4"),
    "late start": ("steps", 2, 4, "series 1: its first change is at bar 1"),
    "backwards": ("steps", 1, -8, "series 0: bar 0 follows bar 0"),
    "empty series": ("counts", 1, -1, "at least one change"),
    "counts": ("counts", 1, 1, "add up to the 3 steps"),
}


@pytest.mark.parametrize("case", STEPS, ids=list(STEPS))
def test_malformed_steps_are_refused_with_the_first_problem(case: str) -> None:
    signals = np.array([[0, 0, 1, 1, 1], [-1, -1, -1, -1, -1]], dtype=np.int8)
    counts, steps = _steps(signal_changes(signals))
    name, row, change, message = STEPS[case]
    {"counts": counts, "steps": steps}[name][row] += change
    with pytest.raises(FactoryError, match=message):
        SignalChanges.from_steps(counts, steps, 5)


def test_steps_without_bars_are_refused() -> None:
    changes = signal_changes(np.zeros((1, 3), dtype=np.int8))
    with pytest.raises(FactoryError, match="at least one bar"):
        SignalChanges.from_steps(*_steps(changes), 0)
