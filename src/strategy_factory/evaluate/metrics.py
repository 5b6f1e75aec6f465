"""Trade and return metrics as plain functions of arrays, one definition per metric.

Definitions (the metrics table of a simulated grid uses exactly these):

* ``trade_returns``: one return per trade, ``exit_equity / entry_equity - 1`` including
  the entry and exit costs, so they compound to the total return.
* win rate = share of trades with a return > 0; expectancy = mean trade return;
  payoff ratio = mean win / |mean loss|; profit factor = gross profit / gross loss.
* SQN = √n · mean / std (sample std, ddof=1) of trade returns; SQN-100 caps n at 100.
* weekly consistency = std (ddof=1) / mean of weekly P&L, the sum of the bar returns of
  each calendar week (Monday–Sunday, UTC); every week between the first and last bar
  counts, an empty one as 0. When the mean is <= 0 it is +inf (never consistent).
* exposure = share of bars that end in a position; position changes = fills.
* Sharpe = mean / std (ddof=1) of bar returns × √(bars per year); Sortino = mean /
  √mean(min(r, 0)²) × √(bars per year); both over every bar, the first (return 0)
  included, as vectorbt does.
* max drawdown = the worst ``equity / running peak - 1`` (<= 0); max drawdown bars =
  the longest stretch from a peak to the bar that regains it (or to the last bar).
* Calmar = CAGR / |max drawdown| (NaN when there was no drawdown).

Where a value is undefined it is NaN (no trades: win rate, expectancy, profit factor,
SQN; zero variance: Sharpe), never 0, so that no criterion passes on it by accident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from strategy_factory.data import bars_per_year

if TYPE_CHECKING:
    from strategy_factory.backtest import GridStats, StrategyDetail

METRIC_COLUMNS: tuple[str, ...] = (
    "trades",
    "win_rate",
    "expectancy",
    "payoff_ratio",
    "profit_factor",
    "sqn",
    "sqn_100",
    "weekly_consistency",
    "exposure",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_bars",
    "position_changes",
)
SQN_CAP = 100
ArrayLike: TypeAlias = "float | np.ndarray"
_WEEK = pd.Timedelta(days=7)
_YEAR = pd.Timedelta(days=365.25)


def _array(values: np.ndarray | pd.Series | list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def win_rate(trade_returns: np.ndarray) -> float:
    """Share of trades that made money (NaN without trades)."""
    returns = _array(trade_returns)
    return float(np.mean(returns > 0)) if returns.size else np.nan


def expectancy(trade_returns: np.ndarray) -> float:
    """Mean trade return (NaN without trades)."""
    returns = _array(trade_returns)
    return float(np.mean(returns)) if returns.size else np.nan


def ratio_of_sums(gain: ArrayLike, loss: ArrayLike) -> ArrayLike:
    """``gain / |loss|`` with the edge cases of profit factor and payoff ratio.

    No loss: +inf if something was gained, NaN if nothing was; no gain: 0.
    """
    gain, loss = np.asarray(gain, dtype=np.float64), np.abs(np.asarray(loss, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(loss == 0, np.where(gain > 0, np.inf, np.nan), gain / loss)
    return ratio[()]


def profit_factor(trade_returns: np.ndarray) -> float:
    """Gross profit / gross loss of the trade returns."""
    returns = _array(trade_returns)
    return ratio_of_sums(float(returns[returns > 0].sum()), float(returns[returns < 0].sum()))


def payoff_ratio(trade_returns: np.ndarray) -> float:
    """Mean winning trade / |mean losing trade|."""
    returns = _array(trade_returns)
    wins, losses = returns[returns > 0], returns[returns < 0]
    mean_win = float(wins.mean()) if wins.size else 0.0
    mean_loss = float(losses.mean()) if losses.size else 0.0
    return ratio_of_sums(mean_win, mean_loss)


def sqn(trade_returns: np.ndarray, cap: int | None = None) -> float:
    """System Quality Number √n · mean / std (ddof=1); ``cap`` limits n (SQN-100: 100).

    NaN with fewer than 2 trades or identical returns.
    """
    returns = _array(trade_returns)
    if returns.size < 2:
        return np.nan
    std = float(np.std(returns, ddof=1))
    if std == 0:
        return np.nan
    n = returns.size if cap is None else min(returns.size, cap)
    return float(np.sqrt(n) * np.mean(returns) / std)


def sqn_100(trade_returns: np.ndarray) -> float:
    """SQN with the trade count capped at 100, comparable across trade frequencies."""
    return sqn(trade_returns, cap=SQN_CAP)


def weekly_pnl(bar_returns: pd.Series) -> np.ndarray:
    """Sum of bar returns per calendar week (Monday–Sunday, UTC), empty weeks as 0."""
    index = pd.DatetimeIndex(bar_returns.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    monday = (index.normalize() - pd.to_timedelta(index.day_of_week, unit="D")).as_unit("ns")
    week = ((monday - monday[0]) // _WEEK).to_numpy(dtype=np.int64)
    return np.bincount(week, weights=_array(bar_returns))


def consistency(count: ArrayLike, mean: ArrayLike, std: ArrayLike) -> ArrayLike:
    """std / mean of weekly P&L: +inf when the mean is <= 0, NaN below 2 weeks."""
    count, mean, std = (np.asarray(v, dtype=np.float64) for v in (count, mean, std))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(mean <= 0, np.inf, np.where(count < 2, np.nan, std / mean))
    return np.where(count == 0, np.nan, value)[()]


def weekly_consistency(bar_returns: pd.Series) -> float:
    """std / mean of weekly P&L (see :func:`weekly_pnl`); lower is steadier."""
    weeks = weekly_pnl(bar_returns)
    std = float(np.std(weeks, ddof=1)) if weeks.size > 1 else np.nan
    return consistency(weeks.size, float(weeks.mean()) if weeks.size else np.nan, std)


def exposure(positions: np.ndarray) -> float:
    """Share of bars that end in a position."""
    return float(np.mean(np.asarray(positions) != 0))


def position_changes(positions: np.ndarray) -> int:
    """Number of bars whose position differs from the previous bar's (starting flat)."""
    held = np.asarray(positions)
    return int(np.count_nonzero(np.diff(held, prepend=0)))


def total_return(equity: np.ndarray) -> float:
    """Last equity over first, minus 1."""
    curve = _array(equity)
    return float(curve[-1] / curve[0] - 1.0)


def cagr(total: ArrayLike, years: ArrayLike) -> ArrayLike:
    """Compound annual growth rate of a ``total`` return earned over ``years`` (-1 if ruined)."""
    total, years = np.asarray(total, dtype=np.float64), np.asarray(years, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.maximum(1.0 + total, 0.0) ** (1.0 / years) - 1.0
    return np.where(years > 0, growth, np.nan)[()]


def calmar(cagr: ArrayLike, max_drawdown: ArrayLike) -> ArrayLike:
    """Calmar ratio: CAGR / |max drawdown|; NaN without a drawdown (max drawdown 0).

    Example: ``calmar(0.12, -0.3)`` is 0.4.
    """
    growth = np.asarray(cagr, dtype=np.float64)
    drawdown = np.asarray(max_drawdown, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(drawdown < 0, growth / -drawdown, np.nan)[()]


def sharpe(bar_returns: np.ndarray, periods_per_year: float) -> float:
    """Annualized Sharpe ratio of bar returns (no risk-free rate); NaN at zero variance."""
    returns = _array(bar_returns)
    if returns.size < 2:
        return np.nan
    std = float(np.std(returns, ddof=1))
    if std == 0:
        return np.nan
    return float(np.mean(returns) / std * np.sqrt(periods_per_year))


def sortino_from(mean: ArrayLike, downside: ArrayLike, periods_per_year: ArrayLike) -> ArrayLike:
    """Sortino ratio from the mean and downside deviation of bar returns."""
    mean, downside = np.asarray(mean, dtype=np.float64), np.asarray(downside, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean / downside * np.sqrt(periods_per_year)
    return np.where(downside == 0, np.where(mean > 0, np.inf, np.nan), ratio)[()]


def sortino(bar_returns: np.ndarray, periods_per_year: float) -> float:
    """Annualized Sortino ratio (downside deviation over every bar, target 0)."""
    returns = _array(bar_returns)
    if returns.size < 2:
        return np.nan
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    return sortino_from(float(np.mean(returns)), downside, periods_per_year)


def max_drawdown(equity: np.ndarray) -> float:
    """Worst peak-to-trough return of the equity curve, <= 0."""
    curve = _array(equity)
    return float(np.min(curve / np.maximum.accumulate(curve) - 1.0))


def drawdown_stretch(equity: np.ndarray) -> tuple[int, int]:
    """(start, end) bar of the longest stretch below a previous peak; (0, 0) if none."""
    curve = _array(equity)
    peaks = np.maximum.accumulate(curve)
    is_high = curve >= peaks
    last_high = np.maximum.accumulate(np.where(is_high, np.arange(curve.size), 0))
    # A stretch ends on the bar that regains its peak, or on the last bar.
    ends = np.flatnonzero(is_high[1:] & ~is_high[:-1]) + 1
    if not is_high[-1]:
        ends = np.append(ends, curve.size - 1)
    if ends.size == 0:
        return 0, 0
    starts = last_high[ends - 1]
    longest = int(np.argmax(ends - starts))
    return int(starts[longest]), int(ends[longest])


def max_drawdown_bars(equity: np.ndarray) -> int:
    """Bars in the longest drawdown, from its peak to the bar that regains it."""
    start, end = drawdown_stretch(equity)
    return end - start


def strategy_metrics(detail: StrategyDetail) -> dict[str, float]:
    """Every metric of :data:`METRIC_COLUMNS` for one simulated configuration."""
    trade_returns = detail.trade_returns
    equity = detail.equity.to_numpy()
    index = pd.DatetimeIndex(detail.per_bar.index)
    per_year = bars_per_year(index)
    total = total_return(equity)
    start, end = drawdown_stretch(equity)
    return {
        "trades": len(trade_returns),
        "win_rate": win_rate(trade_returns),
        "expectancy": expectancy(trade_returns),
        "payoff_ratio": payoff_ratio(trade_returns),
        "profit_factor": profit_factor(trade_returns),
        "sqn": sqn(trade_returns),
        "sqn_100": sqn_100(trade_returns),
        "weekly_consistency": weekly_consistency(detail.returns),
        "exposure": exposure(detail.positions.to_numpy()),
        "total_return": total,
        "cagr": cagr(total, (index[-1] - index[0]) / _YEAR),
        "sharpe": sharpe(detail.returns.to_numpy(), per_year),
        "sortino": sortino(detail.returns.to_numpy(), per_year),
        "max_drawdown": max_drawdown(equity),
        "max_drawdown_bars": end - start,
        "position_changes": position_changes(detail.positions.to_numpy()),
        "max_drawdown_duration": index[end] - index[start],
    }


def _sample_std(m2: pd.Series, count: pd.Series) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 1, np.sqrt(np.maximum(m2, 0.0) / (count - 1)), np.nan)


def _sqn_from(count: pd.Series, mean: pd.Series, std: np.ndarray, cap: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(np.minimum(count, cap)) * mean / std
    return np.where((count > 1) & (std > 0), value, np.nan)


def _return_metrics(stats: pd.DataFrame) -> dict[str, np.ndarray]:
    bars, per_year = stats["bars"], stats["periods_per_year"]
    mean = stats["return_sum"] / bars
    variance = np.maximum(stats["return_sumsq"] - stats["return_sum"] * mean, 0.0) / (bars - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe_ratio = np.where(variance > 0, mean / np.sqrt(variance) * np.sqrt(per_year), np.nan)
    total = stats["final_equity"] - 1.0
    return {
        "exposure": stats["bars_in_market"] / bars,
        "total_return": total,
        "cagr": cagr(total, stats["years"]),
        "sharpe": sharpe_ratio,
        "sortino": sortino_from(mean, np.sqrt(stats["downside_sumsq"] / bars), per_year),
        "max_drawdown": stats["max_drawdown"],
        "max_drawdown_bars": stats["max_drawdown_bars"].astype(np.int64),
        "position_changes": stats["position_changes"].astype(np.int64),
    }


def _trade_metrics(stats: pd.DataFrame) -> dict[str, np.ndarray]:
    count, mean = stats["trades"], stats["trade_mean"]
    std = _sample_std(stats["trade_m2"], count)
    wins, losses = stats["wins"], stats["losses"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_win = np.where(wins > 0, stats["win_sum"] / wins, 0.0)
        mean_loss = np.where(losses > 0, stats["loss_sum"] / losses, 0.0)
        return {
            "trades": count.astype(np.int64),
            "win_rate": np.where(count > 0, wins / count, np.nan),
            "expectancy": np.where(count > 0, mean, np.nan),
            "payoff_ratio": ratio_of_sums(mean_win, mean_loss),
            "profit_factor": ratio_of_sums(stats["win_sum"], stats["loss_sum"]),
            "sqn": _sqn_from(count, mean, std, np.inf),
            "sqn_100": _sqn_from(count, mean, std, SQN_CAP),
            "weekly_consistency": consistency(
                stats["weeks"], stats["week_mean"], _sample_std(stats["week_m2"], stats["weeks"])
            ),
        }


def metrics_table(grid: GridStats) -> pd.DataFrame:
    """The metrics of every simulated cell: config columns, then :data:`METRIC_COLUMNS`
    and ``max_drawdown_duration`` (a Timedelta), one row per cell in grid order.

    Example::

        table = metrics_table(simulate_grid(market, grid))
        table.sort_values("sqn", ascending=False).head(10)
    """
    stats = grid.stats
    metrics = {**_trade_metrics(stats), **_return_metrics(stats)}
    table = grid.configs.copy()
    for column in METRIC_COLUMNS:
        table[column] = np.asarray(metrics[column])
    table["max_drawdown_duration"] = stats["drawdown_end_time"] - stats["drawdown_start_time"]
    return table
