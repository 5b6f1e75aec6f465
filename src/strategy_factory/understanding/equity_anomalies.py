"""Anomalies of an equity curve: flat stretches, jumps and gaps in time.

Flagged, not failed: a strategy may sit flat on purpose, but a flat stretch longer than a
bound, a bar whose equity change is far outside the curve's usual moves, or bars missing
in time are what a person should look at before trusting the curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

# MAD of a normal sample × this = its standard deviation.
_MAD_TO_SD = 1.4826


class AnomalyBounds(BaseModel):
    """How long, large or far apart is anomalous."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_flat_bars: int = Field(
        250, ge=2, le=10_000_000, description="Longest run of bars with unchanged equity."
    )
    jump_sigmas: float = Field(
        8.0, gt=0.0, le=1_000.0, description="A bar's move beyond this many robust sds."
    )
    gap_factor: float = Field(
        5.0, gt=1.0, le=1_000.0, description="A time step beyond this many median steps."
    )


@dataclass(frozen=True)
class Anomaly:
    """One flagged stretch of an equity curve."""

    period: str
    kind: str
    start: str
    end: str
    size: float
    detail: str


def equity_anomalies(
    equity: pd.Series, period: str, bounds: AnomalyBounds | None = None
) -> list[Anomaly]:
    """Flat stretches, jumps and gaps of one period's ``equity`` (indexed by time)."""
    bounds = bounds or AnomalyBounds()
    if len(equity) < 3:
        return []
    values = equity.to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(equity.index)
    return [
        *_flat(values, times, period, bounds.max_flat_bars),
        *_jumps(values, times, period, bounds.jump_sigmas),
        *_gaps(times, period, bounds.gap_factor),
    ]


def _flat(values: np.ndarray, times: pd.DatetimeIndex, period: str, bound: int) -> list[Anomaly]:
    unchanged = np.concatenate([[False], np.diff(values) == 0.0])
    # Runs of unchanged bars: each run starts where "unchanged" switches on.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], unchanged.astype(np.int8), [0]])))
    found = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        bars = int(stop - start + 1)  # the bar before the run holds the same equity
        if bars > bound:
            found.append(
                Anomaly(
                    period,
                    "flat",
                    str(times[start - 1]),
                    str(times[stop - 1]),
                    bars,
                    f"equity unchanged for {bars} bars (bound {bound})",
                )
            )
    return found


def _jumps(
    values: np.ndarray, times: pd.DatetimeIndex, period: str, sigmas: float
) -> list[Anomaly]:
    changes = values[1:] / values[:-1] - 1.0
    moving = changes[changes != 0.0]
    if moving.size < 10:
        return []
    scale = _MAD_TO_SD * float(np.median(np.abs(moving - np.median(moving))))
    if scale == 0.0:
        return []
    found = []
    for at in np.flatnonzero(np.abs(changes) > sigmas * scale):
        move = float(changes[at])
        found.append(
            Anomaly(
                period,
                "jump",
                str(times[at]),
                str(times[at + 1]),
                move,
                f"equity moved {move:+.2%} in one bar, {abs(move) / scale:.1f} robust sd "
                f"(bound {sigmas:g})",
            )
        )
    return found


def _gaps(times: pd.DatetimeIndex, period: str, factor: float) -> list[Anomaly]:
    steps = np.diff(times.asi8)
    typical = float(np.median(steps))
    found = []
    for at in np.flatnonzero(steps > factor * typical):
        ratio = float(steps[at]) / typical
        found.append(
            Anomaly(
                period,
                "gap",
                str(times[at]),
                str(times[at + 1]),
                ratio,
                f"{ratio:.1f}× the median time between bars with no bar (bound {factor:g}×)",
            )
        )
    return found
