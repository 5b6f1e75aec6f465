"""The three training cases whose chosen configuration and fold scores are pinned.

SP500 and MSFT daily bars (bundled) with every feature they can feed — the collinear
indicator set a run's seed model trains on — and their regime labels fitted on the
training period; and synthetic one-minute bars as in ``benchmarks/bench_training.py``.
Each is trained with the default grid (ElasticNet, alphas ``auto`` × six l1_ratios ×
the regime configs the data has labels for, four purged folds, rank IC).

Regenerate the stored figures (only when a change is *meant* to alter the choice)::

    .venv/bin/python -m tests.models.golden_training
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from strategy_factory.data import BarCatalog, regime_path, synthetic_bars
from strategy_factory.features import (
    available_features,
    build_feature_matrix,
    label_regimes,
    make_target,
)
from strategy_factory.models import TrainedModel, TrainingConfig
from strategy_factory.models.config import DEFAULT_REGIME_CONFIGS

GOLDEN = Path(__file__).with_name("training_golden.json")
CASES = ("SP500", "MSFT", "SYN")
SYNTHETIC_ROWS, LAGS, NOISE = 30_000, 20, 25
TRAINING_FRACTION = 0.6


@dataclass(frozen=True)
class Case:
    """What ``train`` takes for one pinned case."""

    features: pd.DataFrame
    target: pd.Series
    regimes: pd.DataFrame
    config: TrainingConfig


def bundled_case(symbol: str, catalog: BarCatalog) -> Case:
    """Every feature of a bundled daily symbol; labelers fitted on its first 60% of bars."""
    bars = catalog.load(symbol)
    names = available_features(bars)
    features = build_feature_matrix(bars, None, names)
    first = int(np.argmax(np.isfinite(features.to_numpy()).all(axis=1)))
    holdout_start = bars.index[first + int(TRAINING_FRACTION * (len(bars) - first))]
    train_end = bars.index[bars.index < holdout_start][-1]
    regimes = label_regimes(bars, None, train_end=train_end)
    target = make_target(bars)
    config = TrainingConfig(
        symbol=symbol,
        features=names,
        regime_configs=_labelled(regimes),
        data={"holdout_start": holdout_start.to_pydatetime()},
    )
    return Case(features.iloc[first:], target.iloc[first:], regimes.iloc[first:], config)


def synthetic_case(rows: int = SYNTHETIC_ROWS, seed: int = 7) -> Case:
    """One-minute bars: a planted feature, 20 lagged returns, 25 noise columns (the benchmark)."""
    bars = synthetic_bars(rows + LAGS + 1, freq="1min", seed=seed, planted_strength=0.05)
    log_return = np.log(bars["close"]).diff()
    columns = {"planted": bars["planted"]}
    columns |= {f"ret_lag_{k}": log_return.shift(k - 1) for k in range(1, LAGS + 1)}
    noise = np.random.default_rng(seed).standard_normal((len(bars), NOISE))
    columns |= {f"noise_{k}": pd.Series(noise[:, k], bars.index) for k in range(NOISE)}
    features = pd.DataFrame(columns).iloc[LAGS:]
    target = np.log(bars["close"].shift(-1) / bars["close"]).iloc[LAGS:]
    n = len(bars)
    regimes = pd.DataFrame(
        {
            "regime_gmm": regime_path(n, 800, 3, seed + 1),
            "regime_hmm": regime_path(n, 1500, 2, seed + 2),
            "regime_trend": regime_path(n, 400, 4, seed + 3),
            "regime_vix": regime_path(n, 2000, 4, seed + 4),
        },
        index=bars.index,
    ).iloc[LAGS:]
    config = TrainingConfig(symbol="SYN", features=list(features.columns))
    return Case(features, target, regimes, config)


def _labelled(regimes: pd.DataFrame) -> list[Any]:
    return [c for c in DEFAULT_REGIME_CONFIGS if c is None or set(c) <= set(regimes.columns)]


def load_case(name: str, catalog: BarCatalog) -> Case:
    """The case called ``name`` (one of :data:`CASES`)."""
    return synthetic_case() if name == "SYN" else bundled_case(name, catalog)


def summary(model: TrainedModel) -> dict[str, Any]:
    """What is pinned: the chosen configuration, its fold scores, every cell's fold scores."""
    validation = model.validation
    return {
        "regime_config": model.chosen["regime_config"],
        "params": model.chosen["params"],
        "score": model.chosen["score"],
        "folds": [fold["score"] for fold in validation["folds"]],
        "grid": [
            {key: cell[key] for key in ("regime_config", "params", "folds")}
            for cell in validation["grid"]
        ],
    }


def main() -> None:
    from strategy_factory.models import train

    catalog = BarCatalog(Path(tempfile.mkdtemp()) / "bars")
    stored = {}
    for name in CASES:
        case = load_case(name, catalog)
        stored[name] = summary(train(case.features, case.target, case.regimes, case.config))
        print(name, stored[name]["regime_config"], stored[name]["params"], stored[name]["score"])
    GOLDEN.write_text(_compact(stored))


def _compact(stored: dict[str, Any]) -> str:
    """JSON with one line per grid cell: small enough to read in a diff."""
    lines = ["{"]
    for number, (name, case) in enumerate(stored.items()):
        head = {k: v for k, v in case.items() if k != "grid"}
        lines.append(f'{json.dumps(name)}: {json.dumps(head, allow_nan=False)[:-1]}, "grid": [')
        cells = [json.dumps(cell, allow_nan=False) for cell in case["grid"]]
        lines.append(",\n".join(cells))
        lines.append("]}" + ("," if number < len(stored) - 1 else ""))
    return "\n".join([*lines, "}"]) + "\n"


if __name__ == "__main__":
    main()
