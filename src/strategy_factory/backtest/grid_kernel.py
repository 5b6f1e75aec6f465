"""The grid kernel: every cell of a strategy grid streamed over its market's bars.

A cell keeps only running scalars in a :class:`~strategy_factory.backtest.kernel.Ledger`
passed by value (in registers), so memory does not grow with cells times bars; pairs of
cells run in parallel. The arithmetic is :func:`~strategy_factory.backtest.kernel.mark_bar`'s
and the fills', operation for operation (a golden table in the tests holds the statistics
to the bit). What makes it faster, without changing a bit:

- Two cells of one market go through the bars side by side. A flip's exit and entry are
  a chain of about 40 cycles (two divisions) that the next bar waits for; two cells'
  chains overlap in the processor.
- A bar where both are flat without a fill (equity above 0) has bar returns of exactly
  0.0, and adding 0.0 to a sum that started at +0.0 changes no bit: such a bar only
  closes a week when one ends and moves the peak's bar when at the peak.
- Branches the predictor cannot learn cost as much as arithmetic here (whether a bar
  fills, and on which side, is a coin flip for low thresholds): a fill computes both
  sides and keeps one by select, and a closed trade enters the statistics by select.
- A block's sums run in registers and are stored when its bars end; with ``block`` None
  (no blocks) the block code is not compiled in (a separate specialization).
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
    open_ledger,
    settle,
    side,
)

_TRADES = STAT_NAMES.index("trades")


@numba.njit(cache=True, error_model="numpy")
def _quiet_bar(ledger: Ledger, t: int, weeks_passed: int) -> Ledger:
    """:func:`mark_bar` of a flat bar without a fill: equity and every sum unchanged."""
    week_sum, weeks, week_mean, week_m2 = close_weeks(ledger, weeks_passed)
    return Ledger(
        0,
        ledger.bars_in_market,
        ledger.position_changes,
        ledger.previous,
        0.0,
        ledger.return_sum,
        ledger.return_sumsq,
        ledger.downside_sumsq,
        week_sum,
        weeks,
        week_mean,
        week_m2,
        ledger.peak,
        ledger.peak_bar if ledger.underwater else t,
        ledger.underwater,
        ledger.longest,
        ledger.longest_start,
        ledger.max_drawdown,
    )


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
    weeks passed), a fill included when ``signal`` differs from the held side."""
    held = ledger.position
    cash, shares, entry_equity = _fill(
        cash, shares, held, signal, bar[0], entry_equity, stats, costs[0], costs[1]
    )
    now = side(shares)
    ledger = mark_bar(ledger, t, cash + shares * bar[1], now, now != held, bar[2])
    return ledger, cash, shares, entry_equity


@numba.njit(cache=True, error_model="numpy")
def _add_block(block_stats: np.ndarray, number: int, sums: tuple[float, ...]) -> None:
    """Store two cells' sums and sums of squares of block ``number`` (-1: in none)."""
    if number >= 0:
        block_stats[0, number, 0] += sums[0]
        block_stats[0, number, 1] += sums[1]
        block_stats[1, number, 0] += sums[2]
        block_stats[1, number, 1] += sums[3]


@numba.njit(cache=True, error_model="numpy")
def _simulate_pair(
    stats: np.ndarray,
    prediction: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    weeks_passed: np.ndarray,
    allowed: tuple[np.ndarray, np.ndarray],
    threshold: tuple[float, float],
    long_only: tuple[bool, bool],
    costs: tuple[float, float],
    block: np.ndarray | None,
    offset: int,
    block_stats: np.ndarray,
) -> None:
    """Fill ``stats[0]`` and ``stats[1]`` (see :data:`STAT_NAMES`) for two cells of one
    ticker, bar by bar side by side: the two cells' chains of dependent arithmetic (a
    flip waits ~40 cycles for the previous bar's) overlap in the processor.

    A bar where both are flat without a fill is skipped as in :func:`_quiet_bar`; when
    either is active both take the full arithmetic, which on a quiet bar changes no bit.
    ``block_stats[k, b]`` gets cell k's sum and sum of squares of the bar returns of
    the bars ``t`` whose ``block[offset + t]`` is ``b`` (-1: in no block).
    """
    n = close.size
    allowed_0, allowed_1 = allowed
    stats[:] = 0.0
    # Views made once: a view made in the bar loop costs a reference count per bar.
    stats_0, stats_1 = stats[0], stats[1]
    # A block's sums run in registers and are stored when its bars end (blocks are
    # contiguous): adding through memory chained every active bar to the last.
    current, sums = -1, (0.0, 0.0, 0.0, 0.0)
    ledger_0, cash_0, shares_0, entry_0 = open_ledger(), 1.0, 0.0, 1.0
    ledger_1, cash_1, shares_1, entry_1 = open_ledger(), 1.0, 0.0, 1.0
    for t in range(1, n):
        signal_0 = _signal(prediction[t - 1], threshold[0], allowed_0[t - 1], long_only[0])
        signal_1 = _signal(prediction[t - 1], threshold[1], allowed_1[t - 1], long_only[1])
        quiet_0 = ((signal_0 | ledger_0.position) == 0) & (cash_0 > 0.0)
        quiet_1 = ((signal_1 | ledger_1.position) == 0) & (cash_1 > 0.0)
        if quiet_0 & quiet_1:
            ledger_0 = _quiet_bar(ledger_0, t, weeks_passed[t])
            ledger_1 = _quiet_bar(ledger_1, t, weeks_passed[t])
            continue
        bar = (fill_price[t], close[t], weeks_passed[t])
        ledger_0, cash_0, shares_0, entry_0 = _active_bar(
            ledger_0, cash_0, shares_0, entry_0, t, signal_0, bar, stats_0, costs
        )
        ledger_1, cash_1, shares_1, entry_1 = _active_bar(
            ledger_1, cash_1, shares_1, entry_1, t, signal_1, bar, stats_1, costs
        )
        if block is not None:
            number = block[offset + t]
            if number != current:
                _add_block(block_stats, current, sums)
                current, sums = number, (0.0, 0.0, 0.0, 0.0)
            return_0, return_1 = ledger_0.bar_return, ledger_1.bar_return
            sums = (
                sums[0] + return_0,
                sums[1] + return_0 * return_0,
                sums[2] + return_1,
                sums[3] + return_1 * return_1,
            )
    _add_block(block_stats, current, sums)
    settle(stats[0], ledger_0, n, entry_0)
    settle(stats[1], ledger_1, n, entry_1)


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
    block within its market (-1: in none; a block's bars are contiguous).
    """
    out = np.empty((cell_market.size, len(STAT_NAMES)))
    blocks = np.zeros((cell_market.size, n_blocks, 2))
    for pair in numba.prange((cell_market.size + 1) // 2):
        # An odd count overlaps the last pair; a pair across two markets runs each cell
        # paired with itself.
        first = min(2 * pair, cell_market.size - 2)
        shared = cell_market[first] == cell_market[first + 1]
        for k in range(1 if shared else 2):
            c, d = first + k, first + 1 if shared else first + k
            a, b = starts[cell_market[c]], stops[cell_market[c]]
            rows = np.empty((2, len(STAT_NAMES)))
            cell_blocks = np.zeros((2, n_blocks, 2))
            _simulate_pair(
                rows,
                prediction[a:b],
                fill_price[a:b],
                close[a:b],
                weeks_passed[a:b],
                (
                    z_ok[cell_z[c], a:b] & regime_ok[cell_regime[c], a:b],
                    z_ok[cell_z[d], a:b] & regime_ok[cell_regime[d], a:b],
                ),
                (cell_threshold[c], cell_threshold[d]),
                (cell_long_only[c], cell_long_only[d]),
                (fee, slippage),
                block,
                a,
                cell_blocks,
            )
            out[c], out[d] = rows[0], rows[1]
            blocks[c], blocks[d] = cell_blocks[0], cell_blocks[1]
    return out, blocks
