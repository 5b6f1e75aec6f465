"""Numba kernels: the account arithmetic, its running statistics and one strategy's detail.

Accounting (identical to vectorbt's ``Portfolio.from_signals(size=np.inf,
direction="both")``): the account starts with equity 1. An entry puts the whole equity
into the position: a long buys ``cash / (1 + fee) / (price * (1 + slippage))`` shares,
a short sells ``cash / (price * (1 - slippage) * (1 + fee))`` shares and keeps the
proceeds net of the fee as cash. An exit trades the whole position at the price moved
against it by the slippage and pays the fee on the traded notional. A flip is an exit
then an entry at the same bar's price. Equity is cash plus shares times the close.

The grid kernel (:mod:`~strategy_factory.backtest.grid_kernel`) and the blends keep an
account's running statistics in a :class:`Ledger`. Kernels use
NumPy's error model: Python's checks every division for zero (8 % of the grid's time,
13 % of a blend's); a division by zero, which valid inputs never reach, gives inf/NaN.
"""

from __future__ import annotations

from typing import NamedTuple

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


@numba.njit(cache=True, error_model="numpy")
def exit_position(cash: float, shares: float, price: float, fee: float, slippage: float) -> float:
    """Cash (= equity) after closing ``shares`` at ``price``."""
    if shares > 0.0:
        proceeds = shares * (price * (1.0 - slippage))
        return cash + (proceeds - proceeds * fee)
    cost = -shares * (price * (1.0 + slippage))
    return cash - (cost + cost * fee)


@numba.njit(cache=True, error_model="numpy")
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


@numba.njit(cache=True, error_model="numpy")
def _welford(count: float, mean: float, m2: float, value: float) -> tuple[float, float, float]:
    count += 1.0
    delta = value - mean
    mean += delta / count
    return count, mean, m2 + delta * (value - mean)


@numba.njit(cache=True, error_model="numpy")
def _add_zeros(count: float, mean: float, m2: float, zeros: float) -> tuple[float, float, float]:
    """Welford state after ``zeros`` more values of 0 (weeks without bars)."""
    if zeros <= 0.0:
        return count, mean, m2
    total = count + zeros
    delta = -mean
    return total, mean + delta * zeros / total, m2 + delta * delta * count * zeros / total


@numba.njit(cache=True, error_model="numpy")
def _signal(prediction: float, threshold: float, allowed: bool, long_only: bool) -> int:
    # Branch-free: the sign of a prediction is a coin flip the branch predictor cannot learn.
    signal = int(prediction > threshold) - int(prediction < -threshold and not long_only)
    return signal * int(allowed)


@numba.njit(cache=True, error_model="numpy")
def close_trade(
    stats: np.ndarray, trade_return: float, first: int = _TRADES, step: int = 1
) -> None:
    """Add a finished trade to the running trade statistics in ``stats``.

    They are the seven of :data:`STAT_NAMES` from ``trades`` to ``loss_sum``, at
    ``first``, ``first + step``, …: in a row of statistics by default; replay keeps many
    blends' side by side, ``step`` apart.
    """
    count_at, mean_at, m2_at = first, first + step, first + 2 * step
    wins_at, losses_at = first + 3 * step, first + 5 * step
    count, mean, m2 = _welford(stats[count_at], stats[mean_at], stats[m2_at], trade_return)
    stats[count_at] = count
    stats[mean_at] = mean
    stats[m2_at] = m2
    # Selects, not branches (adding 0.0 changes no sum): whether a trade wins is a coin
    # flip to the branch predictor, and a blend closes trades often.
    win, loss = trade_return > 0.0, trade_return < 0.0
    stats[wins_at] += 1.0 if win else 0.0
    stats[wins_at + step] += trade_return if win else 0.0
    stats[losses_at] += 1.0 if loss else 0.0
    stats[losses_at + step] += trade_return if loss else 0.0


class Ledger(NamedTuple):
    """The running statistics of one account's bars, updated by :func:`mark_bar`.

    Plain scalars passed by value: Numba keeps them in registers through the bar loop.
    Every account simulation (grid cell, blend) keeps its statistics in one of these.
    """

    position: int  # side held at the last close: -1, 0, 1
    bars_in_market: int
    position_changes: int
    previous: float  # equity at the last close
    bar_return: float  # the last bar's equity return
    return_sum: float
    return_sumsq: float
    downside_sumsq: float
    week_sum: float  # P&L of the week still running
    weeks: float  # Welford count, mean and M2 of the finished weeks' P&L
    week_mean: float
    week_m2: float
    peak: float
    peak_bar: int
    underwater: bool
    longest: int  # the longest drawdown so far: its bars and starting bar
    longest_start: int
    max_drawdown: float


@numba.njit(cache=True, error_model="numpy")
def open_ledger() -> Ledger:
    """The ledger of an account that starts flat with equity 1."""
    return Ledger(0, 0, 0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0, False, 0, 0, 0.0)


@numba.njit(cache=True, error_model="numpy")
def _drawdown(ledger: Ledger, t: int, equity: float) -> tuple[float, int, bool, int, int, float]:
    """(peak, peak bar, underwater, longest, longest start, max drawdown) after bar ``t``."""
    peak, peak_bar, underwater = ledger.peak, ledger.peak_bar, ledger.underwater
    longest, longest_start, max_drawdown = ledger.longest, ledger.longest_start, ledger.max_drawdown
    if equity >= peak:
        if underwater and t - peak_bar > longest:
            longest, longest_start = t - peak_bar, peak_bar
        return equity, t, False, longest, longest_start, max_drawdown
    return peak, peak_bar, True, longest, longest_start, min(max_drawdown, equity / peak - 1.0)


@numba.njit(cache=True, error_model="numpy")
def close_weeks(ledger: Ledger, weeks_passed: int) -> tuple[float, float, float, float]:
    """(running week's P&L, weeks, week mean, week M2) once ``weeks_passed`` weeks end.

    The running week enters the Welford statistics and the weeks in between, which had
    no bars, count as P&L 0.
    """
    weeks, week_mean, week_m2 = ledger.weeks, ledger.week_mean, ledger.week_m2
    if weeks_passed == 0:
        return ledger.week_sum, weeks, week_mean, week_m2
    weeks, week_mean, week_m2 = _welford(weeks, week_mean, week_m2, ledger.week_sum)
    return 0.0, *_add_zeros(weeks, week_mean, week_m2, weeks_passed - 1.0)


@numba.njit(cache=True, error_model="numpy")
def mark_bar(
    ledger: Ledger, t: int, equity: float, held: int, changed: bool, weeks_passed: int
) -> Ledger:
    """The ledger after bar ``t`` closes with ``equity``, holding side ``held``.

    ``changed``: the side differs from the previous bar's (the caller knows it at a
    fill; comparing sides on every bar costs the grid ~6 %). ``weeks_passed``: calendar
    weeks from bar t-1 to bar t; weeks in between had no bars and count as P&L 0.
    """
    bar_return = (equity - ledger.previous) / ledger.previous
    week_sum, weeks, week_mean, week_m2 = close_weeks(ledger, weeks_passed)
    return Ledger(
        held,
        ledger.bars_in_market + (held != 0),
        ledger.position_changes + changed,
        equity,
        bar_return,
        ledger.return_sum + bar_return,
        ledger.return_sumsq + bar_return * bar_return,
        ledger.downside_sumsq + min(bar_return, 0.0) ** 2,
        week_sum + bar_return,
        weeks,
        week_mean,
        week_m2,
        *_drawdown(ledger, t, equity),
    )


@numba.njit(cache=True, error_model="numpy")
def settle(stats: np.ndarray, ledger: Ledger, n: int, entry_equity: float) -> None:
    """Write the ledger of ``n`` bars into ``stats``, whose trade statistics are filled.

    A trade still open at the last bar closes at the last equity; a drawdown not
    regained by then ends at the last bar.
    """
    longest, longest_start = ledger.longest, ledger.longest_start
    if ledger.underwater and n - 1 - ledger.peak_bar > longest:
        longest, longest_start = n - 1 - ledger.peak_bar, ledger.peak_bar
    if ledger.position != 0:
        close_trade(stats, ledger.previous / entry_equity - 1.0)
    stats[_WEEKS], stats[_WEEKS + 1], stats[_WEEKS + 2] = _welford(
        ledger.weeks, ledger.week_mean, ledger.week_m2, ledger.week_sum
    )
    stats[0] = n
    stats[1] = ledger.bars_in_market
    stats[2] = ledger.position_changes
    stats[3] = ledger.previous
    stats[4] = ledger.return_sum
    stats[5] = ledger.return_sumsq
    stats[6] = ledger.downside_sumsq
    stats[7] = ledger.max_drawdown
    stats[8] = longest
    stats[9] = longest_start
    stats[10] = longest_start + longest


@numba.njit(cache=True, error_model="numpy")
def side(shares: float) -> int:
    """The side of a holding: 1 long, -1 short, 0 flat."""
    return 1 if shares > 0.0 else (-1 if shares < 0.0 else 0)


@numba.njit(cache=True, error_model="numpy")
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
        close_trade(stats, cash / entry_equity - 1.0)
    if signal != 0:
        entry_equity = cash
        cash, shares = enter_position(cash, signal, price, fee, slippage)
    return cash, shares, entry_equity


@numba.njit(cache=True, error_model="numpy")
def open_trade(row: np.ndarray, bar: int, direction: int, price: float) -> None:
    """Start a trade row (see :data:`TRADE_FIELDS`); its exit fields stay open."""
    row[0] = bar
    row[1] = -1
    row[2] = direction
    row[3] = price
    row[4] = np.nan
    row[7] = np.nan


@numba.njit(cache=True, error_model="numpy")
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
                    open_trade(trades[count], t, target, price * (1.0 + slippage * target))
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
