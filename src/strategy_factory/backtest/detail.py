"""One configuration in full: its signal, positions, equity curve and trade list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.backtest.config import Execution, StrategyConfig
from strategy_factory.backtest.grid import as_markets, fill_prices, z_mask
from strategy_factory.backtest.kernel import TRADE_FIELDS, simulate_signal
from strategy_factory.backtest.market import Market
from strategy_factory.errors import FactoryError

TRADE_COLUMNS: tuple[str, ...] = (
    "entry_time",
    "exit_time",
    "direction",
    "entry_price",
    "exit_price",
    "shares",
    "entry_equity",
    "exit_equity",
    "pnl",
    "return",
    "bars_held",
    "is_open",
)


class AccountDetail:
    """What every account detail offers: ``per_bar`` (indexed by timestamp) has the
    columns ``equity`` and ``returns``, ``trades`` the column ``return``."""

    per_bar: pd.DataFrame
    trades: pd.DataFrame

    @property
    def equity(self) -> pd.Series:
        """Equity at each bar's close (starts at 1)."""
        return self.per_bar["equity"]

    @property
    def returns(self) -> pd.Series:
        """Each bar's equity return (0 on the first bar)."""
        return self.per_bar["returns"]

    @property
    def trade_returns(self) -> np.ndarray:
        """One return per trade, costs included."""
        return self.trades["return"].to_numpy()


@dataclass(frozen=True)
class StrategyDetail(AccountDetail):
    """Everything one configuration did, bar by bar and trade by trade.

    ``per_bar`` (indexed by timestamp): ``signal`` formed at the bar's close (-1, 0, 1),
    ``position`` held at the bar's close, ``equity`` (starts at 1) and ``returns`` (the
    bar's equity change; 0 on the first bar). ``trades``: one row per trade with the
    columns :data:`TRADE_COLUMNS`; prices are the fill prices after slippage, ``pnl`` is
    in equity units (the account starts with 1), ``return = exit_equity / entry_equity
    - 1`` includes the entry and exit costs, and a trade open at the last bar is marked
    at its close (``is_open``).
    """

    config: StrategyConfig
    execution: Execution
    per_bar: pd.DataFrame
    trades: pd.DataFrame

    @property
    def positions(self) -> pd.Series:
        """Position held at each bar's close: -1, 0 or 1."""
        return self.per_bar["position"]


def config_signal(market: Market, config: StrategyConfig) -> np.ndarray:
    """The signal (-1, 0, 1) ``config`` forms at the close of every bar of ``market``."""
    prediction = market.predictions.to_numpy(dtype=np.float64)
    signal = np.where(
        prediction > config.threshold, 1, np.where(prediction < -config.threshold, -1, 0)
    ).astype(np.int8)
    if config.mode == "long_only":
        np.maximum(signal, 0, out=signal)
    signal[~(z_mask(market, config.z_limit) & market.regime_mask(config.regime_filter))] = 0
    return signal


def trade_frame_of(raw: np.ndarray, index: pd.DatetimeIndex, still_open: bool) -> pd.DataFrame:
    fields = dict(zip(TRADE_FIELDS, raw.T, strict=True))
    entry_bar = fields["entry_bar"].astype(np.int64)
    exit_bar = fields["exit_bar"].astype(np.int64)
    is_open = np.zeros(len(raw), dtype=bool)
    if still_open and len(raw):
        is_open[-1] = True
    return pd.DataFrame(
        {
            "entry_time": index[entry_bar],
            "exit_time": index[exit_bar],
            "direction": fields["direction"].astype(np.int8),
            "entry_price": fields["entry_price"],
            "exit_price": fields["exit_price"],
            "shares": fields["shares"],
            "entry_equity": fields["entry_equity"],
            "exit_equity": fields["exit_equity"],
            "pnl": fields["exit_equity"] - fields["entry_equity"],
            "return": fields["exit_equity"] / fields["entry_equity"] - 1.0,
            "bars_held": exit_bar - entry_bar,
            "is_open": is_open,
        }
    )


def simulate_signal_detail(
    bars: pd.DataFrame,
    signal: np.ndarray,
    config: StrategyConfig,
    execution: Execution,
    index: pd.DatetimeIndex,
) -> StrategyDetail:
    """The detail of trading ``signal`` (one -1/0/1 per bar) on ``bars``."""
    positions, equity, trades = simulate_signal(
        np.asarray(signal, dtype=np.int8),
        fill_prices(bars, execution),
        bars["close"].to_numpy(dtype=np.float64),
        execution.fee,
        execution.slippage,
    )
    returns = np.zeros_like(equity)
    returns[1:] = equity[1:] / equity[:-1] - 1.0
    per_bar = pd.DataFrame(
        {"signal": signal, "position": positions, "equity": equity, "returns": returns},
        index=index,
    )
    trade_frame = trade_frame_of(trades, index, bool(positions[-1] != 0))
    return StrategyDetail(config, execution, per_bar, trade_frame)


def simulate_config(
    markets: Market | Sequence[Market],
    config: StrategyConfig,
    execution: Execution | None = None,
) -> StrategyDetail:
    """Simulate one configuration on its ticker and keep every bar and trade.

    Example::

        detail = simulate_config(market, stats.config(0), stats.execution)
        detail.trades[["entry_time", "exit_time", "direction", "return"]]
    """
    by_ticker = {m.ticker: m for m in as_markets(markets)}
    if config.ticker not in by_ticker:
        raise FactoryError(
            f"no market for ticker {config.ticker!r}; have {', '.join(sorted(by_ticker))}"
        )
    market = by_ticker[config.ticker]
    execution = execution or Execution()
    signal = config_signal(market, config)
    return simulate_signal_detail(market.bars, signal, config, execution, market.index)
