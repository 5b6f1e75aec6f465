"""Signal capture and replay: keep what configurations did, re-run them without a model.

A capture file is Parquet, one row per (configuration, bar): ``config_id``,
``timestamp``, ``ticker``, ``signal`` (formed at the bar's close), ``position`` (held
at the bar's close) and the config columns (``regime_filter`` as JSON text); the
execution settings ride in the file's metadata. Replaying the signals through the same
engine reproduces the positions and every metric, with no predictions, z-scores or
regime labels needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strategy_factory.backtest.config import (
    Execution,
    StrategyConfig,
    StrategyGrid,
    parse_regime_filter,
    regime_filter_text,
)
from strategy_factory.backtest.detail import StrategyDetail, simulate_config
from strategy_factory.backtest.grid import CONFIG_COLUMNS, GridStats, simulate_grid
from strategy_factory.backtest.market import Market, first_mismatch
from strategy_factory.errors import FactoryError

_META_KEY = b"strategy_factory.signal_capture"
CAPTURE_COLUMNS: tuple[str, ...] = (
    "config_id",
    "timestamp",
    "ticker",
    "signal",
    "position",
    "threshold",
    "z_limit",
    "regime_filter",
    "mode",
)


@dataclass(frozen=True)
class CapturedSignals:
    """Signals read back from a capture file, with the execution they were simulated under."""

    frame: pd.DataFrame
    execution: Execution

    def configs(self) -> pd.DataFrame:
        """One row per captured configuration (index ``config_id``), config columns only."""
        first = self.frame.drop_duplicates("config_id").set_index("config_id").sort_index()
        configs = first[list(CONFIG_COLUMNS)].copy()
        configs["regime_filter"] = [
            parse_regime_filter(t) if isinstance(t, str) else None for t in configs["regime_filter"]
        ]
        z_limits = [None if pd.isna(z) else float(z) for z in configs["z_limit"]]
        configs["z_limit"] = pd.Series(z_limits, index=configs.index, dtype=object)
        return configs

    def config(self, config_id: int) -> StrategyConfig:
        """The configuration captured under ``config_id``."""
        configs = self.configs()
        if config_id not in configs.index:
            raise FactoryError(f"no configuration {config_id} in the capture")
        return StrategyConfig(**configs.loc[config_id].to_dict())


def _signal_frame(config_id: int, detail: StrategyDetail) -> pd.DataFrame:
    per_bar = detail.per_bar
    config = detail.config
    frame = pd.DataFrame(
        {
            "config_id": np.full(len(per_bar), config_id, dtype=np.int64),
            "timestamp": per_bar.index,
            "ticker": config.ticker,
            "signal": per_bar["signal"].to_numpy(dtype=np.int8),
            "position": per_bar["position"].to_numpy(dtype=np.int8),
            "threshold": config.threshold,
            "z_limit": np.nan if config.z_limit is None else config.z_limit,
            "regime_filter": regime_filter_text(config.regime_filter),
            "mode": config.mode,
        }
    )
    frame["regime_filter"] = frame["regime_filter"].astype(object)
    return frame


def capture_signals(
    path: str | Path,
    markets: Market | Sequence[Market],
    configs: Sequence[StrategyConfig],
    execution: Execution | None = None,
) -> Path:
    """Simulate ``configs`` and write their signals and positions to a Parquet file.

    Example::

        capture_signals("signals.parquet", market, [stats.config(i) for i in best_rows],
                        stats.execution)
    """
    if not configs:
        raise FactoryError("give at least one configuration to capture")
    execution = execution or Execution()
    frames = [
        _signal_frame(i, simulate_config(markets, config, execution))
        for i, config in enumerate(configs)
    ]
    table = pa.Table.from_pandas(pd.concat(frames, ignore_index=True), preserve_index=False)
    meta = json.dumps({"execution": asdict(execution), "version": 1}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: meta})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def read_signals(path: str | Path) -> CapturedSignals:
    """Read a capture file written by :func:`capture_signals`."""
    path = Path(path)
    if not path.is_file():
        raise FactoryError(f"{path}: no such capture file")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise FactoryError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    meta = (table.schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise FactoryError(f"{path.name}: not a signal capture file (no capture metadata)")
    execution = Execution(**json.loads(meta)["execution"])
    return CapturedSignals(table.to_pandas(), execution)


def _replay_market(config_id: int, rows: pd.DataFrame, bars: Mapping[str, pd.DataFrame]) -> Market:
    ticker = rows["ticker"].iloc[0]
    if ticker not in bars:
        raise FactoryError(f"replay needs the bars of {ticker}; have {', '.join(sorted(bars))}")
    index = pd.DatetimeIndex(rows["timestamp"])
    ticker_bars = bars[ticker]
    missing = index.difference(ticker_bars.index)
    if len(missing):
        raise FactoryError(f"the bars of {ticker} have no bar at {missing[0]} (a captured bar)")
    window = ticker_bars.loc[index[0] : index[-1]]
    where = first_mismatch(window.index, index)
    if where:
        raise FactoryError(f"captured signals of {ticker} skip bars: {where}")
    signal = pd.Series(rows["signal"].to_numpy(dtype=np.float64), index=window.index)
    return Market(f"{ticker}#{config_id}", window, signal)


def replay(
    captured: CapturedSignals,
    bars: Mapping[str, pd.DataFrame],
    execution: Execution | None = None,
) -> GridStats:
    """Re-simulate captured signals on ``bars`` (by ticker); same metrics, no model needed.

    ``execution`` defaults to the one the signals were captured under.
    """
    frame = captured.frame.sort_values(["config_id", "timestamp"], kind="stable")
    configs = captured.configs()
    markets = [_replay_market(i, rows, bars) for i, rows in frame.groupby("config_id", sort=True)]
    # A captured signal is already -1/0/1: trading its sign above threshold 0 is the signal.
    stats = simulate_grid(markets, StrategyGrid(thresholds=[0.0]), execution or captured.execution)
    return GridStats(configs.reset_index(drop=True), stats.stats, stats.execution)
