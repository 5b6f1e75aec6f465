"""Numba kernel of signal replay: the statistics of many blends of the same members.

The account arithmetic is :mod:`strategy_factory.backtest.blend_kernel`'s and the
statistics are a grid cell's (:data:`~strategy_factory.backtest.kernel.STAT_NAMES`),
operation for operation: a row of :func:`replay_blends` equals
:func:`~strategy_factory.backtest.blend_kernel.blend_stats` of the same weights.

Two facts make many blends cheap together:

* A blend's target can change only at the bars after a change of the members' signals
  (or of the active mask): these *fills* are the same for every blend of the members,
  and between two of them every account is constant.
* The blends are independent, so a thread advances :data:`LANES` of them side by side,
  one per lane of loops the compiler turns into SIMD instructions: the fills' common
  case (a resize on the same side) and every bar's marks, as selects without branches.
  The rarer exits and entries are made lane by lane afterwards. The state of lane k of
  field r is at ``r * LANES + k`` of a flat array, so the compiler sees that lanes and
  fields never overlap (with a lane count known only at run time it checks hundreds of
  address pairs before each loop, or gives up).

The members' signals before a fill take few distinct values (at most 3 ** members), so
each lane's target is worked out once per value. Fills are made :data:`BLOCK` at a time
for every lane, then the bars up to them marked:
the accounts kept per fill stay in cache, and memory does not grow with the bars.
"""

from __future__ import annotations

import numba
import numpy as np

from strategy_factory.backtest.blend_kernel import (
    exit_and_enter,
    fill_bars,
    resize,
    resizes,
)
from strategy_factory.backtest.kernel import (
    STAT_NAMES,
    Ledger,
    _add_zeros,
    _welford,
    close_trade,
    settle,
)

LANES = 64
"""Blends one thread advances together."""

BLOCK = 512
"""Fills made in every lane before the bars up to them are marked."""

_BASE_3_DIGITS = 39  # 3 ** 39 < 2 ** 63

BARS = 4
"""Bars marked in one pass over the lanes (:func:`_mark_bars` is written for 4)."""

# An account (what a blend holds between fills) and its trade statistics (the seven
# of STAT_NAMES from trades to loss_sum): fields × lanes, flat.
_FIRST_TRADE_STAT = STAT_NAMES.index("trades")
_TRADE_STATS = STAT_NAMES.index("loss_sum") + 1 - _FIRST_TRADE_STAT
_CASH, _SHARES, _TARGET, _ENTRY, _TRADES = (row * LANES for row in range(5))
_ACCOUNT_ROWS = 4 + _TRADE_STATS

# A ledger: the fields of kernel.Ledger × lanes, flat; underwater is the peak bar's
# distance, bar_return is not kept (settle reads neither from the lanes).
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
def _target_table(patterns: np.ndarray, by_member: np.ndarray) -> np.ndarray:
    """(patterns × lanes) every lane's target for every pattern of the members' signals:
    its weights (a column of ``by_member``, members × lanes) times the signals, summed
    in member order (as :func:`~strategy_factory.backtest.blend_kernel.blend_target`)."""
    table = np.zeros((patterns.shape[0], LANES))
    for p in range(patterns.shape[0]):
        for i in range(patterns.shape[1]):
            signal = patterns[p, i]
            for k in range(LANES):
                table[p, k] += by_member[i, k] * signal
    return table


@numba.njit(cache=True, error_model="numpy")
def _resize_lanes(
    account: np.ndarray,
    table: np.ndarray,
    pattern: int,
    price: float,
    fee: float,
    slippage: float,
    moves: np.ndarray,
) -> None:
    """Move every lane to its target of ``pattern`` (a row of ``table``) when that
    resizes its position; ``moves[k]``: lane k's target changed, to exit or enter."""
    for k in range(LANES):
        cash, shares, wanted = account[_CASH + k], account[_SHARES + k], table[pattern, k]
        changed = wanted != account[_TARGET + k]
        resized = changed & resizes(cash, shares, wanted, price)
        new_cash, new_shares = resize(cash, shares, wanted, price, fee, slippage)
        account[_CASH + k] = new_cash if resized else cash
        account[_SHARES + k] = new_shares if resized else shares
        account[_TARGET + k] = wanted
        moves[k] = changed & ~resized


@numba.njit(cache=True, error_model="numpy")
def _fill_block(
    account: np.ndarray,
    held: np.ndarray,
    table: np.ndarray,
    patterns: np.ndarray,
    fills: np.ndarray,
    fill_price: np.ndarray,
    fee: float,
    slippage: float,
) -> None:
    """Make the fills ``fills[:-1]`` in every lane, fill j to the targets of row
    ``patterns[j]`` of ``table``; ``held[j]`` gets the cash and shares rows of the
    accounts before fill j (``held[fills.size - 1]``: after the last)."""
    moves = np.empty(LANES, dtype=np.bool_)
    moving = np.empty(LANES, dtype=np.int64)
    for j in range(fills.size - 1):
        for k in range(2 * LANES):
            held[j, k] = account[k]
        price, pattern = fill_price[fills[j]], patterns[j]
        _resize_lanes(account, table, pattern, price, fee, slippage, moves)
        count = 0
        for k in range(LANES):  # the lanes that move, listed without a branch
            moving[count] = k
            count += moves[k]
        for i in range(count):
            k = moving[i]
            cash, shares, exit_equity, entry_equity = exit_and_enter(
                account[_CASH + k], account[_SHARES + k], table[pattern, k], price, fee, slippage
            )
            if not np.isnan(exit_equity):
                trade_return = exit_equity / account[_ENTRY + k] - 1.0
                close_trade(account, trade_return, _TRADES + k, LANES)
            if not np.isnan(entry_equity):
                account[_ENTRY + k] = entry_equity
            account[_CASH + k], account[_SHARES + k] = cash, shares
    for k in range(2 * LANES):
        held[fills.size - 1, k] = account[k]


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
    ``marks``: the values of the ledger fields :data:`_MARKS`, in that order."""
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


_MARKS = (
    _PREVIOUS,
    _RETURN_SUM,
    _RETURN_SUMSQ,
    _DOWNSIDE_SUMSQ,
    _WEEK_SUM,
    _PEAK,
    _PEAK_BAR,
    _LONGEST,
    _LONGEST_START,
    _MAX_DRAWDOWN,
)
"""The ledger fields a bar's marks change (but for the counts of :func:`_hold`)."""


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
def _settle_lanes(stats: np.ndarray, ledger: np.ndarray, account: np.ndarray, n: int) -> None:
    """Every lane's :func:`~strategy_factory.backtest.kernel.settle` into its stats row."""
    for k in range(stats.shape[0]):
        for i in range(_TRADE_STATS):
            stats[k, _FIRST_TRADE_STAT + i] = account[_TRADES + i * LANES + k]
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
        settle(stats[k], final, n, account[_ENTRY + k])


@numba.njit(cache=True, error_model="numpy")
def _replay_lanes(
    stats: np.ndarray,
    table: np.ndarray,
    patterns: np.ndarray,
    fills: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    fee: float,
    slippage: float,
) -> None:
    """Fill ``stats`` (:data:`LANES` rows of :data:`STAT_NAMES`) of the blends whose
    targets are the columns of ``table`` (see :func:`_fill_block`)."""
    stats[:] = 0.0
    account = np.zeros(_ACCOUNT_ROWS * LANES)
    account[_CASH : _CASH + LANES] = 1.0
    account[_ENTRY : _ENTRY + LANES] = 1.0
    ledger = np.zeros(len(_FIELDS) * LANES)
    ledger[_PREVIOUS : _PREVIOUS + LANES] = 1.0
    ledger[_PEAK : _PEAK + LANES] = 1.0
    held = np.empty((BLOCK + 1, 2 * LANES))
    rows = np.empty(close.size, dtype=np.int64)
    for first in range(0, fills.size - 1, BLOCK):
        last = min(first + BLOCK, fills.size - 1)
        block = fills[first : last + 1]
        _fill_block(account, held, table, patterns[first:last], block, fill_price, fee, slippage)
        _mark_block(ledger, held, rows, block, close, week)
    _settle_lanes(stats, ledger, account, close.size)


@numba.njit(cache=True, error_model="numpy")
def _mark_block(
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


@numba.njit(parallel=True, cache=True, error_model="numpy")
def _replay_groups(
    by_member: np.ndarray,
    patterns: np.ndarray,
    pattern_of_fill: np.ndarray,
    fills: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    fee: float,
    slippage: float,
) -> np.ndarray:
    groups = by_member.shape[1] // LANES
    out = np.zeros((groups * LANES, len(STAT_NAMES)))
    for group in numba.prange(groups):
        lanes = slice(group * LANES, (group + 1) * LANES)
        table = _target_table(patterns, np.ascontiguousarray(by_member[:, lanes]))
        _replay_lanes(
            out[lanes], table, pattern_of_fill, fills, fill_price, close, week, fee, slippage
        )
    return out


def _distinct_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of -1/0/1 signals and each row's number among them."""
    if rows.shape[1] > _BASE_3_DIGITS:  # too many members for one int64 per row
        return np.unique(rows, axis=0, return_inverse=True)
    digits = 3 ** np.arange(rows.shape[1], dtype=np.int64)
    _, first, inverse = np.unique(
        (rows.astype(np.int64) + 1) @ digits, return_index=True, return_inverse=True
    )
    return rows[first], inverse


def replay_blends(
    signals: np.ndarray,
    weight_sets: np.ndarray,
    active: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    fee: float,
    slippage: float,
) -> np.ndarray:
    """The statistics of every constant weight set (one row per row of ``weight_sets``)
    whose target is 0 where not ``active``.

    The members' signals at the bar before each fill take few distinct values (at most
    3 ** members): each group of :data:`LANES` weight sets (the last padded with empty
    blends) works out its targets once per distinct pattern. The groups are spread over
    the threads.
    """
    fills = fill_bars(signals, weight_sets[:1], active)
    before = fills[:-1] - 1
    patterns, pattern_of_fill = _distinct_rows(
        np.where(active[before, None], signals[before], 0).astype(np.int8)
    )
    count = weight_sets.shape[0]
    by_member = np.zeros((weight_sets.shape[1], -(-count // LANES) * LANES))
    by_member[:, :count] = weight_sets.T
    out = _replay_groups(
        by_member,
        patterns,
        pattern_of_fill.reshape(-1).astype(np.int64),
        fills,
        fill_price,
        close,
        week,
        fee,
        slippage,
    )
    return out[:count]
