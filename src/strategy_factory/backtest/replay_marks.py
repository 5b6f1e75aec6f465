"""Numba kernels of replay's marks: the ledgers of many blends, side by side.

Every bar, each blend's equity from its account at its last fill goes into the same
statistics as a grid cell's :class:`~strategy_factory.backtest.kernel.Ledger`
(:func:`~strategy_factory.backtest.kernel.mark_bar`'s arithmetic, operation for
operation), for :data:`LANES` blends in loops the compiler turns into SIMD instructions:
no branch but at the end of a week, which is the same bar for every blend. Field r of
lane k is at ``r * LANES + k`` of a flat array, so the compiler sees that lanes and
fields never overlap (with a lane count known only at run time it checks hundreds of
address pairs before each loop, or gives up).
"""

from __future__ import annotations

import numba
import numpy as np

from strategy_factory.backtest.kernel import Ledger, _add_zeros, _welford, settle

LANES = 64
"""Blends one thread advances together."""

BARS = 4
"""Bars marked in one pass over the lanes (:func:`_mark_bars` is written for 4)."""

# The fields of kernel.Ledger × lanes, flat; underwater is told by the peak bar (the
# bar before was not a new peak) and the last bar's return is not kept.
_FIELDS = (
    "position",
    "bars_in_market",
    "position_changes",
    "previous",
    "return_sum",
    "return_sumsq",
    "downside_sumsq",
    "week_sum",
    "weeks",
    "week_mean",
    "week_m2",
    "peak",
    "peak_bar",
    "longest",
    "longest_start",
    "max_drawdown",
)
(
    _POSITION,
    _IN_MARKET,
    _CHANGES,
    _PREVIOUS,
    _RETURN_SUM,
    _RETURN_SUMSQ,
    _DOWNSIDE_SUMSQ,
    _WEEK_SUM,
    _WEEKS,
    _WEEK_MEAN,
    _WEEK_M2,
    _PEAK,
    _PEAK_BAR,
    _LONGEST,
    _LONGEST_START,
    _MAX_DRAWDOWN,
) = (row * LANES for row in range(len(_FIELDS)))


@numba.njit(cache=True, error_model="numpy")
def new_ledger() -> np.ndarray:
    """The ledgers of :data:`LANES` accounts that start flat with equity 1."""
    ledger = np.zeros(len(_FIELDS) * LANES)
    ledger[_PREVIOUS : _PREVIOUS + LANES] = 1.0
    ledger[_PEAK : _PEAK + LANES] = 1.0
    return ledger


@numba.njit(cache=True, error_model="numpy")
def _hold(ledger: np.ndarray, held: np.ndarray, row: int, bars: int) -> None:
    """Every lane's position from the account ``held[row]`` (cash and shares rows) for
    the next ``bars`` bars: :func:`~strategy_factory.backtest.kernel.mark_bar`'s counts
    of side changes and bars in the market, which change only at a fill."""
    for k in range(LANES):
        shares = held[row, LANES + k]
        side = np.float64(shares > 0.0) - np.float64(shares < 0.0)
        ledger[_CHANGES + k] += side != ledger[_POSITION + k]
        ledger[_POSITION + k] = side
        ledger[_IN_MARKET + k] += bars if side != 0.0 else 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _advance(marks: tuple, t: int, equity: float) -> tuple:
    """The rest of :func:`~strategy_factory.backtest.kernel.mark_bar` for bar ``t``: the
    return, its sums and the drawdown after the bar closes at ``equity``, as selects.
    ``marks``: the ledger's previous equity, return sum, sum of squares, downside sum of
    squares, week sum, peak, peak bar, longest drawdown, its start and max drawdown."""
    previous, return_sum, sumsq, downside, week_sum = marks[:5]
    peak, peak_bar, longest, longest_start, max_drawdown = marks[5:]
    bar_return = (equity - previous) / previous
    # kernel._drawdown: a new peak ends a drawdown (the longest is kept), or it deepens.
    high = equity >= peak
    gap = t - peak_bar
    underwater = peak_bar != t - 1  # the bar before was not a new peak
    longer = high & underwater & (gap > longest)
    deeper = min(max_drawdown, equity / peak - 1.0)
    return (
        equity,
        return_sum + bar_return,
        sumsq + bar_return * bar_return,
        downside + min(bar_return, 0.0) ** 2,
        week_sum + bar_return,
        equity if high else peak,
        t if high else peak_bar,
        gap if longer else longest,
        peak_bar if longer else longest_start,
        max_drawdown if high else deeper,
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _marks(ledger: np.ndarray, k: int) -> tuple:
    return (
        ledger[_PREVIOUS + k],
        ledger[_RETURN_SUM + k],
        ledger[_RETURN_SUMSQ + k],
        ledger[_DOWNSIDE_SUMSQ + k],
        ledger[_WEEK_SUM + k],
        ledger[_PEAK + k],
        ledger[_PEAK_BAR + k],
        ledger[_LONGEST + k],
        ledger[_LONGEST_START + k],
        ledger[_MAX_DRAWDOWN + k],
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _keep(ledger: np.ndarray, k: int, marks: tuple) -> None:
    (
        ledger[_PREVIOUS + k],
        ledger[_RETURN_SUM + k],
        ledger[_RETURN_SUMSQ + k],
        ledger[_DOWNSIDE_SUMSQ + k],
        ledger[_WEEK_SUM + k],
        ledger[_PEAK + k],
        ledger[_PEAK_BAR + k],
        ledger[_LONGEST + k],
        ledger[_LONGEST_START + k],
        ledger[_MAX_DRAWDOWN + k],
    ) = marks


@numba.njit(cache=True, error_model="numpy")
def _mark_bars(
    ledger: np.ndarray, t: int, held: np.ndarray, rows: np.ndarray, close: np.ndarray
) -> None:
    """Every lane through the :data:`BARS` bars from ``t`` (bar t + s with the account
    ``held[rows[t + s]]``), reading and writing its ledger once for them. (Written out:
    a loop over the bars inside the loop over the lanes keeps the compiler from SIMD.)"""
    a, b, c, d = rows[t], rows[t + 1], rows[t + 2], rows[t + 3]
    for k in range(LANES):
        first = held[a, k] + held[a, LANES + k] * close[t]
        second = held[b, k] + held[b, LANES + k] * close[t + 1]
        third = held[c, k] + held[c, LANES + k] * close[t + 2]
        fourth = held[d, k] + held[d, LANES + k] * close[t + 3]
        start = _marks(ledger, k)
        two = _advance(_advance(start, t, first), t + 1, second)
        _keep(ledger, k, _advance(_advance(two, t + 2, third), t + 3, fourth))


@numba.njit(cache=True, error_model="numpy")
def _mark_bar(ledger: np.ndarray, t: int, held: np.ndarray, row: int, price: float) -> None:
    """Every lane through bar ``t`` with the account ``held[row]``, closing at ``price``."""
    for k in range(LANES):
        equity = held[row, k] + held[row, LANES + k] * price
        _keep(ledger, k, _advance(_marks(ledger, k), t, equity))


@numba.njit(cache=True, error_model="numpy")
def _new_week(ledger: np.ndarray, weeks_passed: int) -> None:
    """Every lane's weekly P&L closed at the first bar of a new week (as in mark_bar)."""
    for k in range(LANES):
        count, mean, m2 = _welford(
            ledger[_WEEKS + k], ledger[_WEEK_MEAN + k], ledger[_WEEK_M2 + k], ledger[_WEEK_SUM + k]
        )
        count, mean, m2 = _add_zeros(count, mean, m2, weeks_passed - 1.0)
        ledger[_WEEKS + k], ledger[_WEEK_MEAN + k], ledger[_WEEK_M2 + k] = count, mean, m2
        ledger[_WEEK_SUM + k] = 0.0


@numba.njit(cache=True, error_model="numpy")
def mark_block(
    ledger: np.ndarray,
    held: np.ndarray,
    rows: np.ndarray,
    fills: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
) -> None:
    """Mark the bars from ``fills[0]`` to ``fills[-1]`` (excluded) in every lane, bar t
    with the account ``held[j + 1]`` of the last fill j at or before it (``rows``: room
    for that row number at every bar): :data:`BARS` bars at a time where no week ends
    among them."""
    for j in range(fills.size - 1):
        rows[fills[j] : fills[j + 1]] = j + 1
        _hold(ledger, held, j + 1, fills[j + 1] - fills[j])
    t, end = fills[0], fills[-1]
    while t < end:
        if t + BARS <= end and week[t + BARS - 1] == week[t - 1]:
            _mark_bars(ledger, t, held, rows, close)
            t += BARS
            continue
        if week[t] != week[t - 1]:
            _new_week(ledger, week[t] - week[t - 1])
        _mark_bar(ledger, t, held, rows[t], close[t])
        t += 1


@numba.njit(cache=True, error_model="numpy")
def settle_lanes(stats: np.ndarray, ledger: np.ndarray, entry_equity: np.ndarray, n: int) -> None:
    """Every lane's :func:`~strategy_factory.backtest.kernel.settle` into its row of
    ``stats`` (whose trade statistics are filled) after ``n`` bars."""
    for k in range(LANES):
        peak_bar = int(ledger[_PEAK_BAR + k])
        final = Ledger(
            int(ledger[_POSITION + k]),
            int(ledger[_IN_MARKET + k]),
            int(ledger[_CHANGES + k]),
            ledger[_PREVIOUS + k],
            0.0,  # the last bar's return: settle does not read it
            ledger[_RETURN_SUM + k],
            ledger[_RETURN_SUMSQ + k],
            ledger[_DOWNSIDE_SUMSQ + k],
            ledger[_WEEK_SUM + k],
            ledger[_WEEKS + k],
            ledger[_WEEK_MEAN + k],
            ledger[_WEEK_M2 + k],
            ledger[_PEAK + k],
            peak_bar,
            peak_bar != n - 1,
            int(ledger[_LONGEST + k]),
            int(ledger[_LONGEST_START + k]),
            ledger[_MAX_DRAWDOWN + k],
        )
        settle(stats[k], final, n, entry_equity[k])
