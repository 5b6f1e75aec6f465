"""Simulate a whole strategy grid in one call: every cell on every ticker, in parallel.

Cell order is ticker, mode, regime filter, z_limit, threshold (threshold fastest). A
cell's signal at bar t is ``sign(prediction_t)`` when ``|prediction_t| > threshold``,
the z-score is at most ``z_limit`` (NaN: stand aside) and every regime column named by
the filter has an allowed label; otherwise flat. Long-only turns short signals flat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from strategy_factory.backtest.config import (
    Execution,
    RegimeFilter,
    StrategyConfig,
    StrategyGrid,
    regime_filter_text,
)
from strategy_factory.backtest.grid_kernel import simulate_cells
from strategy_factory.backtest.kernel import STAT_NAMES
from strategy_factory.backtest.market import Market
from strategy_factory.data import bars_per_year
from strategy_factory.errors import FactoryError

CONFIG_COLUMNS: tuple[str, ...] = ("ticker", "threshold", "z_limit", "regime_filter", "mode")
_YEAR = pd.Timedelta(days=365.25)


@dataclass(frozen=True)
class GridStats:
    """Per-cell sufficient statistics of a simulated grid.

    ``configs`` has the columns :data:`CONFIG_COLUMNS` (``z_limit`` and
    ``regime_filter`` are None where there is no filter); ``stats`` the columns of
    :data:`~strategy_factory.backtest.kernel.STAT_NAMES` plus ``periods_per_year``,
    ``years``, ``drawdown_start_time`` and ``drawdown_end_time``, row for row.
    ``strategy_factory.evaluate.metrics_table`` turns them into metrics.
    ``block_sums``/``block_squares`` (blocks × cells), when asked for, hold the sum and
    sum of squares of each cell's bar returns per block.
    """

    configs: pd.DataFrame
    stats: pd.DataFrame
    execution: Execution
    block_sums: np.ndarray | None = None
    block_squares: np.ndarray | None = None

    def __len__(self) -> int:
        """Number of simulated cells."""
        return len(self.configs)

    def config(self, row: int) -> StrategyConfig:
        """The configuration of cell ``row`` (position, not label)."""
        return StrategyConfig(**self.configs.iloc[row].to_dict())


def as_markets(markets: Market | Sequence[Market]) -> list[Market]:
    """A list of markets with distinct tickers."""
    listed = [markets] if isinstance(markets, Market) else list(markets)
    if not listed:
        raise FactoryError("give at least one market (ticker) to backtest")
    tickers = [m.ticker for m in listed]
    repeated = sorted({t for t in tickers if tickers.count(t) > 1})
    if repeated:
        raise FactoryError(f"ticker(s) {', '.join(repeated)} given more than once")
    return listed


def z_mask(market: Market, z_limit: float | None) -> np.ndarray:
    """Bars a z_limit allows: z <= limit, never where z is NaN (every bar when None)."""
    if z_limit is None:
        return np.ones(len(market.bars), dtype=np.bool_)
    if market.zscore is None:
        raise FactoryError(
            f"z_limit {z_limit} needs a volatility z-score for {market.ticker}; pass zscore= "
            "(e.g. strategy_factory.features.volatility_zscore(close))"
        )
    with np.errstate(invalid="ignore"):
        return market.zscore_values() <= z_limit


def fill_prices(bars: pd.DataFrame, execution: Execution) -> np.ndarray:
    """The raw price every fill on ``bars`` trades at, before slippage."""
    column = "open" if execution.fill == "next_open" else "close"
    return bars[column].to_numpy(dtype=np.float64)


def _cells(n_markets: int, grid: StrategyGrid) -> dict[str, np.ndarray]:
    shape = (
        n_markets,
        len(grid.modes),
        len(grid.regime_filters),
        len(grid.z_limits),
        len(grid.thresholds),
    )
    market, mode, regime, z, threshold = (a.ravel() for a in np.indices(shape))
    return {"market": market, "mode": mode, "regime": regime, "z": z, "threshold": threshold}


def _configs(markets: list[Market], grid: StrategyGrid, cells: dict) -> pd.DataFrame:
    def pick(values: Sequence, index: np.ndarray) -> np.ndarray:
        column = np.empty(len(values), dtype=object)
        column[:] = list(values)
        return column[index]

    return pd.DataFrame(
        {
            "ticker": pick([m.ticker for m in markets], cells["market"]),
            "threshold": np.asarray(grid.thresholds, dtype=np.float64)[cells["threshold"]],
            "z_limit": pick(grid.z_limits, cells["z"]),
            "regime_filter": pick(grid.regime_filters, cells["regime"]),
            "mode": pick(grid.modes, cells["mode"]),
        }
    )


def cell_timing(markets: list[Market], cells: dict, local: np.ndarray) -> pd.DataFrame:
    """Annualization and drawdown timestamps of every cell from its market's index."""
    per_year = np.array([bars_per_year(m.index) for m in markets])
    years = np.array([(m.index[-1] - m.index[0]) / _YEAR for m in markets])
    nanoseconds = np.concatenate([m.index.as_unit("ns").asi8 for m in markets])
    offsets = np.cumsum([0] + [len(m.bars) for m in markets])[cells["market"]]
    return pd.DataFrame(
        {
            "periods_per_year": per_year[cells["market"]],
            "years": years[cells["market"]],
            "drawdown_start_time": pd.to_datetime(nanoseconds[offsets + local[:, 0]], utc=True),
            "drawdown_end_time": pd.to_datetime(nanoseconds[offsets + local[:, 1]], utc=True),
        }
    )


def block_numbers(n_bars: int, blocks: int) -> np.ndarray:
    """Each bar's block: ``blocks`` equal contiguous blocks ending at the last bar; the
    oldest ``n_bars mod blocks`` bars (and every bar when ``blocks`` is 0) are in none (-1)."""
    numbers = np.full(n_bars, -1, dtype=np.int32)
    if blocks > 0:
        size = n_bars // blocks
        numbers[n_bars - size * blocks :] = np.repeat(np.arange(blocks), size)
    return numbers


def weeks_passed(market: Market) -> np.ndarray:
    """Calendar weeks from each bar's predecessor to the bar (int32; 0 at the first bar)."""
    return np.diff(market.weeks(), prepend=market.weeks()[:1]).astype(np.int32)


def simulate_grid(
    markets: Market | Sequence[Market],
    grid: StrategyGrid,
    execution: Execution | None = None,
    blocks: int = 0,
) -> GridStats:
    """Simulate every cell of ``grid`` on every market and return per-cell statistics.

    With ``blocks`` > 0 each market's bars are cut into that many equal blocks (see
    :func:`block_numbers`) and every cell's bar returns are summed per block: the inputs
    of a PBO by CSCV over the grid (``GridStats.block_sums`` / ``block_squares``).

    Example::

        stats = simulate_grid(Market("SP500", bars, predictions, zscore=z),
                              StrategyGrid(thresholds=[0.0, 0.01], z_limits=[None, 1.5]),
                              Execution(fee_bps=1, slippage_bps=1))
        table = strategy_factory.evaluate.metrics_table(stats)
    """
    listed = as_markets(markets)
    cells = _cells(len(listed), grid)
    axes = _Axes(
        np.asarray(grid.thresholds, dtype=np.float64)[cells["threshold"]],
        list(grid.z_limits),
        list(grid.regime_filters),
        np.asarray([m == "long_only" for m in grid.modes])[cells["mode"]],
    )
    return _simulate(listed, cells, axes, _configs(listed, grid, cells), execution, blocks)


def simulate_configs(
    markets: Market | Sequence[Market],
    configs: Sequence[StrategyConfig],
    execution: Execution | None = None,
    blocks: int = 0,
) -> GridStats:
    """Simulate a list of configurations (any mix, not a grid) in one parallel pass.

    Row ``i`` of the result is ``configs[i]``; the statistics are exactly those
    :func:`simulate_grid` gives the same cell.
    """
    listed = as_markets(markets)
    if not configs:
        raise FactoryError("give at least one configuration to simulate")
    tickers = {m.ticker: k for k, m in enumerate(listed)}
    unknown = sorted({c.ticker for c in configs} - set(tickers))
    if unknown:
        raise FactoryError(f"no market for ticker(s) {', '.join(unknown)}")
    z_limits = list(dict.fromkeys(c.z_limit for c in configs))
    texts = [regime_filter_text(c.regime_filter) for c in configs]
    filters = list(dict(zip(texts, (c.regime_filter for c in configs), strict=True)).values())
    filter_number = {text: k for k, text in enumerate(dict.fromkeys(texts))}
    cells = {
        "market": np.array([tickers[c.ticker] for c in configs], dtype=np.int64),
        "z": np.array([z_limits.index(c.z_limit) for c in configs], dtype=np.int64),
        "regime": np.array([filter_number[text] for text in texts], dtype=np.int64),
    }
    axes = _Axes(
        np.array([c.threshold for c in configs], dtype=np.float64),
        z_limits,
        filters,
        np.array([c.mode == "long_only" for c in configs]),
    )
    rows = [c.as_row() for c in configs]
    frame = pd.DataFrame(
        {
            column: pd.Series([row[column] for row in rows], dtype=object)
            for column in CONFIG_COLUMNS
        }
    )
    frame["threshold"] = frame["threshold"].astype(np.float64)
    return _simulate(listed, cells, axes, frame, execution, blocks)


@dataclass(frozen=True)
class _Axes:
    """Per-cell thresholds and long-only flags; the distinct z-limits and regime filters."""

    thresholds: np.ndarray
    z_limits: list[float | None]
    regime_filters: list[RegimeFilter | None]
    long_only: np.ndarray


def _simulate(
    listed: list[Market],
    cells: dict[str, np.ndarray],
    axes: _Axes,
    configs: pd.DataFrame,
    execution: Execution | None,
    blocks: int,
) -> GridStats:
    execution = execution or Execution()
    bounds = np.cumsum([0] + [len(m.bars) for m in listed])
    z_ok = np.stack([np.concatenate([z_mask(m, z) for m in listed]) for z in axes.z_limits])
    regime_ok = np.stack(
        [np.concatenate([m.regime_mask(f) for m in listed]) for f in axes.regime_filters]
    )
    # The kernel lists the bars to trade once per group of cells (one market, mode,
    # regime filter and z-limit) and narrows the list threshold by threshold, two cells
    # at a time: it gets them in a grid's order (market, mode, regime filter, z-limit,
    # threshold), and the rows are put back in the caller's order. Each cell's
    # statistics do not depend on its group or partner.
    order = np.lexsort(
        (axes.thresholds, cells["z"], cells["regime"], axes.long_only, cells["market"])
    )
    # Groups of cells are handed to the threads one at a time, not split in equal halves
    # up front: a thread that shares its core (a writer thread, other work on the
    # machine) then takes fewer groups instead of holding up the whole grid.
    with numba.parallel_chunksize(1):
        sorted_raw, sorted_blocks = simulate_cells(
            np.concatenate([m.predictions.to_numpy(dtype=np.float64) for m in listed]),
            np.concatenate([fill_prices(m.bars, execution) for m in listed]),
            np.concatenate([m.bars["close"].to_numpy(dtype=np.float64) for m in listed]),
            np.concatenate([weeks_passed(m) for m in listed]),
            z_ok,
            regime_ok,
            bounds[:-1].astype(np.int64),
            bounds[1:].astype(np.int64),
            cells["market"][order],
            axes.thresholds[order],
            cells["z"][order],
            cells["regime"][order],
            axes.long_only[order],
            execution.fee,
            execution.slippage,
            np.concatenate([block_numbers(len(m.bars), blocks) for m in listed])
            if blocks
            else None,
            blocks,
        )
    raw, block_stats = np.empty_like(sorted_raw), np.empty_like(sorted_blocks)
    raw[order], block_stats[order] = sorted_raw, sorted_blocks
    stats = pd.DataFrame(raw, columns=list(STAT_NAMES))
    local = raw[:, [STAT_NAMES.index("drawdown_start"), STAT_NAMES.index("drawdown_end")]]
    timing = cell_timing(listed, cells, local.astype(np.int64))
    return GridStats(
        configs,
        pd.concat([stats, timing], axis=1),
        execution,
        block_sums=block_stats[:, :, 0].T if blocks else None,
        block_squares=block_stats[:, :, 1].T if blocks else None,
    )
