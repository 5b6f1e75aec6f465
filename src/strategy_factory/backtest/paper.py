"""Paper trading: a signal traded forward from a carried account, as the backtest would.

A strategy keeps trading on bars that arrive after its backtest ended. What it carries
from one batch of bars to the next is the backtest's own state at its last bar
(:class:`Account`): cash, signed shares, the side held, the equity, and the signal formed
at that bar's close, which fills at the next bar. :func:`trade_forward` continues from it
with the arithmetic of :func:`~strategy_factory.backtest.kernel.simulate_signal` (the
same entry and exit functions, in the same order), so a backtest cut at any bar and
continued gives the positions, equity and returns of one backtest over the whole span,
to the last bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numba
import numpy as np

from strategy_factory.backtest.config import Execution
from strategy_factory.backtest.kernel import enter_position, exit_position, side
from strategy_factory.errors import FactoryError


@dataclass(frozen=True)
class Account:
    """A paper account at the close of its last bar.

    ``pending``: the signal (-1, 0, 1) formed at that close, filled at the next bar.
    A fresh account is flat with equity 1, as every backtest starts.
    """

    cash: float = 1.0
    shares: float = 0.0
    position: int = 0
    equity: float = 1.0
    pending: int = 0

    def to_json(self) -> dict[str, Any]:
        """The account as plain JSON values (floats round-trip exactly through JSON)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Account:
        """An account from :meth:`to_json`'s values."""
        try:
            return cls(
                cash=float(data["cash"]),
                shares=float(data["shares"]),
                position=int(data["position"]),
                equity=float(data["equity"]),
                pending=int(data["pending"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FactoryError(f"not a paper account ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class PaperBars:
    """What a batch of bars did: position held at each close, equity, bar returns, and
    the account after the last bar."""

    positions: np.ndarray
    equity: np.ndarray
    returns: np.ndarray
    account: Account


@numba.njit(cache=True, error_model="numpy")
def _continue(
    cash: float,
    shares: float,
    position: int,
    pending: int,
    signal: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    fee: float,
    slippage: float,
) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    n = close.size
    positions = np.zeros(n, dtype=np.int8)
    equity = np.empty(n)
    for t in range(n):
        target = pending if t == 0 else signal[t - 1]
        if target != position:
            price = fill_price[t]
            if position != 0:
                cash = exit_position(cash, shares, price, fee, slippage)
                shares = 0.0
            if target != 0:
                cash, shares = enter_position(cash, target, price, fee, slippage)
            position = side(shares)
        positions[t] = position
        equity[t] = cash + shares * close[t]
    return positions, equity, cash, shares, position


def trade_forward(
    account: Account,
    signal: np.ndarray,
    fill_price: np.ndarray,
    close: np.ndarray,
    execution: Execution,
) -> PaperBars:
    """Trade the bars after ``account``'s last bar.

    ``signal[i]`` is formed at the close of new bar ``i`` (the last one stays pending);
    the first new bar fills the account's pending signal. ``fill_price`` is the raw
    price of a fill on each new bar (its open, or its close for next-close fills).
    """
    signal = np.asarray(signal, dtype=np.int8)
    close = np.asarray(close, dtype=np.float64)
    if not (signal.size == close.size == np.size(fill_price)) or close.size == 0:
        raise FactoryError(
            f"trade_forward needs one signal, fill price and close per new bar, got "
            f"{signal.size}, {np.size(fill_price)} and {close.size}"
        )
    positions, equity, cash, shares, position = _continue(
        account.cash,
        account.shares,
        account.position,
        account.pending,
        signal,
        np.asarray(fill_price, dtype=np.float64),
        close,
        execution.fee,
        execution.slippage,
    )
    returns = np.empty_like(equity)
    returns[0] = equity[0] / account.equity - 1.0
    returns[1:] = equity[1:] / equity[:-1] - 1.0
    after = Account(float(cash), float(shares), int(position), float(equity[-1]), int(signal[-1]))
    return PaperBars(positions, equity, returns, after)


def paper_backtest(
    signal: np.ndarray, fill_price: np.ndarray, close: np.ndarray, execution: Execution
) -> PaperBars:
    """A whole backtest of ``signal`` from a fresh account, as :func:`trade_forward` bars.

    The first bar only forms a signal (a backtest holds nothing at its first close), so
    the result covers bars 1 … n-1 and its account is the backtest's at its last bar.
    """
    signal = np.asarray(signal, dtype=np.int8)
    if signal.size < 2:
        raise FactoryError(f"a backtest needs at least 2 bars, got {signal.size}")
    fresh = Account(pending=int(signal[0]))
    return trade_forward(fresh, signal[1:], fill_price[1:], close[1:], execution)
