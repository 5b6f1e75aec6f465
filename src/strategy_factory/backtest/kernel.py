"""Numba kernels: the account arithmetic, the grid simulation and one strategy's detail.

Accounting (identical to vectorbt's ``Portfolio.from_signals(size=np.inf,
direction="both")``): the account starts with equity 1. An entry puts the whole equity
into the position: a long buys ``cash / (1 + fee) / (price * (1 + slippage))`` shares,
a short sells ``cash / (price * (1 - slippage) * (1 + fee))`` shares and keeps the
proceeds net of the fee as cash. An exit trades the whole position at the price moved
against it by the slippage and pays the fee on the traded notional. A flip is an exit
then an entry at the same bar's price. Equity is cash plus shares times the close.

The grid kernel streams over the bars of each cell (cells in parallel) and keeps only
running sums, so memory does not grow with the number of cells times bars.
"""

from __future__ import annotations

import numba
import numpy as np

STAT_NAMES: tuple[str, ...] = (
    "bars",
    "bars_in_market",
    "position_changes",
    "final_equity",
    "return_sum",
    "return_sumsq",
    "downside_sumsq",
    "max_drawdown",
    "max_drawdown_bars",
    "drawdown_start",
    "drawdown_end",
    "trades",
    "trade_mean",
    "trade_m2",
    "wins",
    "win_sum",
    "losses",
    "loss_sum",
    "weeks",
    "week_mean",
    "week_m2",
)
"""The per-cell sufficient statistics the grid kernel returns, in column order.

``return_*`` and ``downside_sumsq`` are sums over bar returns (``min(r, 0)**2`` for
the downside); ``trade_mean/trade_m2`` and ``week_mean/week_m2`` are Welford running
means and sums of squared deviations of trade returns and weekly P&L; ``drawdown_start``
and ``drawdown_end`` are bar positions (within the ticker) of the longest drawdown.
"""

_TRADES = STAT_NAMES.index("trades")
_WINS = STAT_NAMES.index("wins")
_LOSSES = STAT_NAMES.index("losses")
_WEEKS = STAT_NAMES.index("weeks")

TRADE_FIELDS: tuple[str, ...] = (
    "entry_bar",
    "exit_bar",
    "direction",
    "entry_price",
    "exit_price",
    "shares",
    "entry_equity",
    "exit_equity",
)


@numba.njit(cache=True)
def exit_position(cash: float, shares: float, price: float, fee: float, slippage: float) -> float:
    """Cash (= equity) after closing ``shares`` at ``price``."""
    if shares > 0.0:
        proceeds = shares * (price * (1.0 - slippage))
        return cash + (proceeds - proceeds * fee)
    cost = -shares * (price * (1.0 + slippage))
    return cash - (cost + cost * fee)


@numba.njit(cache=True)
def enter_position(
    cash: float, side: int, price: float, fee: float, slippage: float
) -> tuple[float, float]:
    """(cash, signed shares) after putting all of ``cash`` into a ``side`` position.

    A ruined account (no equity left) cannot enter and stays flat.
    """
    if cash <= 0.0:
        return cash, 0.0
    if side > 0:
        return 0.0, cash / (1.0 + fee) / (price * (1.0 + slippage))
    adjusted = price * (1.0 - slippage)
    shares = cash / (adjusted * (1.0 + fee))
    proceeds = shares * adjusted
    return cash + (proceeds - proceeds * fee), -shares


@numba.njit(cache=True)
def _welford(count: float, mean: float, m2: float, value: float) -> tuple[float, float, float]:
    count += 1.0
    delta = value - mean
    mean += delta / count
    return count, mean, m2 + delta * (value - mean)


@numba.njit(cache=True)
def _add_zeros(count: float, mean: float, m2: float, zeros: float) -> tuple[float, float, float]:
    """Welford state after ``zeros`` more values of 0 (weeks without bars)."""
    if zeros <= 0.0:
        return count, mean, m2
    total = count + zeros
    delta = -mean
    return total, mean + delta * zeros / total, m2 + delta * delta * count * zeros / total


@numba.njit(cache=True)
def _signal(prediction: float, threshold: float, allowed: bool, long_only: bool) -> int:
    # Branch-free: the sign of a prediction is a coin flip the branch predictor cannot learn.
    signal = int(prediction > threshold) - int(prediction < -threshold and not long_only)
    return signal * int(allowed)


@numba.njit(cache=True)
def _close_trade(stats: np.ndarray, trade_return: float) -> None:
    """Add a finished trade to the running trade statistics in ``stats``."""
    count, mean, m2 = _welford(stats[_TRADES], stats[_TRADES + 1], stats[_TRADES + 2], trade_return)
    stats[_TRADES] = count
    stats[_TRADES + 1] = mean
    stats[_TRADES + 2] = m2
    if trade_return > 0.0:
        stats[_WINS] += 1.0
        stats[_WINS + 1] += trade_return
    elif trade_return < 0.0:
        stats[_LOSSES] += 1.0
        stats[_LOSSES + 1] += trade_return


@numba.njit(cache=True)
def _close_weeks(weekly: np.ndarray, week_sum: float, empty_weeks: int) -> None:
    """Add a finished week's P&L, then ``empty_weeks`` weeks of 0, to ``weekly``."""
    count, mean, m2 = _welford(weekly[0], weekly[1], weekly[2], week_sum)
    weekly[0], weekly[1], weekly[2] = _add_zeros(count, mean, m2, float(empty_weeks))


@numba.njit(cache=True)
def _trade(
    cash: float,
    shares: float,
    position: int,
    signal: int,
    price: float,
    entry_equity: float,
    stats: np.ndarray,
    fee: float,
    slippage: float,
) -> tuple[float, float, float]:
    """(cash, shares, entry equity) after moving from ``position`` to ``signal`` at ``price``."""
    if position != 0:
        cash = exit_position(cash, shares, price, fee, slippage)
        shares = 0.0
        _close_trade(stats, cash / entry_equity - 1.0)
    if signal != 0:
        entry_equity = cash
        cash, shares = enter_position(cash, signal, price, fee, slippage)
    return cash, shares, entry_equity


@numba.njit(cache=True)
def _simulate_cell(
    stats: np.ndarray,
    prediction: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    allowed: np.ndarray,
    threshold: float,
    long_only: bool,
    fee: float,
    slippage: float,
    block: np.ndarray,
    block_stats: np.ndarray,
) -> None:
    """Fill ``stats`` (see :data:`STAT_NAMES`) for one cell over one ticker's bars.

    ``block_stats[b]`` gets the sum and sum of squares of the bar returns of the bars
    whose ``block`` is ``b`` (-1: in no block).
    """
    n = close.size
    stats[:] = 0.0
    weekly = stats[_WEEKS : _WEEKS + 3]
    cash, shares, position, entry_equity = 1.0, 0.0, 0, 1.0
    previous = peak = 1.0
    return_sum = return_sumsq = downside = max_drawdown = week_sum = 0.0
    in_market = changes = peak_bar = longest = longest_start = 0
    underwater = False
    for t in range(1, n):
        signal = _signal(prediction[t - 1], threshold, allowed[t - 1], long_only)
        if signal != position:
            cash, shares, entry_equity = _trade(
                cash, shares, position, signal, fill_price[t], entry_equity, stats, fee, slippage
            )
            held = 1 if shares > 0.0 else (-1 if shares < 0.0 else 0)
            changes += held != position
            position = held
        equity = cash + shares * close[t]
        bar_return = (equity - previous) / previous
        previous = equity
        return_sum += bar_return
        return_sumsq += bar_return * bar_return
        downside += min(bar_return, 0.0) ** 2
        if block[t] >= 0:
            block_stats[block[t], 0] += bar_return
            block_stats[block[t], 1] += bar_return * bar_return
        in_market += position != 0
        if week[t] != week[t - 1]:
            _close_weeks(weekly, week_sum, week[t] - week[t - 1] - 1)
            week_sum = 0.0
        week_sum += bar_return
        if equity >= peak:
            if underwater and t - peak_bar > longest:
                longest, longest_start = t - peak_bar, peak_bar
            underwater = False
            peak, peak_bar = equity, t
        else:
            underwater = True
            max_drawdown = min(max_drawdown, equity / peak - 1.0)
    if underwater and n - 1 - peak_bar > longest:
        longest, longest_start = n - 1 - peak_bar, peak_bar
    if position != 0:
        _close_trade(stats, previous / entry_equity - 1.0)
    _close_weeks(weekly, week_sum, 0)
    stats[0] = n
    stats[1] = in_market
    stats[2] = changes
    stats[3] = previous
    stats[4] = return_sum
    stats[5] = return_sumsq
    stats[6] = downside
    stats[7] = max_drawdown
    stats[8] = longest
    stats[9] = longest_start
    stats[10] = longest_start + longest


@numba.njit(parallel=True, cache=True)
def simulate_cells(
    prediction: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
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
    block: np.ndarray,
    n_blocks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of every cell, one row per cell (see :data:`STAT_NAMES`), and per cell
    and block the sum and sum of squares of its bar returns (cells × n_blocks × 2).

    Bar arrays hold every market back to back, market ``k`` at ``starts[k]:stops[k]``;
    ``z_ok`` and ``regime_ok`` are (limits × bars) and (filters × bars) masks; ``block``
    numbers each bar's block within its market (-1: in none).
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
            week[a:b],
            z_ok[cell_z[c], a:b] & regime_ok[cell_regime[c], a:b],
            cell_threshold[c],
            cell_long_only[c],
            fee,
            slippage,
            block[a:b],
            blocks[c],
        )
    return out, blocks


@numba.njit(cache=True)
def _open_trade(row: np.ndarray, bar: int, direction: int, price: float) -> None:
    row[0] = bar
    row[1] = -1
    row[2] = direction
    row[3] = price
    row[4] = np.nan
    row[7] = np.nan


@numba.njit(cache=True)
def simulate_signal(
    signal: np.ndarray, fill_price: np.ndarray, close: np.ndarray, fee: float, slippage: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, equity curve and trades of one signal series (-1, 0, 1 per bar).

    ``signal[t]`` is formed at the close of bar t and filled at bar t+1; the position
    at bar t is the one held at its close. Trades are rows of :data:`TRADE_FIELDS`; a
    trade still open at the last bar exits at its close without costs (marked, not sold).
    """
    n = close.size
    positions = np.zeros(n, dtype=np.int8)
    equity = np.ones(n)
    trades = np.empty((n, len(TRADE_FIELDS)))
    count = 0
    cash, shares, position = 1.0, 0.0, 0
    for t in range(1, n):
        target = signal[t - 1]
        if target != position:
            price = fill_price[t]
            if position != 0:
                cash = exit_position(cash, shares, price, fee, slippage)
                trades[count - 1, 1] = t
                trades[count - 1, 4] = price * (1.0 - slippage * position)
                trades[count - 1, 7] = cash
                shares = 0.0
            if target != 0:
                entry_equity = cash
                cash, shares = enter_position(cash, target, price, fee, slippage)
                if shares != 0.0:
                    _open_trade(trades[count], t, target, price * (1.0 + slippage * target))
                    trades[count, 5] = abs(shares)
                    trades[count, 6] = entry_equity
                    count += 1
            position = 1 if shares > 0.0 else (-1 if shares < 0.0 else 0)
        positions[t] = position
        equity[t] = cash + shares * close[t]
    if position != 0:
        trades[count - 1, 1] = n - 1
        trades[count - 1, 4] = close[n - 1]
        trades[count - 1, 7] = equity[n - 1]
    return positions, equity, trades[:count].copy()
