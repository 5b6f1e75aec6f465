"""Signals kept as their changes: lossless, and a fraction of the values to write.

A signal (-1, 0 or 1 at every bar) holds each value for a run of bars. Its changes are
the bars where a run starts (bar 0 always) and the run's value; the runs fill back in
exactly. A grid trial's signal changes at about one bar in ten, so its changes are about
a tenth of its bars: discovery writes them in a fifth of the time the per-bar signals
took, to a third of the bytes. The kernels let go of the GIL (discovery forms and writes
the changes on a writer thread).

Example::

    changes = signal_changes(config_signals(market, configs))  # (configs × bars) int8
    assert np.array_equal(changes.decode(), config_signals(market, configs))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from strategy_factory.errors import FactoryError


@numba.njit(nogil=True, cache=True)
def _count(signals: np.ndarray) -> np.ndarray:
    counts = np.zeros(signals.shape[0], dtype=np.int64)
    for s in range(signals.shape[0]):
        row = signals[s]
        count = 0
        for t in range(1, row.size):
            count += np.int64(row[t] != row[t - 1])  # an int sum vectorizes, a bool one not
        counts[s] = count + 1  # bar 0 starts the first run
    return counts


@numba.njit(nogil=True, cache=True)
def _fill(
    signals: np.ndarray, offsets: np.ndarray, series: np.ndarray, bar: np.ndarray, value: np.ndarray
) -> None:
    for s in range(signals.shape[0]):
        row, k = signals[s], offsets[s]
        series[k], bar[k], value[k] = s, 0, row[0]
        previous = row[0]
        for t in range(1, row.size):
            current = row[t]
            if current != previous:
                k += 1
                series[k], bar[k], value[k] = s, t, current
            previous = current


@numba.njit(nogil=True, cache=True)
def _expand(
    bar: np.ndarray, value: np.ndarray, starts: np.ndarray, stops: np.ndarray, bars: int
) -> np.ndarray:
    out = np.empty((starts.size, bars), dtype=np.int8)
    for j in range(starts.size):
        for i in range(starts[j], stops[j]):
            end = bar[i + 1] if i + 1 < stops[j] else bars
            out[j, bar[i] : end] = value[i]
    return out


@dataclass(frozen=True)
class SignalChanges:
    """The changes of several signal series over the same ``bars`` bars.

    Row ``k`` says: series ``series[k]`` holds ``value[k]`` from bar ``bar[k]`` until its
    next change (or the last bar). Rows are ordered by series, then bar; every series
    has a row at bar 0.
    """

    series: np.ndarray  # int32
    bar: np.ndarray  # int32
    value: np.ndarray  # int8
    bars: int

    @classmethod
    def checked(
        cls, series: np.ndarray, bar: np.ndarray, value: np.ndarray, bars: int
    ) -> SignalChanges:
        """Changes read from elsewhere, refused with the first problem when malformed."""
        columns = {"series": series, "bar": bar, "value": value}
        arrays = {name: np.asarray(column) for name, column in columns.items()}
        lengths = {name: len(column) for name, column in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise FactoryError(f"the change columns differ in length: {lengths}")
        for name, column in arrays.items():
            if not np.issubdtype(column.dtype, np.integer):
                raise FactoryError(f"{name} must be whole numbers, got {column.dtype}")
        series, bar, value = arrays["series"], arrays["bar"], arrays["value"]
        problem = _problem(series, bar, value, bars)
        if problem:
            raise FactoryError(problem)
        return cls(
            series.astype(np.int32, copy=False),
            bar.astype(np.int32, copy=False),
            value.astype(np.int8, copy=False),
            bars,
        )

    @classmethod
    def from_steps(cls, counts: np.ndarray, steps: np.ndarray, bars: int) -> SignalChanges:
        """Changes sent as each series' count of rows and the int32 steps between
        consecutive codes (:meth:`codes`; the series one after another, the first step
        from 0), checked as :meth:`checked` does, in one compiled pass."""
        counts = np.asarray(counts, dtype=np.int64)
        steps = np.asarray(steps, dtype=np.int32)
        if bars < 1:
            raise FactoryError(f"a signal needs at least one bar, got {bars}")
        if (counts < 1).any() or counts.sum() != steps.size:
            raise FactoryError(
                f"each of {counts.size} series needs at least one change, and the counts "
                f"must add up to the {steps.size} steps"
            )
        bar = np.empty(steps.size, dtype=np.int32)
        value = np.empty(steps.size, dtype=np.int8)
        kind, k, code = _fill_steps(steps, counts, bars, bar, value)
        series = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
        at, signal = code >> 2, (code & 3) - 1
        if kind == 1:
            raise FactoryError(f"a signal is -1, 0 or 1, got {signal}")
        if kind == 2:
            raise FactoryError(f"series {series[k]}: bar {at} is outside 0 … {bars - 1}")
        if kind == 3:
            raise FactoryError(f"series {series[k]}: its first change is at bar {at}, not 0")
        if kind == 4:
            raise FactoryError(
                f"series {series[k]}: bar {at} follows bar {bar[k - 1]} (bars must increase)"
            )
        return cls(series, bar, value, bars)

    def decode(self, series: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """The signals of ``series`` (default: 0 … the last), (series × bars) int8."""
        wanted = np.arange(self.count) if series is None else np.asarray(series, dtype=np.int64)
        starts = np.searchsorted(self.series, wanted, side="left")
        stops = np.searchsorted(self.series, wanted, side="right")
        absent = np.flatnonzero(starts == stops)
        if absent.size:
            raise FactoryError(f"no changes of series {wanted[absent[0]]}")
        return _expand(self.bar, self.value, starts, stops, self.bars)

    def codes(self) -> np.ndarray:
        """Each row as one int32, 4 × bar + value + 1 (the form parts and chunks carry;
        :func:`split_codes` takes it apart). Needs ``bars`` ≤ 2²⁹."""
        return self.bar * np.int32(4) + (self.value + np.int8(1))

    @property
    def count(self) -> int:
        """One more than the highest series number (0 when there are no changes)."""
        return int(self.series[-1]) + 1 if self.series.size else 0


@numba.njit(nogil=True, cache=True)
def _order_problem(series: np.ndarray, bar: np.ndarray) -> tuple[int, int]:
    """The first row out of order and why (1: series decrease, 2: a series' first row
    is not at bar 0, 3: bars do not increase), or (0, 0)."""
    for k in range(series.size):
        if k == 0 or series[k] != series[k - 1]:
            if k and series[k] < series[k - 1]:
                return 1, k
            if bar[k] != 0:
                return 2, k
        elif bar[k] <= bar[k - 1]:
            return 3, k
    return 0, 0


@numba.njit(nogil=True, cache=True)
def _fill_steps(
    steps: np.ndarray, counts: np.ndarray, bars: int, bar: np.ndarray, value: np.ndarray
) -> tuple[int, int, int]:
    """Fill ``bar`` and ``value`` from the codes the steps add up to (each series from 0);
    return the first bad row, why and its code (1: signal 2, 2: bar outside the signal,
    3: a series' first bar is not 0, 4: bars do not increase), or (0, 0, 0)."""
    k, code = 0, np.int64(0)
    for s in range(counts.size):
        for j in range(counts[s]):
            code += steps[k]
            at, signal = code >> 2, (code & 3) - 1
            if signal == 2:
                return 1, k, code
            if at < 0 or at >= bars:
                return 2, k, code
            if j == 0 and at != 0:
                return 3, k, code
            if j > 0 and at <= bar[k - 1]:
                return 4, k, code
            bar[k], value[k] = at, signal
            k += 1
    return 0, 0, 0


def _problem(series: np.ndarray, bar: np.ndarray, value: np.ndarray, bars: int) -> str | None:
    """The first problem of the rows, by kind: bars, series numbers, signals, bars outside
    the signal, then order (ranges by min and max, order in one compiled pass: 700,000
    rows in ~3 ms, where NumPy's passes with int64 copies took 13)."""
    if bars < 1:
        return f"a signal needs at least one bar, got {bars}"
    if not series.size:
        return None
    if series.min() < 0:
        return f"series numbers are >= 0, got {series.min()}"
    if series.max() > np.iinfo(np.int32).max:
        return f"series numbers fit in 32 bits, got {series.max()}"
    if value.min() < -1 or value.max() > 1:
        return f"a signal is -1, 0 or 1, got {value[(value < -1) | (value > 1)][0]}"
    if bar.min() < 0 or bar.max() >= bars:
        k = np.flatnonzero((bar < 0) | (bar >= bars))[0]
        return f"series {series[k]}: bar {bar[k]} is outside 0 … {bars - 1}"
    kind, k = _order_problem(series.astype(np.int32, copy=False), bar.astype(np.int32, copy=False))
    if kind == 1:
        return "rows must be ordered by series"
    if kind == 2:
        return f"series {series[k]}: its first change is at bar {bar[k]}, not 0"
    if kind == 3:
        return f"series {series[k]}: bar {bar[k]} follows bar {bar[k - 1]} (bars must increase)"
    return None


def split_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bar, value) of codes of :meth:`SignalChanges.codes` (unchecked: a code whose low
    bits are 3 gives value 2, which :meth:`SignalChanges.checked` refuses)."""
    return codes >> 2, (codes & 3) - 1


def signal_changes(signals: np.ndarray) -> SignalChanges:
    """The changes of every row of ``signals`` (series × bars, -1/0/1 int8)."""
    values = np.ascontiguousarray(signals, dtype=np.int8)
    if values.ndim != 2 or values.shape[1] == 0:
        raise FactoryError(
            f"signals must be (series × bars) with at least one bar, got shape {values.shape}"
        )
    counts = _count(values)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    series = np.empty(total, dtype=np.int32)
    bar = np.empty(total, dtype=np.int32)
    value = np.empty(total, dtype=np.int8)
    _fill(values, offsets, series, bar, value)
    return SignalChanges(series, bar, value, values.shape[1])
