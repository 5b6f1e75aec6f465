"""Grid backtest throughput: our engine against vectorbt on the same 100,000-bar series.

Both simulate every cell of the same grids (thresholds × z-limits × regime filters ×
modes) on one synthetic minute series with a planted predictive feature, fees and
slippage, and compute per cell the total return, trade count, position changes and
Sharpe ratio. vectorbt is used as a user would: the signals of a chunk of cells as
boolean arrays, ``Portfolio.from_signals`` (all-in, both directions, fill at the next
open), then its own ``total_return``, ``orders.count``, ``positions.count`` and
``sharpe_ratio``. Its columns go in chunks of ``--chunk`` cells (default 140) with a
garbage collection after each, so that its bars × cells arrays fit in memory. JIT
compilation is excluded for both by a warm-up run on a small grid. Before any figure
is printed the two must agree: total return to 1e-9 (relative), position changes and
trade counts exactly, Sharpe to 1e-9 where both are finite.

    .venv/bin/python benchmarks/bench_backtest.py                  # 140, 1,400, 14,000
    .venv/bin/python benchmarks/bench_backtest.py --sizes 140 1400
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

from strategy_factory.backtest import Execution, Market, StrategyGrid, simulate_grid
from strategy_factory.data import regime_path, synthetic_bars
from strategy_factory.evaluate import metrics_table
from strategy_factory.features import volatility_zscore

EXECUTION = Execution(fill="next_open", fee_bps=0.5, slippage_bps=0.5)
SHAPES = {140: (7, 5, 4, 1), 1400: (14, 5, 10, 2), 14000: (35, 10, 20, 2)}
FILTERS = [
    None,
    *({"regime_vol": [v]} for v in (0, 1)),
    *({"regime_trend": [v]} for v in (0, 1)),
    *({"regime_session": [v]} for v in (0, 1, 2, 3)),
    *({"regime_vol": [v], "regime_trend": [w]} for v in (0, 1) for w in (0, 1)),
    *({"regime_vol": [v], "regime_session": [0, 1]} for v in (0, 1)),
    *({"regime_trend": [w], "regime_session": [2, 3]} for w in (0, 1)),
    {"regime_session": [1, 2]},
    {"regime_session": [0, 3]},
    {"regime_vol": [0, 1], "regime_trend": [1]},
]


def market(n_bars: int) -> Market:
    """Minute bars with a planted signal, its volatility z-score and three regime columns."""
    bars = synthetic_bars(n_bars, freq="1min", seed=7, planted_strength=0.05)
    close = bars["close"]
    sma = close.rolling(240).mean()
    regimes = pd.DataFrame(
        {
            "regime_vol": regime_path(n_bars, 500.0, 2, 7),
            "regime_trend": np.where(sma.isna(), -1, close > sma),
            "regime_session": bars.index.hour // 6,
        },
        index=bars.index,
        dtype=np.int64,
    )
    predictions = bars["planted"] * 1e-4
    zscore = volatility_zscore(close.to_numpy(), 20, 250)
    return Market("SYN", bars, predictions, zscore=zscore, regimes=regimes)


def grid(size: int, predictions: pd.Series) -> StrategyGrid:
    """The grid of ``size`` cells: thresholds at quantiles of |prediction|, z-limits, filters."""
    n_thresholds, n_z, n_filters, n_modes = SHAPES[size]
    quantiles = np.quantile(np.abs(predictions), np.linspace(0.0, 0.95, n_thresholds))
    z_limits = [None, *np.round(np.linspace(-0.5, 3.0, n_z - 1), 3).tolist()]
    return StrategyGrid(
        thresholds=quantiles.tolist(),
        z_limits=z_limits,
        regime_filters=FILTERS[:n_filters],
        modes=["long_short", "long_only"][:n_modes],
    )


def _signals(market: Market, configs: pd.DataFrame) -> np.ndarray:
    """bars × cells signal matrix, built with NumPy broadcasting from the definitions."""
    prediction = market.predictions.to_numpy()[:, None]
    threshold = configs["threshold"].to_numpy(dtype=np.float64)
    signal = np.sign(prediction) * (np.abs(prediction) > threshold)
    signal[:, (configs["mode"] == "long_only").to_numpy()] = np.maximum(
        signal[:, (configs["mode"] == "long_only").to_numpy()], 0
    )
    zscore = market.zscore_values()[:, None]
    limits = np.array([np.inf if z is None else z for z in configs["z_limit"]])
    with np.errstate(invalid="ignore"):
        signal *= (zscore <= limits) | np.isinf(limits)  # no limit: NaN z-scores trade too
    for column in market.regimes.columns:
        labels = market.regimes[column].to_numpy()[:, None]
        allowed = [(f or {}).get(column) for f in configs["regime_filter"]]
        keep = np.stack(
            [
                np.ones(len(labels), bool) if a is None else np.isin(labels[:, 0], a)
                for a in allowed
            ],
            1,
        )
        signal *= keep
    return signal.astype(np.int8)


def _vectorbt_chunk(close: np.ndarray, open_: np.ndarray, signal: np.ndarray) -> pd.DataFrame:
    held = np.zeros_like(signal)
    held[1:] = signal[:-1]
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries=held == 1,
        exits=held != 1,
        short_entries=held == -1,
        short_exits=held != -1,
        size=np.inf,
        price=open_,
        fees=EXECUTION.fee,
        slippage=EXECUTION.slippage,
        init_cash=1.0,
        freq="1min",
    )
    return pd.DataFrame(
        {
            "total_return": np.asarray(portfolio.total_return()),
            "position_changes": np.asarray(portfolio.orders.count()),
            "trades": np.asarray(portfolio.positions.count()),
            "sharpe": np.asarray(portfolio.sharpe_ratio(year_freq="365.25 days")),
        }
    )


def vectorbt_metrics(market: Market, configs: pd.DataFrame, chunk: int) -> pd.DataFrame:
    """Total return, position changes, trades and Sharpe of every config, chunk by chunk."""
    close = market.bars["close"].to_numpy()[:, None]
    open_ = market.bars["open"].to_numpy()[:, None]
    parts = []
    for start in range(0, len(configs), chunk):
        parts.append(
            _vectorbt_chunk(close, open_, _signals(market, configs[start : start + chunk]))
        )
        # A portfolio's arrays sit in reference cycles: without a collection per chunk the
        # process grows by gigabytes per chunk and a 14,000-cell run does not fit in memory.
        gc.collect()
    return pd.concat(parts, ignore_index=True)


def ours(market: Market, strategy_grid: StrategyGrid) -> pd.DataFrame:
    """Our metrics table of every cell."""
    return metrics_table(simulate_grid(market, strategy_grid, EXECUTION))


def _rss() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


def timed_with_peak_memory(call: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float, int]:
    """Result, seconds and the peak resident memory above the level before the call."""
    baseline, peak, running = _rss(), [0], [True]

    def sample() -> None:
        while running[0]:
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    running[0] = False
    sampler.join()
    return result, seconds, max(peak[0], _rss()) - baseline


def check_identical(mine: pd.DataFrame, theirs: pd.DataFrame) -> None:
    np.testing.assert_allclose(mine["total_return"], theirs["total_return"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(mine["position_changes"], theirs["position_changes"])
    np.testing.assert_array_equal(mine["trades"], theirs["trades"])
    finite = np.isfinite(mine["sharpe"]) & np.isfinite(theirs["sharpe"])
    np.testing.assert_allclose(mine["sharpe"][finite], theirs["sharpe"][finite], rtol=1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=sorted(SHAPES), choices=sorted(SHAPES)
    )
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=140, help="vectorbt columns per call")
    arguments = parser.parse_args()
    data = market(arguments.bars)
    warm = grid(140, data.predictions)
    ours(data, warm)
    vectorbt_metrics(data, ours(data, warm).head(4), arguments.chunk)
    print(
        f"{arguments.bars:,} bars, fee {EXECUTION.fee_bps} bps, slippage "
        f"{EXECUTION.slippage_bps} bps; vectorbt {vbt.__version__} (numba engine) "
        f"in chunks of {arguments.chunk} cells"
    )
    # All of ours first, so that its peak-memory figures are not hidden by pages vectorbt
    # has already made resident.
    grids = {size: grid(size, data.predictions) for size in arguments.sizes}
    mine = {size: timed_with_peak_memory(lambda g=g: ours(data, g)) for size, g in grids.items()}
    for size in arguments.sizes:
        table, our_seconds, our_memory = mine[size]
        theirs, their_seconds, their_memory = timed_with_peak_memory(
            lambda t=table: vectorbt_metrics(data, t, arguments.chunk)
        )
        check_identical(table, theirs)
        print(
            f"{size:>6} strategies: ours {our_seconds:7.3f} s ({size / our_seconds:7.0f}/s, "
            f"peak +{our_memory / 2**20:5.1f} MiB) | vectorbt {their_seconds:7.2f} s "
            f"({size / their_seconds:5.1f}/s, peak +{their_memory / 2**20:6.0f} MiB) | "
            f"ratio {their_seconds / our_seconds:5.1f}x | {int(table['trades'].sum()):,} "
            "trades, identical"
        )


if __name__ == "__main__":
    main()
