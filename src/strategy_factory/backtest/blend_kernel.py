"""Numba kernels of blends: a target exposure traded with the whole account, resized in place.

A blend's target exposure at the close of bar t is ``x_t = Σ_i w[t, i] · s[t, i]`` over
its members' signals ``s`` (-1, 0, 1) and weights ``w``; 1 is the whole equity long,
-0.5 half of it short, 2 twice it (borrowed). Bar t+1 fills ``x_t`` at its fill price
``p``; an unchanged target trades nothing (shares are held, no drift rebalancing). A
changed one:

1. exits the held position fully (:func:`~strategy_factory.backtest.kernel.exit_position`)
   when the target is 0, of the other side, or the account's equity at ``p`` is <= 0
   (a ruined account stays flat);
2. from flat, enters with ``|x|`` of the cash: ``enter_position(|x| · cash)``, the rest
   stays cash — for ``|x| = 1`` exactly the all-in entry of a single strategy;
3. on the same side, resizes to ``x · E / (p (1 ± slippage) (1 + fee))`` shares, ``E``
   the equity at ``p`` (+ for a long, - for a short: the all-in entry's share count),
   buying the difference at ``p (1 + slippage)`` plus the fee or selling it at
   ``p (1 - slippage)`` less the fee.

A trade is a run of held shares of one side: resizing inside it does not end it.

The statistics kernel works in two passes per blend. The fills: only at the bars after
a change of the members' signals (or weights, or the active mask) can the target
change; those bars (shared by every weight set) are visited in turn and the account
after each fill is kept. The marks: every bar's equity from the account of its last
fill, into the same :class:`~strategy_factory.backtest.kernel.Ledger` as a grid cell.
Separating them keeps the unpredictable "did the target change?" branch and the
members' weighted sum out of the loop over every bar (replay took twice as long in one
pass); the numbers are those of one pass, operation for operation.
"""

from __future__ import annotations

import numba
import numpy as np

from strategy_factory.backtest.kernel import (
    STAT_NAMES,
    TRADE_FIELDS,
    close_trade,
    mark_bar,
    open_ledger,
    open_trade,
    settle,
    side,
)


@numba.njit(cache=True, error_model="numpy")
def blend_target(signals: np.ndarray, weights: np.ndarray, t: int, row: int) -> float:
    """The target formed at the close of bar ``t`` with the weights of row ``row``."""
    target = 0.0
    for i in range(signals.shape[1]):
        target += weights[row, i] * signals[t, i]
    return target


@numba.njit(cache=True, error_model="numpy", inline="always")
def resize(
    cash: float, shares: float, target: float, price: float, fee: float, slippage: float
) -> tuple[float, float]:
    """(cash, shares) after resizing a held position to ``target`` on the same side."""
    equity = cash + shares * price
    quote = price * (1.0 + slippage) if target > 0.0 else price * (1.0 - slippage)
    wanted = target * equity / (quote * (1.0 + fee))
    traded = wanted - shares
    # Both outcomes, then a select: whether a resize buys or sells is a coin flip to the
    # branch predictor, and a mispredicted branch cost replay a fifth of its time.
    bought = traded * (price * (1.0 + slippage)) * (1.0 + fee)
    proceeds = -traded * (price * (1.0 - slippage))
    sold = proceeds - proceeds * fee
    return (cash - bought if traded > 0.0 else cash + sold), wanted


@numba.njit(cache=True, error_model="numpy", inline="always")
def resizes(cash: float, shares: float, target: float, price: float) -> bool:
    """Whether moving to ``target`` resizes the held position (rule 3): same side, and
    the account's equity at ``price`` is positive."""
    same_side = ((target > 0.0) & (shares > 0.0)) | ((target < 0.0) & (shares < 0.0))
    return same_side & (cash + shares * price > 0.0)


@numba.njit(cache=True, error_model="numpy", inline="always")
def exit_and_enter(
    cash: float, shares: float, target: float, price: float, fee: float, slippage: float
) -> tuple[float, float, float, float]:
    """(cash, shares, exit equity, entry equity) after exiting what is held and entering
    ``target`` (rules 1 and 2); see :func:`rebalance`.

    ``exit_position`` then ``enter_position(|target| · cash)``, their cases (long or
    short, held or flat, ruined or not) computed side by side and selected: which
    applies is a coin flip to the branch predictor, and replay makes these moves in
    bulk. The numbers are those of the two functions, operation for operation.
    """
    buy, sell = price * (1.0 + slippage), price * (1.0 - slippage)
    long_proceeds, short_cost = shares * sell, -shares * buy
    sold = cash + (long_proceeds - long_proceeds * fee)
    covered = cash - (short_cost + short_cost * fee)
    exited = sold if shares > 0.0 else covered
    flat = exited if shares != 0.0 else cash
    spend = abs(target) * flat
    # A long buys spend / (1 + fee) / buy shares, a short sells spend / (sell (1 + fee)):
    # one division of either numerator by either denominator.
    long = target > 0.0
    count = (spend / (1.0 + fee) if long else spend) / (buy if long else sell * (1.0 + fee))
    short_proceeds = count * sell
    short_cash = spend + (short_proceeds - short_proceeds * fee)
    enters = spend > 0.0  # a ruined account (no equity) stays flat
    entered = (count if long else -count) if enters else 0.0
    kept = (0.0 if long else short_cash) if enters else spend
    moves_in = target != 0.0
    return (
        (flat - spend) + kept if moves_in else flat,
        entered if moves_in else 0.0,
        flat if shares != 0.0 else np.nan,
        flat if moves_in & (entered != 0.0) else np.nan,
    )


@numba.njit(cache=True, error_model="numpy", inline="always")
def rebalance(
    cash: float, shares: float, target: float, price: float, fee: float, slippage: float
) -> tuple[float, float, float, float]:
    """(cash, shares, exit equity, entry equity) after moving to exposure ``target``.

    ``exit equity``: the equity a closed position left, NaN when none closed; ``entry
    equity``: the equity a new position started from, NaN when none opened.
    """
    # The common case first, behind one branch: most changes of a blend's target resize.
    if resizes(cash, shares, target, price):
        cash, shares = resize(cash, shares, target, price, fee, slippage)
        return cash, shares, np.nan, np.nan
    return exit_and_enter(cash, shares, target, price, fee, slippage)


@numba.njit(cache=True, error_model="numpy")
def fill_bars(signals: np.ndarray, weights: np.ndarray, active: np.ndarray) -> np.ndarray:
    """The bars whose fill may change a blend's target, then a sentinel (the bar count).

    Bar 1, and bar t whenever the members' signals, the weights (when ``weights`` has a
    row per bar, not one for all) or ``active`` at bar t-1 differ from bar t-2:
    elsewhere the target is the one already held.
    """
    n = active.size
    per_bar = weights.shape[0] > 1
    fills = np.empty(n + 1, dtype=np.int64)
    fills[0] = 1
    count = 1
    for t in range(2, n):
        changed = active[t - 1] != active[t - 2]
        for i in range(signals.shape[1]):
            changed |= signals[t - 1, i] != signals[t - 2, i]
            changed |= per_bar and weights[t - 1, i] != weights[t - 2, i]
        fills[count] = t
        count += changed
    fills[count] = n
    return fills[: count + 1].copy()


@numba.njit(cache=True, error_model="numpy")
def _fill(
    stats: np.ndarray,
    held_cash: np.ndarray,
    held_shares: np.ndarray,
    signals: np.ndarray,
    weights: np.ndarray,
    fills: np.ndarray,
    fill_price: np.ndarray,
    fee: float,
    slippage: float,
) -> float:
    """Trade one blend at every bar of ``fills`` but the last (a sentinel): with row t-1
    of ``weights`` at bar t, or its only row. The account after fill f goes to
    ``held_cash[f + 1]`` and ``held_shares[f + 1]``, finished trades into ``stats``;
    returns the last entry equity."""
    per_bar = weights.shape[0] > 1
    cash, shares, held_target, entry_equity = 1.0, 0.0, 0.0, 1.0
    held_cash[0], held_shares[0] = 1.0, 0.0
    for f in range(fills.size - 1):
        t = fills[f]
        target = blend_target(signals, weights, t - 1, t - 1 if per_bar else 0)
        if target != held_target:
            cash, shares, exit_equity, new_entry = rebalance(
                cash, shares, target, fill_price[t], fee, slippage
            )
            if not np.isnan(exit_equity):
                close_trade(stats, exit_equity / entry_equity - 1.0)
            if not np.isnan(new_entry):
                entry_equity = new_entry
            held_target = target
        held_cash[f + 1], held_shares[f + 1] = cash, shares
    return entry_equity


@numba.njit(cache=True, error_model="numpy")
def _mark(
    stats: np.ndarray,
    held_cash: np.ndarray,
    held_shares: np.ndarray,
    fills: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    entry_equity: float,
) -> None:
    """Mark every bar of one blend from the account of its last fill; settle ``stats``."""
    ledger = open_ledger()
    f = 0
    for t in range(1, close.size):
        f += fills[f] == t
        held = side(held_shares[f])
        equity = held_cash[f] + held_shares[f] * close[t]
        ledger = mark_bar(ledger, t, equity, held, held != ledger.position, week[t] - week[t - 1])
    settle(stats, ledger, close.size, entry_equity)


@numba.njit(cache=True, error_model="numpy")
def blend_stats(
    signals: np.ndarray,
    weights: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    week: np.ndarray,
    fee: float,
    slippage: float,
) -> np.ndarray:
    """The statistics (see :data:`STAT_NAMES`) of one blend: ``weights`` has a row per
    bar, or one row in force at every bar. (Many constant blends at once:
    :func:`strategy_factory.backtest.replay_kernel.replay_blends`.)"""
    stats = np.zeros(len(STAT_NAMES))
    fills = fill_bars(signals, weights, np.ones(close.size, dtype=np.bool_))
    held_cash, held_shares = np.empty(fills.size), np.empty(fills.size)
    entry_equity = _fill(
        stats, held_cash, held_shares, signals, weights, fills, fill_price, fee, slippage
    )
    _mark(stats, held_cash, held_shares, fills, close, week, entry_equity)
    return stats


@numba.njit(cache=True, error_model="numpy")
def blend_path(
    signals: np.ndarray,
    weights: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    fee: float,
    slippage: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exposure, held exposure, equity and trades of one blend, bar by bar.

    Trades are rows of :data:`TRADE_FIELDS` (``shares``: at entry); one still open at
    the last bar exits at its close without costs (marked, not sold).
    """
    n = close.size
    varying = weights.shape[0] > 1
    exposure = np.empty(n)
    position = np.zeros(n)
    equity = np.ones(n)
    trades = np.empty((n, len(TRADE_FIELDS)))
    count = 0
    cash, shares, held_target = 1.0, 0.0, 0.0
    exposure[0] = blend_target(signals, weights, 0, 0)
    for t in range(1, n):
        exposure[t] = blend_target(signals, weights, t, t if varying else 0)
        if exposure[t - 1] != held_target:
            price, direction = fill_price[t], side(shares)
            cash, shares, exit_equity, new_entry = rebalance(
                cash, shares, exposure[t - 1], price, fee, slippage
            )
            if not np.isnan(exit_equity):
                trades[count - 1, 1] = t
                trades[count - 1, 4] = price * (1.0 - slippage * direction)
                trades[count - 1, 7] = exit_equity
            if not np.isnan(new_entry):
                direction = side(shares)
                open_trade(trades[count], t, direction, price * (1.0 + slippage * direction))
                trades[count, 5] = abs(shares)
                trades[count, 6] = new_entry
                count += 1
            held_target = exposure[t - 1]
        position[t] = held_target if shares != 0.0 else 0.0
        equity[t] = cash + shares * close[t]
    if shares != 0.0:
        trades[count - 1, 1] = n - 1
        trades[count - 1, 4] = close[n - 1]
        trades[count - 1, 7] = equity[n - 1]
    return exposure, position, equity, trades[:count].copy()
