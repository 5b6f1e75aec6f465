"""What a backtest is asked to do: the strategy grid, one strategy, and how orders fill.

Each type checks itself once, at construction, and raises :class:`FactoryError` with
a message that says what to fix; the engine behind them trusts what they hold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from strategy_factory.errors import FactoryError

Mode = Literal["long_short", "long_only"]
Fill = Literal["next_open", "next_close"]
MODES: tuple[str, ...] = ("long_short", "long_only")
FILLS: tuple[str, ...] = ("next_open", "next_close")
UNDEFINED_REGIME = -1

RegimeFilter = Mapping[str, tuple[int, ...]]
"""Allowed labels per regime column, e.g. ``{"regime_gmm": (1,)}``; a bar passes when
every named column's label is allowed."""


def normalize_regime_filter(regime_filter: Mapping[str, Sequence[int]] | None) -> dict | None:
    """``regime_filter`` with sorted keys and sorted, de-duplicated integer labels.

    Raises :class:`FactoryError` for an empty filter, an empty label list, a label
    that is not an integer, or the label -1 (undefined, never tradable).
    """
    if regime_filter is None:
        return None
    if not isinstance(regime_filter, Mapping) or not regime_filter:
        raise FactoryError(
            f"regime filter {regime_filter!r} must map regime columns to allowed labels, "
            'e.g. {"regime_gmm": [1]}; use None for no filter'
        )
    normalized: dict[str, tuple[int, ...]] = {}
    for column in sorted(regime_filter):
        labels = regime_filter[column]
        if isinstance(labels, int | str) or not labels:
            raise FactoryError(
                f"regime filter {column!r}: give a non-empty list of allowed labels, got {labels!r}"
            )
        if any(isinstance(v, bool) or not isinstance(v, int) for v in labels):
            raise FactoryError(f"regime filter {column!r}: labels must be integers, got {labels!r}")
        if UNDEFINED_REGIME in labels:
            raise FactoryError(
                f"regime filter {column!r}: label -1 means 'undefined' and is never allowed; "
                "remove it"
            )
        normalized[str(column)] = tuple(sorted({int(v) for v in labels}))
    return normalized


def regime_filter_text(regime_filter: RegimeFilter | None) -> str | None:
    """Canonical JSON of a regime filter (sorted keys and labels), or None."""
    if regime_filter is None:
        return None
    return json.dumps({k: list(v) for k, v in sorted(regime_filter.items())}, sort_keys=True)


def parse_regime_filter(text: str | None) -> dict | None:
    """A regime filter from its JSON text (as written by :func:`regime_filter_text`)."""
    if text is None:
        return None
    try:
        return normalize_regime_filter(json.loads(text))
    except json.JSONDecodeError as exc:
        raise FactoryError(
            f'regime filter {text!r} is not JSON; write it like {{"regime_trend": [0, 1]}}'
        ) from exc


@dataclass(frozen=True)
class Execution:
    """How a signal becomes a position: the fill bar price and the costs of every change.

    ``fill``: ``"next_open"`` (default) fills the signal formed at the close of bar t at
    the open of bar t+1; ``"next_close"`` at the close of bar t+1. ``fee_bps`` is charged
    on the traded notional and ``slippage_bps`` moves the fill price against the trade,
    both in basis points, on every position change (a flip pays for an exit and an entry).
    """

    fill: Fill = "next_open"
    fee_bps: float = 0.0
    slippage_bps: float = 0.0

    def __post_init__(self) -> None:
        if self.fill not in FILLS:
            raise FactoryError(f"unknown fill mode {self.fill!r}; use one of {', '.join(FILLS)}")
        for name in ("fee_bps", "slippage_bps"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise FactoryError(f"{name} must be a finite number >= 0 basis points, got {value}")

    @property
    def fee(self) -> float:
        """The fee as a fraction of the traded notional."""
        return self.fee_bps / 10_000.0

    @property
    def slippage(self) -> float:
        """The slippage as a fraction of the fill price."""
        return self.slippage_bps / 10_000.0


def _check_threshold(value: float) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise FactoryError(f"a threshold is a minimum |prediction| >= 0, got {value!r}")
    return float(value)


def _check_z_limit(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not math.isfinite(value):
        raise FactoryError(f"a z_limit is a finite number or None (no filter), got {value!r}")
    return float(value)


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise FactoryError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class StrategyConfig:
    """One cell of the grid: trade ``ticker`` when ``|prediction| > threshold``, the
    volatility z-score is at most ``z_limit`` (None: no limit) and the regime filter
    allows the bar (None: every bar), long and short or long only."""

    ticker: str
    threshold: float
    z_limit: float | None = None
    regime_filter: RegimeFilter | None = None
    mode: Mode = "long_short"

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", _check_threshold(self.threshold))
        object.__setattr__(self, "z_limit", _check_z_limit(self.z_limit))
        object.__setattr__(self, "regime_filter", normalize_regime_filter(self.regime_filter))
        _check_mode(self.mode)

    def as_row(self) -> dict[str, Any]:
        """The config columns of a metrics table row."""
        return {
            "ticker": self.ticker,
            "threshold": self.threshold,
            "z_limit": self.z_limit,
            "regime_filter": self.regime_filter,
            "mode": self.mode,
        }


def _non_empty(name: str, values: Sequence[Any], example: str) -> tuple[Any, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or len(values) == 0:
        raise FactoryError(f"the grid needs at least one {name}, e.g. {example}; got {values!r}")
    return tuple(values)


@dataclass(frozen=True)
class StrategyGrid:
    """Thresholds × z-limits × regime filters × modes, simulated on every ticker.

    Example::

        StrategyGrid(thresholds=[0.0, 0.01], z_limits=[None, 1.5],
                     regime_filters=[None, {"regime_trend": [1]}], modes=["long_only"])
    """

    thresholds: Sequence[float]
    z_limits: Sequence[float | None] = (None,)
    regime_filters: Sequence[RegimeFilter | None] = (None,)
    modes: Sequence[Mode] = ("long_short",)

    def __post_init__(self) -> None:
        thresholds = _non_empty("threshold", self.thresholds, "thresholds=[0.0, 0.001]")
        z_limits = _non_empty("z_limit", self.z_limits, "z_limits=[None, 2.0]")
        filters = _non_empty("regime filter", self.regime_filters, "regime_filters=[None]")
        modes = _non_empty("mode", self.modes, 'modes=["long_short"]')
        object.__setattr__(self, "thresholds", tuple(_check_threshold(v) for v in thresholds))
        object.__setattr__(self, "z_limits", tuple(_check_z_limit(v) for v in z_limits))
        object.__setattr__(
            self, "regime_filters", tuple(normalize_regime_filter(f) for f in filters)
        )
        object.__setattr__(self, "modes", tuple(_check_mode(m) for m in modes))

    def __len__(self) -> int:
        """Cells per ticker."""
        return (
            len(self.thresholds) * len(self.z_limits) * len(self.regime_filters) * len(self.modes)
        )
