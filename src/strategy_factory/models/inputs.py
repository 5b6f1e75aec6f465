"""Check the frames handed to training once, and turn them into arrays.

Everything user-facing is checked here, on the rows training may use (so a poisoned
holdout never raises): features present, finite and not constant; target aligned and
finite; regime columns present. Inner code trusts what this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy_factory.errors import FactoryError
from strategy_factory.models.config import RegimeConfig, TrainingConfig


@dataclass(frozen=True)
class TrainingData:
    """The usable rows as arrays: features ``X``, target ``y``, one row mask per regime config."""

    index: pd.DatetimeIndex
    X: np.ndarray
    y: np.ndarray
    regime_masks: tuple[np.ndarray, ...]


def prepare(
    features: pd.DataFrame,
    target: pd.Series,
    regimes: pd.DataFrame | None,
    config: TrainingConfig,
) -> TrainingData:
    """The rows of ``start <= t < cutoff`` minus the last ``horizon`` (their targets reach
    past the cutoff or past the data), checked and converted to float64 arrays."""
    if not isinstance(features.index, pd.DatetimeIndex):
        raise FactoryError("features need a DatetimeIndex of bar timestamps")
    missing = [f for f in config.features if f not in features.columns]
    if missing:
        raise FactoryError(
            f"features {', '.join(missing)} are not columns of the feature frame; "
            f"it has {', '.join(map(str, features.columns[:20]))}"
        )
    usable = _usable_rows(features.index, config)
    frame = features.loc[usable, config.features]
    _check_features(frame)
    y = _aligned(target, frame.index, "target")
    if not np.isfinite(y).all():
        first = frame.index[~np.isfinite(y)][0]
        raise FactoryError(f"the target is missing or infinite at {first.isoformat()}")
    masks = _regime_masks(regimes, frame.index, config.regime_configs)
    X = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    return TrainingData(frame.index, X, y, masks)


def _usable_rows(index: pd.DatetimeIndex, config: TrainingConfig) -> np.ndarray:
    keep = np.ones(len(index), dtype=bool)
    if config.data.start is not None:
        keep &= index >= pd.Timestamp(config.data.start)
    if config.data.cutoff is not None:
        keep &= index < config.data.cutoff
    positions = np.flatnonzero(keep)
    usable = positions[: max(0, positions.size - config.target.horizon)]
    needed = config.min_train_rows + config.walk_forward.folds * config.min_validation_rows
    if usable.size < needed:
        raise FactoryError(
            f"only {usable.size} bars fall in the training range (before the holdout, "
            f"less {config.target.horizon} purged); need at least {needed} for "
            f"{config.walk_forward.folds} folds"
        )
    return index[usable]


def _check_features(frame: pd.DataFrame) -> None:
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise FactoryError(
            f"feature {frame.columns[column]!r} is missing or infinite at "
            f"{frame.index[row].isoformat()} (first such bar); drop the warm-up rows first"
        )
    constant = [c for c, v in zip(frame.columns, values.T, strict=True) if np.ptp(v) == 0]
    if constant:
        raise FactoryError(
            f"features {', '.join(constant)} are constant over the training range; drop them"
        )


def _aligned(values: pd.Series | pd.DataFrame, index: pd.DatetimeIndex, what: str) -> np.ndarray:
    missing = index.difference(values.index)
    if len(missing):
        raise FactoryError(
            f"the {what} is misaligned with the features: it has no row for "
            f"{missing[0].isoformat()} ({len(missing)} feature timestamps missing)"
        )
    return values.reindex(index).to_numpy(dtype=np.float64)


def _regime_masks(
    regimes: pd.DataFrame | None, index: pd.DatetimeIndex, configs: list[RegimeConfig]
) -> tuple[np.ndarray, ...]:
    named = sorted({column for config in configs for column in (config or {})})
    if named and regimes is None:
        raise FactoryError(
            f"the regime configs name {', '.join(named)} but no regime labels were given; "
            "pass the regime frame or regime_configs=[None]"
        )
    absent = [c for c in named if regimes is not None and c not in regimes.columns]
    if absent:
        raise FactoryError(
            f"regime configs name {', '.join(absent)}, not columns of the regime frame "
            f"(it has {', '.join(map(str, regimes.columns)) if regimes is not None else ''})"
        )
    labels = (
        {c: _aligned(regimes[c], index, f"regime column {c!r}") for c in named}
        if regimes is not None
        else {}
    )
    masks = []
    for config in configs:
        mask = np.ones(len(index), dtype=bool)
        for column, allowed in (config or {}).items():
            mask &= np.isin(labels[column], allowed)
        masks.append(mask)
    return tuple(masks)
