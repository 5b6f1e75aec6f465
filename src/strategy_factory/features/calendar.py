"""Calendar features of the bar timestamps (UTC), as plain numbers and as points on a circle.

A tree splits on ``dow`` or ``hour`` directly; a linear model needs the sine/cosine
pair, where Sunday sits next to Monday and 23:00 next to 00:00. Intraday features
(hour, minute, time of day) exist only when bars carry a time of day.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from strategy_factory.features.spec import NEEDS_INTRADAY, BarInputs, Feature

_MINUTES_PER_DAY = 24 * 60


def _field(x: BarInputs, name: str) -> np.ndarray:
    return x.cached(f"calendar:{name}", lambda: _read_field(x.index, name))  # type: ignore[return-value]


def _read_field(index: pd.DatetimeIndex, name: str) -> np.ndarray:
    if name == "minute_of_day":
        return np.asarray(index.hour * 60 + index.minute, dtype=np.float64)
    return np.asarray(getattr(index, name), dtype=np.float64)


def _cyclic(x: BarInputs, name: str, period: float, wave: str) -> np.ndarray:
    offset = 1.0 if name == "month" else 0.0
    angle = 2.0 * np.pi * (_field(x, name) - offset) / period
    return np.sin(angle) if wave == "sin" else np.cos(angle)


def _pair(prefix: str, name: str, period: float, needs: frozenset[str], text: str) -> list[Feature]:
    return [
        Feature(
            f"{prefix}_{wave}",
            partial(_cyclic, name=name, period=period, wave=wave),
            0,
            needs,
            description=f"{wave} of {text}",
        )
        for wave in ("sin", "cos")
    ]


_INTRADAY = frozenset({NEEDS_INTRADAY})

CALENDAR_FEATURES: tuple[Feature, ...] = (
    Feature(
        "dow", partial(_field, name="day_of_week"), 0, description="day of week, 0 = Monday (UTC)"
    ),
    *_pair("dow", "day_of_week", 7.0, frozenset(), "the day of week"),
    Feature("month", partial(_field, name="month"), 0, description="month, 1-12"),
    *_pair("month", "month", 12.0, frozenset(), "the month"),
    Feature("hour", partial(_field, name="hour"), 0, _INTRADAY, description="hour, 0-23 (UTC)"),
    Feature("minute", partial(_field, name="minute"), 0, _INTRADAY, description="minute, 0-59"),
    *_pair("tod", "minute_of_day", float(_MINUTES_PER_DAY), _INTRADAY, "the time of day"),
)
