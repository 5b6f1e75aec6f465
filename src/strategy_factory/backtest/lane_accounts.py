"""Several accounts' bars at once: the grid kernel's arithmetic on lanes.

The cells of a group (one market, z-limit, regime filter and mode) see the same bars,
fill prices and filters and differ only in their thresholds, so a few of them run side
by side, one per lane of :mod:`~strategy_factory.backtest.lanes`: every step below is
:func:`~strategy_factory.backtest.kernel.mark_bar`'s and the fills' arithmetic, operation
for operation, on a vector of accounts. Whole numbers (sides, counts, bar numbers) are
kept as floats, exact far beyond any bar count. A fill computes every side and keeps one
by select, as the scalar kernel does, so lanes never diverge.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from strategy_factory.backtest.kernel import STAT_NAMES, Ledger
from strategy_factory.backtest.lanes import (
    Floats,
    Mask,
    add,
    both,
    div,
    eq,
    ge,
    gt,
    lt,
    mul,
    ne,
    neg,
    negate,
    splat,
    sub,
    where,
)

_TRADES = STAT_NAMES.index("trades")


class Holdings(NamedTuple):
    position: Floats  # side held at the last close: -1, 0, 1
    cash: Floats
    shares: Floats
    entry: Floats  # equity when the open trade was entered


class Returns(NamedTuple):
    previous: Floats  # equity at the last close
    bar_return: Floats
    return_sum: Floats
    return_sumsq: Floats
    downside_sumsq: Floats
    bars_in_market: Floats
    position_changes: Floats


class Weeks(NamedTuple):
    week_sum: Floats  # P&L of the week still running
    weeks: Floats  # Welford count, mean and M2 of the finished weeks' P&L
    week_mean: Floats
    week_m2: Floats


class Drawdown(NamedTuple):
    peak: Floats
    peak_bar: Floats
    underwater: Mask
    longest: Floats  # the longest drawdown so far: its bars and starting bar
    longest_start: Floats
    max_drawdown: Floats


class Trades(NamedTuple):
    count: Floats  # Welford count, mean and M2 of the closed trades' returns
    mean: Floats
    m2: Floats
    wins: Floats
    win_sum: Floats
    losses: Floats
    loss_sum: Floats


class Accounts(NamedTuple):
    """The running state of one account per lane (see :class:`~.kernel.Ledger`)."""

    holdings: Holdings
    returns: Returns
    weeks: Weeks
    drawdown: Drawdown
    trades: Trades


@numba.njit(cache=True, error_model="numpy")
def open_accounts(like: Floats) -> Accounts:
    """Accounts that start flat with equity 1, one per lane of ``like``."""
    zero, one = splat(0.0, like), splat(1.0, like)
    return Accounts(
        Holdings(zero, one, zero, one),
        Returns(one, zero, zero, zero, zero, zero, zero),
        Weeks(zero, zero, zero, zero),
        Drawdown(one, zero, splat(False, like), zero, zero, zero),
        Trades(zero, zero, zero, zero, zero, zero, zero),
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _welford(
    count: Floats, mean: Floats, m2: Floats, value: Floats
) -> tuple[Floats, Floats, Floats]:
    count = add(count, splat(1.0, count))
    delta = sub(value, mean)
    mean = add(mean, div(delta, count))
    return count, mean, add(m2, mul(delta, sub(value, mean)))


@numba.njit(cache=True, error_model="numpy")
def close_lane_weeks(weeks: Weeks, weeks_passed: int) -> Weeks:
    """:func:`~strategy_factory.backtest.kernel.close_weeks` in every lane (the same
    ``weeks_passed`` for all: a branch the lanes share)."""
    if weeks_passed == 0:
        return weeks
    count, mean, m2 = _welford(weeks.weeks, weeks.week_mean, weeks.week_m2, weeks.week_sum)
    zero = splat(0.0, count)
    zeros = weeks_passed - 1.0
    if zeros <= 0.0:
        return Weeks(zero, count, mean, m2)
    filler = splat(zeros, count)
    total = add(count, filler)
    delta = neg(mean)
    mean_after = add(mean, div(mul(delta, filler), total))
    m2_after = add(m2, div(mul(mul(mul(delta, delta), count), filler), total))
    return Weeks(zero, total, mean_after, m2_after)


@numba.njit(cache=True, error_model="numpy", inline="always")
def signals(
    prediction: float, threshold: Floats, below: Floats, allowed: bool, long_only: bool
) -> Floats:
    """Each lane's signal (-1, 0, 1) from a prediction (``below``: minus the thresholds)."""
    zero, one = splat(0.0, threshold), splat(1.0, threshold)
    value = splat(prediction, threshold)
    short = both(lt(value, below), splat(not long_only, threshold))
    signal = sub(where(gt(value, threshold), one, zero), where(short, one, zero))
    return where(splat(allowed, threshold), signal, zero)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _close_trades(trades: Trades, closing: Mask, trade_return: Floats) -> Trades:
    zero, one = splat(0.0, trade_return), splat(1.0, trade_return)
    count, mean, m2 = _welford(trades.count, trades.mean, trades.m2, trade_return)
    win = both(closing, gt(trade_return, zero))
    loss = both(closing, lt(trade_return, zero))
    return Trades(
        where(closing, count, trades.count),
        where(closing, mean, trades.mean),
        where(closing, m2, trades.m2),
        add(trades.wins, where(win, one, zero)),
        add(trades.win_sum, where(win, trade_return, zero)),
        add(trades.losses, where(loss, one, zero)),
        add(trades.loss_sum, where(loss, trade_return, zero)),
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def _fill(
    holdings: Holdings, trades: Trades, signal: Floats, price: float, costs: tuple[float, float]
) -> tuple[Holdings, Trades]:
    """The grid kernel's ``_fill`` in every lane: the holdings after it (their side as
    ``kernel.side`` gives it) and the trade statistics with the trade it closed."""
    fee, slippage = costs
    held, cash, shares, entry = holdings
    zero, one = splat(0.0, cash), splat(1.0, cash)
    trading = ne(signal, held)
    exiting = both(trading, ne(held, zero))
    proceeds = mul(shares, splat(price * (1.0 - slippage), cash))
    cost = mul(neg(shares), splat(price * (1.0 + slippage), cash))
    fees = splat(fee, cash)
    exited = where(
        gt(shares, zero),
        add(cash, sub(proceeds, mul(proceeds, fees))),
        sub(cash, add(cost, mul(cost, fees))),
    )
    cash = where(exiting, exited, cash)
    shares = where(exiting, zero, shares)
    trades = _close_trades(trades, exiting, sub(div(cash, entry), one))
    entering = both(trading, ne(signal, zero))
    long_shares = div(div(cash, splat(1.0 + fee, cash)), splat(price * (1.0 + slippage), cash))
    adjusted = price * (1.0 - slippage)
    short_shares = div(cash, splat(adjusted * (1.0 + fee), cash))
    short_proceeds = mul(short_shares, splat(adjusted, cash))
    short_cash = add(cash, sub(short_proceeds, mul(short_proceeds, fees)))
    live = both(entering, gt(cash, zero))
    entry = where(entering, cash, entry)
    long = gt(signal, zero)
    shares = where(live, where(long, long_shares, neg(short_shares)), shares)
    cash = where(live, where(long, zero, short_cash), cash)
    side = where(gt(shares, zero), one, where(lt(shares, zero), neg(one), zero))
    return Holdings(side, cash, shares, entry), trades


@numba.njit(cache=True, error_model="numpy", inline="always")
def _drawdown(drawdown: Drawdown, t: int, equity: Floats) -> Drawdown:
    """``kernel._drawdown`` in every lane, after the skipped flat bars (see the grid
    kernel's ``_peak_until``): at the peak, the peak's bar is the bar before ``t``."""
    peak, peak_bar, underwater, longest, longest_start, max_drawdown = drawdown
    bar = splat(float(t), equity)
    peak_bar = where(underwater, peak_bar, splat(float(t - 1), equity))
    up = ge(equity, peak)
    span = sub(bar, peak_bar)
    longer = both(both(up, underwater), gt(span, longest))
    low = sub(div(equity, peak), splat(1.0, equity))
    return Drawdown(
        where(up, equity, peak),
        where(up, bar, peak_bar),
        negate(up),
        where(longer, span, longest),
        where(longer, peak_bar, longest_start),
        where(up, max_drawdown, where(lt(low, max_drawdown), low, max_drawdown)),
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def trade_bar(
    accounts: Accounts,
    t: int,
    signal: Floats,
    bar: tuple[float, float, int],
    costs: tuple[float, float],
) -> Accounts:
    """Every lane's account after bar ``t`` (``bar``: fill price, close, weeks passed):
    the grid kernel's ``_active_bar``, lane by lane."""
    price, close, weeks_passed = bar
    held = accounts.holdings.position
    holdings, trades = _fill(accounts.holdings, accounts.trades, signal, price, costs)
    now = holdings.position
    equity = add(holdings.cash, mul(holdings.shares, splat(close, signal)))
    before = accounts.returns
    zero, one = splat(0.0, signal), splat(1.0, signal)
    bar_return = div(sub(equity, before.previous), before.previous)
    downside = where(lt(zero, bar_return), zero, bar_return)
    returns = Returns(
        equity,
        bar_return,
        add(before.return_sum, bar_return),
        add(before.return_sumsq, mul(bar_return, bar_return)),
        add(before.downside_sumsq, mul(downside, downside)),
        add(before.bars_in_market, where(ne(now, zero), one, zero)),
        add(before.position_changes, where(ne(now, held), one, zero)),
    )
    weeks = close_lane_weeks(accounts.weeks, weeks_passed)
    weeks = Weeks(add(weeks.week_sum, bar_return), weeks.weeks, weeks.week_mean, weeks.week_m2)
    drawdown = _drawdown(accounts.drawdown, t, equity)
    return Accounts(holdings, returns, weeks, drawdown, trades)


@numba.njit(cache=True, error_model="numpy", inline="always")
def ruined(accounts: Accounts) -> Mask:
    """Lanes whose account is flat with no equity left (they must trade every bar)."""
    holdings = accounts.holdings
    zero = splat(0.0, holdings.cash)
    return both(eq(holdings.position, zero), negate(gt(holdings.cash, zero)))


@numba.njit(cache=True, error_model="numpy")
def lane_account(
    accounts: Accounts, lane: int, stats: np.ndarray
) -> tuple[Ledger, float, float, float]:
    """One lane's (ledger, cash, shares, entry equity); its trade statistics go to
    ``stats`` (a row of :data:`STAT_NAMES`)."""
    trades = accounts.trades
    stats[_TRADES] = trades.count[lane]
    stats[_TRADES + 1] = trades.mean[lane]
    stats[_TRADES + 2] = trades.m2[lane]
    stats[_TRADES + 3] = trades.wins[lane]
    stats[_TRADES + 4] = trades.win_sum[lane]
    stats[_TRADES + 5] = trades.losses[lane]
    stats[_TRADES + 6] = trades.loss_sum[lane]
    held, returns, weeks, drawdown = (
        accounts.holdings,
        accounts.returns,
        accounts.weeks,
        accounts.drawdown,
    )
    ledger = Ledger(
        int(held.position[lane]),
        int(returns.bars_in_market[lane]),
        int(returns.position_changes[lane]),
        returns.previous[lane],
        returns.bar_return[lane],
        returns.return_sum[lane],
        returns.return_sumsq[lane],
        returns.downside_sumsq[lane],
        weeks.week_sum[lane],
        weeks.weeks[lane],
        weeks.week_mean[lane],
        weeks.week_m2[lane],
        drawdown.peak[lane],
        int(drawdown.peak_bar[lane]),
        drawdown.underwater[lane],
        int(drawdown.longest[lane]),
        int(drawdown.longest_start[lane]),
        drawdown.max_drawdown[lane],
    )
    return ledger, held.cash[lane], held.shares[lane], held.entry[lane]
