"""Blends: members' signals weighted into one target exposure, traded with the whole account.

A blend holds members (strategies) that each form a signal -1, 0 or 1 at the close of
every bar; with weights ``w[t, i]`` its target exposure is ``x_t = Σ_i w[t, i] · s[t, i]``
(1: the whole equity long, -0.5: half of it short, 2: twice it), filled at the next bar
like a single strategy's signal (:class:`Execution`). The account arithmetic — exits,
entries with a part of the equity, resizes — is described in
:mod:`strategy_factory.backtest.blend_kernel`; a blend of one member with weight 1 is
exactly that member's backtest.

:func:`simulate_blend` keeps every bar and trade of one blend (its weights may change
bar by bar, e.g. per regime). :func:`replay_weight_sets` gives the statistics of many
constant weight sets at once from the members' signals alone, as a :class:`GridStats`
that ``strategy_factory.evaluate.metrics_table`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from strategy_factory.backtest.blend_kernel import blend_path, blend_stats
from strategy_factory.backtest.config import Execution
from strategy_factory.backtest.detail import AccountDetail, trade_frame_of
from strategy_factory.backtest.grid import GridStats, cell_timing, fill_prices
from strategy_factory.backtest.kernel import STAT_NAMES
from strategy_factory.backtest.market import Market
from strategy_factory.backtest.replay_kernel import replay_blends
from strategy_factory.errors import FactoryError

BLEND_FIELDS: tuple[str, ...] = ("exposure", "position", "equity", "returns")
"""The columns of :attr:`BlendDetail.per_bar`."""


@dataclass(frozen=True)
class BlendDetail(AccountDetail):
    """Everything one blend did, bar by bar and trade by trade.

    ``per_bar`` (indexed by timestamp, columns :data:`BLEND_FIELDS`): ``exposure`` the
    target formed at the bar's close, ``position`` the exposure held at its close (the
    previous bar's target once filled; 0 when flat), ``equity`` (starts at 1) and
    ``returns`` (the bar's equity change; 0 on the first bar). ``trades``: the columns of
    :data:`~strategy_factory.backtest.detail.TRADE_COLUMNS`; a trade is a run of held
    exposure of one side (resizes inside it do not end it), ``shares`` are those bought
    or sold short at entry and ``return = exit_equity / entry_equity - 1``. ``stats``:
    one row of a :class:`GridStats` ``stats`` frame for this blend.
    """

    execution: Execution
    per_bar: pd.DataFrame
    trades: pd.DataFrame
    stats: pd.Series

    @property
    def positions(self) -> pd.Series:
        """The side held at each bar's close: -1, 0 or 1 (as a strategy's positions)."""
        return np.sign(self.per_bar["position"]).astype(np.int8)


def _market(bars: pd.DataFrame, ticker: str) -> Market:
    """The bars, checked as a market's; the members' signals stand in for predictions."""
    if not isinstance(bars, pd.DataFrame):
        raise FactoryError(f"bars must be a DataFrame of OHLC bars, got {type(bars).__name__}")
    return Market(ticker, bars, pd.Series(0.0, index=bars.index))


def _check_signals(signals: np.ndarray, n_bars: int) -> np.ndarray:
    values = np.asarray(signals)
    if values.ndim != 2 or values.shape[0] != n_bars or values.shape[1] == 0:
        raise FactoryError(
            f"signals must be (bars × members): one row per bar ({n_bars}) and a column per "
            f"member; got shape {values.shape}"
        )
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_):
        raise FactoryError(f"signals must be the numbers -1, 0 and 1, got dtype {values.dtype}")
    bad = np.argwhere(~np.isin(values, (-1, 0, 1)))
    if bad.size:
        t, i = bad[0]
        raise FactoryError(
            f"signals[{t}, {i}] is {values[t, i].item()!r}: a member's signal is -1 (short), "
            "0 (flat) or 1 (long); take the sign of its predictions"
        )
    return np.ascontiguousarray(values, dtype=np.int8)


def _check_weights(weights: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``weights`` as float64 of ``shape`` (-1: any length >= 1), every weight finite."""
    try:
        values = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FactoryError(f"{name} must be numbers: {exc}") from exc
    fits = values.ndim == len(shape) and all(
        got == want or (want == -1 and got > 0)
        for got, want in zip(values.shape, shape, strict=True)
    )
    if not fits:
        wanted = ", ".join("any" if want == -1 else str(want) for want in shape)
        raise FactoryError(f"{name} must have shape ({wanted}), got {values.shape}")
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        where = ", ".join(map(str, bad[0]))
        raise FactoryError(
            f"{name}[{where}] is {values[tuple(bad[0])]}: every weight must be a finite "
            "number (0 leaves a member out)"
        )
    return np.ascontiguousarray(values)


def _check_active(active: np.ndarray | None, n_bars: int) -> np.ndarray:
    if active is None:
        return np.ones(n_bars, dtype=np.bool_)
    mask = np.asarray(active)
    if mask.dtype != np.bool_ or mask.shape != (n_bars,):
        raise FactoryError(
            f"active must be a boolean mask with one value per bar ({n_bars}), got dtype "
            f"{mask.dtype} and shape {mask.shape} (e.g. market.regime_mask(regime_filter))"
        )
    return np.ascontiguousarray(mask)


def _stats_frame(raw: np.ndarray, market: Market) -> pd.DataFrame:
    """Statistics rows as in :attr:`GridStats.stats`: the kernel's plus timing columns."""
    local = raw[:, [STAT_NAMES.index("drawdown_start"), STAT_NAMES.index("drawdown_end")]]
    cells = {"market": np.zeros(len(raw), dtype=np.int64)}
    timing = cell_timing([market], cells, local.astype(np.int64))
    return pd.concat([pd.DataFrame(raw, columns=list(STAT_NAMES)), timing], axis=1)


def simulate_blend(
    bars: pd.DataFrame,
    signals: np.ndarray,
    weights: np.ndarray,
    execution: Execution | None = None,
) -> BlendDetail:
    """Trade the target exposure ``x_t = Σ_i weights[t, i] · signals[t, i]`` on ``bars``.

    ``signals``: (bars × members) of -1, 0, 1, each member's signal formed at the close
    of bar t. ``weights``: (bars × members), the weight of each member in force at bar t
    (a regime-adaptive blend passes its regime's row at each bar), or (members,) for
    weights that never change.

    Example::

        signals = np.column_stack([config_signal(market, c) for c in members])
        detail = simulate_blend(market.bars, signals, np.full(len(members), 1 / len(members)))
        detail.per_bar[["exposure", "position", "equity"]]
    """
    execution = execution or Execution()
    market = _market(bars, "blend")
    n_bars = len(bars)
    members = _check_signals(signals, n_bars)
    # Constant weights may come as one row: the kernel reads a single row at every bar.
    shape = (members.shape[1],) if np.ndim(weights) == 1 else (n_bars, members.shape[1])
    rows = _check_weights(weights, shape, "weights").reshape(-1, members.shape[1])
    fill, close = fill_prices(bars, execution), bars["close"].to_numpy(dtype=np.float64)
    fee, slippage = execution.fee, execution.slippage
    exposure, position, equity, trades = blend_path(members, rows, fill, close, fee, slippage)
    raw = blend_stats(members, rows, fill, close, market.weeks(), fee, slippage)
    returns = np.zeros_like(equity)
    returns[1:] = equity[1:] / equity[:-1] - 1.0
    index = market.index
    per_bar = pd.DataFrame(
        {"exposure": exposure, "position": position, "equity": equity, "returns": returns},
        index=index,
    )
    trade_frame = trade_frame_of(trades, index, bool(position[-1] != 0.0))
    return BlendDetail(execution, per_bar, trade_frame, _stats_frame(raw[None], market).iloc[0])


def replay_weight_sets(
    bars: pd.DataFrame,
    signals: np.ndarray,
    weight_sets: np.ndarray,
    execution: Execution | None = None,
    active: np.ndarray | None = None,
    *,
    ticker: str = "blend",
) -> GridStats:
    """The statistics of many constant blends of the same members at once.

    ``weight_sets``: (W × members), one blend per row. ``active``: (bars,) booleans, the
    bars where a blend may form a target (0 elsewhere, as a regime filter does in the
    grid); every bar when None. Weight sets run in parallel on the members' signals
    alone; memory grows with the bars, never with weight sets × bars.

    The result's ``configs`` has the columns ``ticker``, ``weight_set`` (the row of
    ``weight_sets``) and ``w0`` … ``w{members-1}``; its ``stats`` are those of
    :func:`~strategy_factory.backtest.grid.simulate_grid` (a one-hot weight set gives
    exactly that member's grid cell). ``GridStats.config`` does not apply to it.

    Example::

        result = replay_weight_sets(market.bars, signals, np.eye(3) * 0.5 + 0.25)
        strategy_factory.evaluate.metrics_table(result).sort_values("sharpe")
    """
    execution = execution or Execution()
    market = _market(bars, ticker)
    n_bars = len(bars)
    members = _check_signals(signals, n_bars)
    sets = _check_weights(weight_sets, (-1, members.shape[1]), "weight_sets")
    # Groups of weight sets are handed to the threads one at a time, so a thread slowed
    # by other work on the machine takes fewer of them (results do not depend on it).
    with numba.parallel_chunksize(1):
        raw = replay_blends(
            members,
            sets,
            _check_active(active, n_bars),
            fill_prices(bars, execution),
            bars["close"].to_numpy(dtype=np.float64),
            market.weeks(),
            execution.fee,
            execution.slippage,
        )
    configs = pd.DataFrame(sets, columns=[f"w{i}" for i in range(sets.shape[1])])
    configs.insert(0, "weight_set", np.arange(len(sets)))
    configs.insert(0, "ticker", ticker)
    return GridStats(configs, _stats_frame(raw, market), execution)
