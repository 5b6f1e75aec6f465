"""Forward tracking: every active promotion keeps trading, on paper, the bars that arrive
after its run's data — the ground truth the rest of the learning layer learns from.

:func:`update_forward` brings each active promotion up to the stored bars. Its first
update replays the promotion's holdout once (:func:`.forward_strategy.begin`); every later
one reads only a fixed warm-up plus the new bars (:mod:`.forward_window`), forms the
promoted configuration's signal exactly as the backtest does (same threshold, z-score
filter, regime filter, mode) and trades it from the carried paper account with the
backtest's own arithmetic (same fill bar, costs on every position change:
:func:`~strategy_factory.backtest.trade_forward`). So the forward results of bars appended
in any number of batches equal one backtest of the whole series over those bars.

Recording is incremental and idempotent: each update is a compare-and-set on the last
processed bar (see :mod:`strategy_factory.store.forward`), so an update with no new bars
writes nothing, and two updates at once record each bar once.

A demoted promotion is not tracked. Its state stays where it stopped; reactivated, it
catches up on every bar since, so its forward record has no holes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.backtest import Account, config_signal, trade_forward
from strategy_factory.backtest.grid import fill_prices
from strategy_factory.data import BarCatalog
from strategy_factory.errors import FactoryError
from strategy_factory.evaluate.metrics import max_drawdown, sharpe
from strategy_factory.learning.forward_strategy import begin, load_strategy
from strategy_factory.learning.forward_window import (
    WARM_UP_BARS,
    ForwardWindow,
    forward_market,
    read_window,
)
from strategy_factory.store import ForwardBar, ForwardState, PromotedModel, Store

DEMOTED = "demoted"


@dataclass(frozen=True)
class PromotionUpdate:
    """What one update did for one promotion: bars added (``first`` … ``last``), the
    bars tracked in all, and where its tracking stands (``status``, ``reason``)."""

    promotion_id: str
    symbol: str
    added: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    bars_tracked: int
    status: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The update as plain JSON values."""
        return {
            "promotion_id": self.promotion_id,
            "symbol": self.symbol,
            "added": self.added,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "bars_tracked": self.bars_tracked,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ForwardReport:
    """One :func:`update_forward` call: an entry per promotion, oldest promotion first."""

    updates: list[PromotionUpdate]

    @property
    def added(self) -> int:
        """Forward bars recorded by this call, over every promotion."""
        return sum(update.added for update in self.updates)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "promotions": [u.to_json() for u in self.updates]}


def update_forward(
    store: Store,
    catalog: BarCatalog,
    promotion_ids: Sequence[str] | None = None,
    warm_up: int = WARM_UP_BARS,
) -> ForwardReport:
    """Bring forward tracking of every promotion (or of ``promotion_ids``) up to the
    stored bars; demoted promotions are reported and left alone.

    A promotion that cannot be tracked (its run's bars changed, its bars were replaced, a
    forward bar lacks a feature) is reported and recorded as ``failed`` with the reason;
    the others go on.
    """
    if isinstance(warm_up, bool) or not isinstance(warm_up, int) or warm_up < 0:
        raise FactoryError(f"warm_up is a number of bars >= 0, got {warm_up!r}")
    if promotion_ids is None:
        promotions = store.promoted.recent(limit=None)[::-1]
    else:
        promotions = [store.promoted.get(i) for i in dict.fromkeys(promotion_ids)]
    return ForwardReport([_update(store, catalog, p, warm_up) for p in promotions])


def _update(
    store: Store, catalog: BarCatalog, promotion: PromotedModel, warm_up: int
) -> PromotionUpdate:
    state = store.forward.get(promotion.id)
    if promotion.status == DEMOTED:
        reason = f"demoted: {promotion.status_reason}; not tracked"
        return _unchanged(promotion, state, DEMOTED, reason)
    try:
        if state is None:
            state = _start(store, promotion)
        return _advance(store, catalog, promotion, state, warm_up)
    except FactoryError as exc:
        if state is not None:
            store.forward.set_status(promotion.id, "failed", str(exc))
        return _unchanged(promotion, state, "failed", str(exc))


def _start(store: Store, promotion: PromotedModel) -> ForwardState:
    start = begin(store, promotion)
    return store.forward.start(
        promotion.id,
        symbol=str(promotion.strategy["ticker"]),
        started_after=start.anchor.to_pydatetime(),
        state=start.state,
        status="tracking",
        status_reason=f"started after the run's last bar, {start.anchor.isoformat()}",
    )


def _advance(
    store: Store, catalog: BarCatalog, promotion: PromotedModel, state: ForwardState, warm_up: int
) -> PromotionUpdate:
    strategy = load_strategy(store, promotion, state.state)
    window = read_window(catalog, strategy, pd.Timestamp(state.last_bar), warm_up)
    _check_anchor(window, state)
    status, reason = window.status()
    new = window.new
    if new.empty:
        if (status, reason) != (state.status, state.status_reason):
            store.forward.set_status(promotion.id, status, reason)
        return _unchanged(promotion, state, status, reason)
    signal = config_signal(forward_market(strategy, window), strategy.config)
    close = new["close"].to_numpy(dtype=np.float64)
    account = Account.from_json(state.state["account"])
    paper = trade_forward(
        account, signal[1:], fill_prices(new, strategy.execution), close, strategy.execution
    )
    bars = [
        ForwardBar(stamp.to_pydatetime(), int(position), float(bar_return))
        for stamp, position, bar_return in zip(
            new.index, paper.positions, paper.returns, strict=True
        )
    ]
    after = {**state.state, "account": paper.account.to_json(), "anchor_close": float(close[-1])}
    won = store.forward.advance(
        promotion.id, after=state.last_bar, bars=bars, state=after, status=status,
        status_reason=reason,
    )  # fmt: skip
    if not won:
        current = store.forward.get(promotion.id) or state
        return _unchanged(promotion, current, current.status, "another update recorded these bars")
    return PromotionUpdate(
        promotion.id, strategy.ticker, len(bars), new.index[0], new.index[-1],
        state.bars_tracked + len(bars), status, reason,
    )  # fmt: skip


def _check_anchor(window: ForwardWindow, state: ForwardState) -> None:
    """The last processed bar must still be the bar it was (its bars not replaced)."""
    expected = state.state.get("anchor_close")
    found = float(window.bars["close"].iloc[window.anchor])
    if expected is not None and found != expected:
        raise FactoryError(
            f"the stored bar of {state.symbol} at {state.last_bar.isoformat()} closes at "
            f"{found!r}, not {expected!r} as when forward tracking processed it: its bars were "
            "replaced (re-imported?), so its forward results describe bars that are gone"
        )


def _unchanged(
    promotion: PromotedModel, state: ForwardState | None, status: str, reason: str
) -> PromotionUpdate:
    last = None if state is None else pd.Timestamp(state.last_bar)
    tracked = 0 if state is None else state.bars_tracked
    symbol = str(promotion.strategy.get("ticker", ""))
    return PromotionUpdate(promotion.id, symbol, 0, None, last, tracked, status, reason)


def forward_results(store: Store, promotion_id: str) -> pd.DataFrame:
    """A promotion's forward bars: ``position`` held at each close and the bar's
    ``return`` (costs included), indexed by timestamp (UTC)."""
    rows = store.forward.results(promotion_id)
    index = pd.DatetimeIndex([row.timestamp for row in rows], name="timestamp")
    index = index.tz_convert("UTC") if len(index) else index.tz_localize("UTC")
    return pd.DataFrame(
        {
            "position": np.array([row.position for row in rows], dtype=np.int8),
            "return": np.array([row.bar_return for row in rows], dtype=np.float64),
        },
        index=index,
    )


def forward_returns(store: Store, promotion_id: str) -> pd.Series:
    """A promotion's forward bar returns (costs included), indexed by timestamp (UTC)."""
    return forward_results(store, promotion_id)["return"]


def forward_summary(store: Store, promotion_id: str) -> dict[str, Any]:
    """A promotion's forward record in figures: bars, total return, Sharpe (annualized with
    its run's bars per year, beside the holdout's), max drawdown, exposure."""
    promotion = store.promoted.get(promotion_id)
    state = store.forward.get(promotion_id)
    results = forward_results(store, promotion_id)
    returns = results["return"].to_numpy()
    equity = np.cumprod(np.concatenate([[1.0], 1.0 + returns]))
    per_year = None if state is None else state.state.get("bars_per_year")
    return {
        "promotion_id": promotion.id,
        "symbol": str(promotion.strategy.get("ticker", "")),
        "promotion_status": promotion.status,
        "status": "not started" if state is None else state.status,
        "reason": "run `factory learn forward`" if state is None else state.status_reason,
        "started_after": None if state is None else _iso(pd.Timestamp(state.started_after)),
        "first": _iso(results.index[0]) if len(results) else None,
        "last": _iso(results.index[-1]) if len(results) else None,
        "bars": len(results),
        "total_return": float(equity[-1] - 1.0),
        "sharpe": sharpe(returns, per_year) if per_year and len(returns) > 1 else None,
        "holdout_sharpe": promotion.holdout_metrics.get("sharpe"),
        "max_drawdown": max_drawdown(equity),
        "exposure": float(np.mean(results["position"] != 0)) if len(results) else None,
    }


def _iso(moment: pd.Timestamp | None) -> str | None:
    return None if moment is None else moment.isoformat()
