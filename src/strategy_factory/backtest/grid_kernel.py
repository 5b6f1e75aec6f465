"""The grid kernel: every cell of a strategy grid streamed over its market's bars.

A cell keeps only running scalars in a :class:`~strategy_factory.backtest.kernel.Ledger`
passed by value (in registers), so memory does not grow with cells times bars; cells run
in parallel. The arithmetic is :func:`~strategy_factory.backtest.kernel.mark_bar`'s,
operation for operation (a golden table in the tests holds the statistics to the bit),
with two shortcuts that change no bit:

- A flat bar without a fill (flat before and after, equity above 0) has a bar return of
  exactly 0.0, and adding 0.0 to a sum that started at +0.0 changes no bit: such a bar
  only closes a week when one ends and moves the peak's bar when at the peak.
- Blocks are a separate compiled specialization: with ``block`` None (no blocks) the
  per-bar block test is not compiled in.

Branches the predictor cannot learn cost as much here as arithmetic: whether a bar fills,
and on which side, is a coin flip for low thresholds. So the bookkeeping is written as
selects (an ``if`` updating several running values in place compiled to branches and
cost 15 %), and a fill computes both sides and keeps one. What remains is latency: a
flip's exit and entry are a chain of about 40 cycles (two divisions) that the next bar
waits for, which is why a cell that trades on every other bar costs ~12 ns per bar and
one that stays flat ~1.7 ns.
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


@numba.njit(cache=True, error_model="numpy")
def _simulate_cell(
    stats: np.ndarray,
    prediction: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    weeks_passed: np.ndarray,
    z_ok: np.ndarray,
    regime_ok: np.ndarray,
    threshold: float,
    long_only: bool,
    fee: float,
    slippage: float,
    block: np.ndarray | None,
    offset: int,
    block_stats: np.ndarray,
) -> None:
    """Fill ``stats`` (see :data:`STAT_NAMES`) for one cell over one ticker's bars.

    ``block_stats[b]`` gets the sum and sum of squares of the bar returns of the bars
    ``t`` whose ``block[offset + t]`` is ``b`` (-1: in no block).
    """
    n = close.size
    allowed = z_ok & regime_ok
    stats[:] = 0.0
    cash, shares, entry_equity = 1.0, 0.0, 1.0
    ledger = open_ledger()
    for t in range(1, n):
        signal = _signal(prediction[t - 1], threshold, allowed[t - 1], long_only)
        held = ledger.position
        if (signal | held) == 0 and cash > 0.0:
            ledger = _quiet_bar(ledger, t, weeks_passed[t])
            continue
        cash, shares, entry_equity = _fill(
            cash, shares, held, signal, fill_price[t], entry_equity, stats, fee, slippage
        )
        now = side(shares)
        ledger = mark_bar(ledger, t, cash + shares * close[t], now, now != held, weeks_passed[t])
        if block is not None:
            number = block[offset + t]
            if number >= 0:
                block_stats[number, 0] += ledger.bar_return
                block_stats[number, 1] += ledger.bar_return * ledger.bar_return
    settle(stats, ledger, n, entry_equity)


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
    block within its market (-1: in none).
    """
    out = np.empty((cell_market.size, len(STAT_NAMES)))
    blocks = np.zeros((cell_market.size, n_blocks, 2))
    for c in numba.prange(cell_market.size):
        a = starts[cell_market[c]]
        b = stops[cell_market[c]]
        _simulate_cell(
            out[c],
            prediction[a:b],
            fill_price[a:b],
            close[a:b],
            weeks_passed[a:b],
            z_ok[cell_z[c], a:b],
            regime_ok[cell_regime[c], a:b],
            cell_threshold[c],
            cell_long_only[c],
            fee,
            slippage,
            block,
            a,
            blocks[c],
        )
    return out, blocks
