"""The grid kernel: every cell of a strategy grid streamed over its market's bars.

A cell keeps only running values (in registers), so memory does not grow with cells
times bars; groups of cells run in parallel. The arithmetic is
:func:`~strategy_factory.backtest.kernel.mark_bar`'s and the fills', operation for
operation (a golden table in the tests holds the statistics to the bit). What makes it
faster, without changing a bit:

- A cell trades only the bars it must: those whose signal (formed at the bar before) is
  not flat, and the bar after each, where it may exit. Every other bar is flat without a
  fill (equity above 0): its bar return is exactly 0.0, and adding 0.0 to a sum that
  started at +0.0 changes no bit, so such a bar only closes a week when one ends and
  moves the peak's bar when at the peak, both done when the next traded bar comes. The
  bars to trade are listed before the arithmetic, so the processor runs ahead on them:
  a bar's *level* counts the grid's thresholds its prediction clears, and the cells of
  a group (one market, z-limit, regime filter and mode), by rising threshold, narrow one
  list of bars. On the benchmark's grid 83% of the cell-bars are skipped.
- :data:`LANES` cells of a group go through the lowest one's bars side by side, one per
  lane of a SIMD vector (:mod:`~strategy_factory.backtest.lane_accounts`): a flip's exit
  and entry are a chain of about 40 cycles (two divisions) that the next bar waits for,
  and eight accounts' chains take one vector chain. A bar a higher cell need not trade
  gets the full arithmetic, which on a flat bar without a fill changes no bit.
- Branches the predictor cannot learn cost as much as arithmetic here (whether a bar
  fills, and on which side, is a coin flip for low thresholds): a fill computes both
  sides and keeps one by select, and a closed trade enters the statistics by select.
- A block's sums run in registers and are stored when its bars end; with ``block`` None
  (no blocks) the block code is not compiled in (a separate specialization).
- An account left flat with no equity (a short's loss beyond its cash) trades every bar
  from then on, as the per-bar arithmetic does: when one lane's is, the lanes part and
  each cell finishes alone (:func:`_finish`).
"""

from __future__ import annotations

import numba
import numpy as np

from strategy_factory.backtest.kernel import (
    STAT_NAMES,
    Ledger,
    _signal,
    _welford,
    close_weeks,
    mark_bar,
    settle,
    side,
)
from strategy_factory.backtest.lane_accounts import (
    Accounts,
    close_lane_weeks,
    lane_account,
    open_accounts,
    ruined,
    signals,
    trade_bar,
)
from strategy_factory.backtest.lanes import add, any_lane, load, mul, neg, splat

_TRADES = STAT_NAMES.index("trades")
LANES = 8
"""Cells of a group simulated side by side, one per lane of a SIMD vector."""


@numba.njit(cache=True, error_model="numpy", inline="always")
def _close_trade_if(stats: np.ndarray, closing: bool, trade_return: float) -> None:
    """:func:`~strategy_factory.backtest.kernel.close_trade` when ``closing``, by selects."""
    count, mean, m2 = _welford(stats[_TRADES], stats[_TRADES + 1], stats[_TRADES + 2], trade_return)
    stats[_TRADES] = count if closing else stats[_TRADES]
    stats[_TRADES + 1] = mean if closing else stats[_TRADES + 1]
    stats[_TRADES + 2] = m2 if closing else stats[_TRADES + 2]
    win, loss = closing and trade_return > 0.0, closing and trade_return < 0.0
    stats[_TRADES + 3] += 1.0 if win else 0.0
    stats[_TRADES + 4] += trade_return if win else 0.0
    stats[_TRADES + 5] += 1.0 if loss else 0.0
    stats[_TRADES + 6] += trade_return if loss else 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _fill(
    cash: float,
    shares: float,
    held: int,
    signal: int,
    price: float,
    entry_equity: float,
    stats: np.ndarray,
    fee: float,
    slippage: float,
) -> tuple[float, float, float]:
    """(cash, shares, entry equity) after moving from ``held`` to ``signal`` at ``price``.

    :func:`~strategy_factory.backtest.kernel.exit_position` and ``enter_position``'s
    arithmetic, every side computed and the right one selected: which side a fill takes
    is a coin flip to the branch predictor, and a mispredicted branch costs more than the
    two divisions of the side not taken. No fill (``signal == held``) changes nothing.
    """
    trading = signal != held
    exiting = trading and held != 0
    proceeds = shares * (price * (1.0 - slippage))
    cost = -shares * (price * (1.0 + slippage))
    exited = cash + (proceeds - proceeds * fee) if shares > 0.0 else cash - (cost + cost * fee)
    cash = exited if exiting else cash
    shares = 0.0 if exiting else shares
    _close_trade_if(stats, exiting, cash / entry_equity - 1.0)
    entering = trading and signal != 0
    long_shares = cash / (1.0 + fee) / (price * (1.0 + slippage))
    adjusted = price * (1.0 - slippage)
    short_shares = cash / (adjusted * (1.0 + fee))
    short_proceeds = short_shares * adjusted
    short_cash = cash + (short_proceeds - short_proceeds * fee)
    live = entering and cash > 0.0
    entry_equity = cash if entering else entry_equity
    shares = (long_shares if signal > 0 else -short_shares) if live else shares
    cash = (0.0 if signal > 0 else short_cash) if live else cash
    return cash, shares, entry_equity


@numba.njit(cache=True, error_model="numpy", inline="always")
def _peak_until(ledger: Ledger, t: int) -> Ledger:
    """The ledger at bar ``t``'s open: when not underwater, every bar since the last one
    traded ended at the peak (skipped bars are flat), so the peak's bar is ``t - 1``."""
    return Ledger(
        ledger.position,
        ledger.bars_in_market,
        ledger.position_changes,
        ledger.previous,
        ledger.bar_return,
        ledger.return_sum,
        ledger.return_sumsq,
        ledger.downside_sumsq,
        ledger.week_sum,
        ledger.weeks,
        ledger.week_mean,
        ledger.week_m2,
        ledger.peak,
        ledger.peak_bar if ledger.underwater else t - 1,
        ledger.underwater,
        ledger.longest,
        ledger.longest_start,
        ledger.max_drawdown,
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _active_bar(
    ledger: Ledger,
    cash: float,
    shares: float,
    entry_equity: float,
    t: int,
    signal: int,
    bar: tuple[float, float, int],
    stats: np.ndarray,
    costs: tuple[float, float],
) -> tuple[Ledger, float, float, float]:
    """(ledger, cash, shares, entry equity) after bar ``t`` (``bar``: fill price, close,
    weeks passed), a fill included when ``signal`` differs from the held side; the bars
    skipped since the last one traded were flat (see :func:`_peak_until`)."""
    ledger = _peak_until(ledger, t)
    held = ledger.position
    cash, shares, entry_equity = _fill(
        cash, shares, held, signal, bar[0], entry_equity, stats, costs[0], costs[1]
    )
    now = side(shares)
    ledger = mark_bar(ledger, t, cash + shares * bar[1], now, now != held, bar[2])
    return ledger, cash, shares, entry_equity


@numba.njit(cache=True, error_model="numpy")
def _add_block(block_stats: np.ndarray, k: int, number: int, sums: tuple[float, float]) -> None:
    """Store cell ``k``'s sum and sum of squares of block ``number`` (-1: in none)."""
    if number >= 0:
        block_stats[k, number, 0] += sums[0]
        block_stats[k, number, 1] += sums[1]


@numba.njit(cache=True, error_model="numpy")
def _close_skipped_weeks(
    ledger: Ledger, t: int, weeks_passed: np.ndarray, week_ends: np.ndarray, w: int
) -> tuple[Ledger, int]:
    """The ledger after the weeks that ended on skipped bars before ``t`` (``week_ends``
    from ``w`` on: the bars where weeks end), and the first such bar not before ``t``."""
    while w < week_ends.size and week_ends[w] < t:
        week_sum, weeks, week_mean, week_m2 = close_weeks(ledger, weeks_passed[week_ends[w]])
        ledger = Ledger(
            ledger.position,
            ledger.bars_in_market,
            ledger.position_changes,
            ledger.previous,
            ledger.bar_return,
            ledger.return_sum,
            ledger.return_sumsq,
            ledger.downside_sumsq,
            week_sum,
            weeks,
            week_mean,
            week_m2,
            ledger.peak,
            ledger.peak_bar,
            ledger.underwater,
            ledger.longest,
            ledger.longest_start,
            ledger.max_drawdown,
        )
        w += 1
    return ledger, w


@numba.njit(cache=True, error_model="numpy", inline="always")
def _ruined(ledger: Ledger, cash: float) -> bool:
    """Whether an account is flat with no equity left: it must trade every later bar."""
    return ledger.position == 0 and not cash > 0.0


@numba.njit(cache=True, error_model="numpy")
def _finish(
    account: tuple[Ledger, float, float, float],
    k: int,
    w: int,
    block_sums: tuple[int, float, float],
    cell: int,
    stats: np.ndarray,
    block_stats: np.ndarray,
    bars: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    allowed: np.ndarray,
    threshold: float,
    long_only: bool,
    costs: tuple[float, float],
    events: np.ndarray,
    count: int,
    week_ends: np.ndarray,
    block: np.ndarray | None,
    offset: int,
) -> None:
    """Trade one cell alone from its ``k``-th bar of ``events`` on (every bar once it is
    ruined), then settle it: every lane's cell once the lanes part (at the end, or when
    one lane's account is ruined)."""
    prediction, fill_price, close, weeks_passed = bars
    n = close.size
    ledger, cash, shares, entry = account
    current, total, squares = block_sums
    t = events[k - 1] if k > 0 else 0
    while t + 1 < n and (k < count or _ruined(ledger, cash)):
        t = t + 1 if _ruined(ledger, cash) else events[k]
        k += 1
        ledger, w = _close_skipped_weeks(ledger, t, weeks_passed, week_ends, w)
        signal = _signal(prediction[t - 1], threshold, allowed[t - 1], long_only)
        bar = (fill_price[t], close[t], weeks_passed[t])
        ledger, cash, shares, entry = _active_bar(
            ledger, cash, shares, entry, t, signal, bar, stats, costs
        )
        w += 1 if w < week_ends.size and week_ends[w] == t else 0
        if block is not None:
            number = block[offset + t]
            if number != current:
                _add_block(block_stats, cell, current, (total, squares))
                current, total, squares = number, 0.0, 0.0
            total += ledger.bar_return
            squares += ledger.bar_return * ledger.bar_return
    _add_block(block_stats, cell, current, (total, squares))
    ledger, w = _close_skipped_weeks(ledger, n, weeks_passed, week_ends, w)
    settle(stats, ledger, n, entry)


@numba.njit(cache=True, error_model="numpy")
def _close_skipped_lane_weeks(
    accounts: Accounts, t: int, weeks_passed: np.ndarray, week_ends: np.ndarray, w: int
) -> tuple[Accounts, int]:
    """:func:`_close_skipped_weeks` in every lane."""
    while w < week_ends.size and week_ends[w] < t:
        weeks = close_lane_weeks(accounts.weeks, weeks_passed[week_ends[w]])
        accounts = Accounts(
            accounts.holdings, accounts.returns, weeks, accounts.drawdown, accounts.trades
        )
        w += 1
    return accounts, w


@numba.njit(cache=True, error_model="numpy")
def _simulate_lanes(
    stats: np.ndarray,
    bars: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    allowed: np.ndarray,
    thresholds: np.ndarray,
    long_only: bool,
    costs: tuple[float, float],
    events: np.ndarray,
    count: int,
    week_ends: np.ndarray,
    block: np.ndarray | None,
    offset: int,
    block_stats: np.ndarray,
) -> None:
    """Fill ``stats[i]`` (see :data:`STAT_NAMES`) for the :data:`LANES` cells of one
    group with ``thresholds`` (rising), side by side through the first ``count`` bars of
    ``events`` (those the first cell must trade, rising).

    ``bars``: the market's predictions, fill prices, closes and weeks passed;
    ``week_ends``: its bars where weeks end. ``block_stats[i, b]`` gets cell i's sum and
    sum of squares of the bar returns of the bars ``t`` whose ``block[offset + t]`` is
    ``b`` (-1: in no block).
    """
    prediction, fill_price, close, weeks_passed = bars
    stats[:] = 0.0
    threshold = load(thresholds, LANES)
    below = neg(threshold)
    accounts = open_accounts(threshold)
    # A block's sums run in registers and are stored when its bars end (blocks are
    # contiguous): adding through memory chained every traded bar to the last.
    current, total, squares = -1, splat(0.0, threshold), splat(0.0, threshold)
    k, w = 0, 0
    while k < count and not any_lane(ruined(accounts)):
        t = events[k]
        k += 1
        if w < week_ends.size and week_ends[w] < t:
            accounts, w = _close_skipped_lane_weeks(accounts, t, weeks_passed, week_ends, w)
        signal = signals(prediction[t - 1], threshold, below, allowed[t - 1], long_only)
        bar = (fill_price[t], close[t], weeks_passed[t])
        accounts = trade_bar(accounts, t, signal, bar, costs)
        w += 1 if w < week_ends.size and week_ends[w] == t else 0
        if block is not None:
            number = block[offset + t]
            if number != current:
                for lane in range(LANES):
                    _add_block(block_stats, lane, current, (total[lane], squares[lane]))
                current, total, squares = number, splat(0.0, total), splat(0.0, total)
            bar_return = accounts.returns.bar_return
            total = add(total, bar_return)
            squares = add(squares, mul(bar_return, bar_return))
    for lane in range(LANES):
        _finish(
            lane_account(accounts, lane, stats[lane]),
            k,
            w,
            (current, total[lane], squares[lane]),
            lane,
            stats[lane],
            block_stats,
            bars,
            allowed,
            thresholds[lane],
            long_only,
            costs,
            events,
            count,
            week_ends,
            block,
            offset,
        )


@numba.njit(cache=True, error_model="numpy")
def _narrowed(bars: np.ndarray, levels: np.ndarray, count: int, rank: int) -> int:
    """Keep, in place and in order, those of the first ``count`` bars (with their levels)
    whose level is above ``rank``; their number."""
    kept = 0
    for j in range(count):
        bar, level = bars[j], levels[j]
        bars[kept], levels[kept] = bar, level
        kept += level > rank
    return kept


@numba.njit(cache=True, error_model="numpy")
def _traded_bars(
    above: np.ndarray, below: np.ndarray, allowed: np.ndarray, long_only: bool, rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """The bars a group's lowest cell (of threshold rank ``rank``) trades, with their
    levels: bar t when the higher of the levels at t - 1 and t - 2 is above ``rank`` (a
    signal formed at t - 1, or one at t - 2 that may exit at t). A bar's level is the
    number of thresholds its prediction clears (long, or either way), -1 where not
    allowed."""
    n = above.size
    events = np.empty(n, dtype=np.int64)
    levels = np.empty(n, dtype=np.int64)
    count, before = 0, -1
    for t in range(1, n):
        level = above[t - 1] if long_only else max(above[t - 1], below[t - 1])
        level = level if allowed[t - 1] else -1
        reach = max(level, before)
        events[count], levels[count] = t, reach
        count += reach > rank
        before = level
    return events[:count], levels[:count]


@numba.njit(cache=True, error_model="numpy")
def _groups(
    cell_market: np.ndarray,
    cell_z: np.ndarray,
    cell_regime: np.ndarray,
    cell_long_only: np.ndarray,
    rank: np.ndarray,
) -> np.ndarray:
    """Where each group of neighbouring cells starts (and, last, the end): one market,
    z-limit, regime filter and mode, thresholds not falling."""
    starts = [0]
    for c in range(1, cell_market.size):
        same = (
            cell_market[c] == cell_market[c - 1]
            and cell_z[c] == cell_z[c - 1]
            and cell_regime[c] == cell_regime[c - 1]
            and cell_long_only[c] == cell_long_only[c - 1]
            and rank[c] >= rank[c - 1]
        )
        if not same:
            starts.append(c)
    starts.append(cell_market.size)
    return np.asarray(starts)


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def simulate_cells(
    prediction: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    weeks_passed: np.ndarray,
    z_ok: np.ndarray,
    regime_ok: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    cell_market: np.ndarray,
    cell_threshold: np.ndarray,
    cell_z: np.ndarray,
    cell_regime: np.ndarray,
    cell_long_only: np.ndarray,
    fee: float,
    slippage: float,
    block: np.ndarray | None,
    n_blocks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of every cell, one row per cell (see :data:`STAT_NAMES`), and per cell
    and block the sum and sum of squares of its bar returns (cells × n_blocks × 2).

    Bar arrays hold every market back to back, market ``k`` at ``starts[k]:stops[k]``;
    ``weeks_passed[t]`` counts the calendar weeks from bar t-1 to bar t (int32; any
    value at a market's first bar); ``z_ok`` and ``regime_ok`` are (limits × bars) and
    (filters × bars) masks; ``block`` (int32, None without blocks) numbers each bar's
    block within its market (-1: in none; a block's bars are contiguous). Cells in a
    grid's order (market, mode, regime filter, z-limit, rising threshold) share the most
    work; any order gives the same rows.
    """
    out = np.empty((cell_market.size, len(STAT_NAMES)))
    blocks = np.zeros((cell_market.size, n_blocks, 2))
    thresholds = np.unique(cell_threshold)
    rank = np.searchsorted(thresholds, cell_threshold)
    # A signal is long when the prediction is above the cell's threshold, i.e. when more
    # than ``rank`` of the grid's thresholds are below it, short when more than ``rank``
    # are below minus the prediction (NaN clears them all: traded, and flat).
    above = np.searchsorted(thresholds, prediction)
    below = np.searchsorted(thresholds, -prediction)
    week_ends = np.flatnonzero(weeks_passed != 0)
    groups = _groups(cell_market, cell_z, cell_regime, cell_long_only, rank)
    for group in numba.prange(groups.size - 1):
        first, last = groups[group], groups[group + 1]
        a, b = starts[cell_market[first]], stops[cell_market[first]]
        allowed = z_ok[cell_z[first], a:b] & regime_ok[cell_regime[first], a:b]
        events, levels = _traded_bars(
            above[a:b], below[a:b], allowed, cell_long_only[first], rank[first]
        )
        count = events.size
        ends = week_ends[np.searchsorted(week_ends, a + 1) : np.searchsorted(week_ends, b)] - a
        bars = (prediction[a:b], fill_price[a:b], close[a:b], weeks_passed[a:b])
        size = last - first
        for chunk in range((size + LANES - 1) // LANES):
            # The last chunk's spare lanes repeat the group's last cell.
            cells = np.minimum(np.arange(LANES) + first + LANES * chunk, last - 1)
            count = _narrowed(events, levels, count, rank[cells[0]])
            rows = np.empty((LANES, len(STAT_NAMES)))
            cell_blocks = np.zeros((LANES, n_blocks, 2))
            _simulate_lanes(
                rows,
                bars,
                allowed,
                cell_threshold[cells],
                cell_long_only[first],
                (fee, slippage),
                events,
                count,
                ends,
                block,
                a,
                cell_blocks,
            )
            for lane in range(LANES):
                out[cells[lane]], blocks[cells[lane]] = rows[lane], cell_blocks[lane]
    return out, blocks
