"""The grid kernel: every cell of a strategy grid streamed over its market's bars.

A cell keeps only running scalars (see :class:`~strategy_factory.backtest.kernel.Ledger`),
so memory does not grow with cells times bars; cells run in parallel. The arithmetic is
:func:`~strategy_factory.backtest.kernel.mark_bar`'s, operation for operation (a golden
table in the tests holds its statistics to the bit), with three shortcuts that change no
bit:

- A flat bar with no fill (flat before and after, equity above 0) has a bar return of
  exactly 0.0; adding 0.0 to a sum that started at +0.0 changes no bit, and the
  drawdown state only moves the peak's bar. Such bars skip the arithmetic.
- The drawdown divides only at a new low since the peak: rounding is monotonic, so a
  bar at or above that low cannot lower ``equity / peak - 1``.
- Blocks are a separate compiled specialization: with ``block`` None (no blocks) the
  per-bar block test is not compiled in.
"""

from __future__ import annotations

import numba
import numpy as np

from strategy_factory.backtest.kernel import (
    STAT_NAMES,
    Ledger,
    _add_zeros,
    _signal,
    _trade,
    _welford,
    settle,
    side,
)


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
    stats[:] = 0.0
    cash, shares, entry_equity, held = 1.0, 0.0, 1.0, 0
    bars_in_market, position_changes, previous = 0, 0, 1.0
    return_sum, return_sumsq, downside_sumsq = 0.0, 0.0, 0.0
    week_sum, weeks, week_mean, week_m2 = 0.0, 0.0, 0.0, 0.0
    peak, peak_bar, underwater, low = 1.0, 0, False, 1.0
    longest, longest_start, max_drawdown = 0, 0, 0.0
    for t in range(1, n):
        signal = _signal(prediction[t - 1], threshold, z_ok[t - 1] & regime_ok[t - 1], long_only)
        passed = weeks_passed[t]
        if passed != 0:
            weeks, week_mean, week_m2 = _welford(weeks, week_mean, week_m2, week_sum)
            weeks, week_mean, week_m2 = _add_zeros(weeks, week_mean, week_m2, passed - 1.0)
            week_sum = 0.0
        if (signal | held) == 0 and cash > 0.0:
            # Equity is unchanged: at the peak the peak's bar moves on, below it nothing does.
            peak_bar = t if not underwater else peak_bar
            continue
        changed = False
        if signal != held:
            cash, shares, entry_equity = _trade(
                cash, shares, held, signal, fill_price[t], entry_equity, stats, fee, slippage
            )
            changed = side(shares) != held
            held = side(shares)
        equity = cash + shares * close[t]
        bar_return = (equity - previous) / previous
        bars_in_market += held != 0
        position_changes += changed
        previous = equity
        return_sum += bar_return
        return_sumsq += bar_return * bar_return
        downside_sumsq += min(bar_return, 0.0) ** 2
        week_sum += bar_return
        if equity >= peak:
            if underwater and t - peak_bar > longest:
                longest, longest_start = t - peak_bar, peak_bar
            peak, peak_bar, underwater, low = equity, t, False, equity
        else:
            underwater = True
            if equity < low:
                max_drawdown, low = min(max_drawdown, equity / peak - 1.0), equity
        if block is not None:
            number = block[offset + t]
            if number >= 0:
                block_stats[number, 0] += bar_return
                block_stats[number, 1] += bar_return * bar_return
    ledger = Ledger(
        held,
        bars_in_market,
        position_changes,
        previous,
        0.0,
        return_sum,
        return_sumsq,
        downside_sumsq,
        week_sum,
        weeks,
        week_mean,
        week_m2,
        peak,
        peak_bar,
        underwater,
        longest,
        longest_start,
        max_drawdown,
    )
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
