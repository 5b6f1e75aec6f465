"""Numba kernel of signal replay: the statistics of many blends of the same members.

The account arithmetic is :mod:`strategy_factory.backtest.blend_kernel`'s and the
statistics are a grid cell's (:data:`~strategy_factory.backtest.kernel.STAT_NAMES`),
operation for operation: a row of :func:`replay_blends` equals
:func:`~strategy_factory.backtest.blend_kernel.blend_stats` of the same weights.

Three facts make many blends cheap together:

* A blend's target can change only at the bars after a change of the members' signals
  (or of the active mask): these *fills* are the same for every blend of the members,
  and between two of them every account is constant.
* The members' signals before a fill take few distinct values (at most 3 ** members),
  so each blend's target is worked out once per value.
* The blends are independent, so a thread advances
  :data:`~strategy_factory.backtest.replay_marks.LANES` of them side by side, in loops
  the compiler turns into SIMD instructions: at a fill the common case (a resize on the
  same side) as selects without branches, the rarer exits and entries lane by lane
  afterwards; every bar's marks in :mod:`strategy_factory.backtest.replay_marks`. An
  account is flat too: field r of lane k at ``r * LANES + k``.

Fills are made :data:`BLOCK` at a time for every lane, then the bars up to them marked:
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
from strategy_factory.backtest.kernel import STAT_NAMES, close_trade
from strategy_factory.backtest.replay_marks import LANES, mark_block, new_ledger, settle_lanes

BLOCK = 512
"""Fills made in every lane before the bars up to them are marked."""

_BASE_3_DIGITS = 39  # 3 ** 39 < 2 ** 63

# An account (what a blend holds between fills) and its trade statistics (the seven
# of STAT_NAMES from trades to loss_sum): fields × lanes, flat.
_FIRST_TRADE_STAT = STAT_NAMES.index("trades")
_TRADE_STATS = STAT_NAMES.index("loss_sum") + 1 - _FIRST_TRADE_STAT
_CASH, _SHARES, _TARGET, _ENTRY, _TRADES = (row * LANES for row in range(5))
_ACCOUNT_ROWS = 4 + _TRADE_STATS


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
    ledger = new_ledger()
    held = np.empty((BLOCK + 1, 2 * LANES))
    rows = np.empty(close.size, dtype=np.int64)
    for first in range(0, fills.size - 1, BLOCK):
        last = min(first + BLOCK, fills.size - 1)
        block = fills[first : last + 1]
        _fill_block(account, held, table, patterns[first:last], block, fill_price, fee, slippage)
        mark_block(ledger, held, rows, block, close, week)
    for i in range(_TRADE_STATS):
        stats[:, _FIRST_TRADE_STAT + i] = account[_TRADES + i * LANES : _TRADES + (i + 1) * LANES]
    settle_lanes(stats, ledger, account[_ENTRY : _ENTRY + LANES], close.size)


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
