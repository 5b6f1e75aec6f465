"""What a model learns to predict: the return after a bar."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError

TRANSFORMS = ("log_return", "pct_change")


def make_target(
    bars: pd.DataFrame, transform: str = "log_return", horizon: int = 1, column: str = "close"
) -> pd.Series:
    """The return from bar ``t`` to bar ``t + horizon``, stored at ``t`` (NaN for the last ones).

    ``transform`` is ``log_return`` (``log(x[t+h] / x[t])``) or ``pct_change``
    (``x[t+h] / x[t] - 1``) of ``bars[column]``. The target at ``t`` is what happens
    *after* ``t``: it is the label to learn, never a feature.

    Example::

        y = make_target(bars, "log_return", horizon=5)
    """
    if transform not in TRANSFORMS:
        raise FactoryError(f"unknown target transform {transform!r}; use one of {TRANSFORMS}")
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise FactoryError(f"horizon is a whole number of bars >= 1, got {horizon!r}")
    if column not in bars.columns:
        raise FactoryError(
            f"no column {column!r} to build a target from; bars have {', '.join(bars.columns)}"
        )
    if horizon >= len(bars):
        raise FactoryError(f"horizon {horizon} is not shorter than the {len(bars)} bars given")
    values = bars[column].to_numpy(dtype=np.float64)
    later = np.full(values.size, np.nan)
    later[: values.size - horizon] = values[horizon:]
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(later / values) if transform == "log_return" else later / values - 1.0
    return pd.Series(target, index=bars.index, name=f"target_{transform}_{horizon}")
