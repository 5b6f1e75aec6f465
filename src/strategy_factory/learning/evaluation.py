"""How well the meta-model ranks out-of-sample performance, measured on runs it never saw.

Cross-validation is grouped by run (scikit-learn's :class:`GroupKFold`): every row of a
run is in the same fold, so a model is always scored on runs it was not trained on; the
configurations of one run share its data, its models and its market, and splitting them
would score memory, not foresight. The score is Spearman's rank correlation between the
out-of-fold predictions and the realised target, against two baselines:

- **random** — a score that knows nothing: Spearman's ρ of the target with seeded random
  permutations of the predictions (mean about 0; its spread and 95th percentile say how
  far luck goes with this many rows);
- **selection** — the selection-period metric alone (the target's metric on the selection
  period): what ranking by the backtest would give.

Importance is measured per trait, two ways: LightGBM's gain summed over the trait's columns
(of the model trained on every row), and permutation importance — the drop in out-of-fold
ρ when the trait's columns are shuffled together across the held-out rows of each fold.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
from scipy.stats import spearmanr
from sklearn.model_selection import GroupKFold

# Small, regularized trees: a few thousand rows of strongly related configurations.
BOOSTER_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,
    "verbose": -1,
}
BOOSTING_ROUNDS = 150

Folds = list[tuple[np.ndarray, np.ndarray]]


def group_folds(groups: Sequence[str] | np.ndarray, folds: int) -> Folds:
    """(train, test) row positions of at most ``folds`` folds; a group is never split."""
    groups = np.asarray(groups)
    splits = min(folds, len(np.unique(groups)))
    rows = np.zeros((len(groups), 1))
    return list(GroupKFold(n_splits=splits).split(rows, groups=groups))


def fit_booster(X: np.ndarray, y: np.ndarray, seed: int) -> lgb.Booster:
    """A LightGBM regressor of ``y`` on ``X``, deterministic for a given ``seed``."""
    params = {**BOOSTER_PARAMS, "seed": seed}
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=BOOSTING_ROUNDS)


def cross_validate(
    X: np.ndarray, y: np.ndarray, folds: Folds, seed: int
) -> tuple[np.ndarray, list[lgb.Booster]]:
    """Out-of-fold predictions of every row, and the booster of each fold."""
    predictions = np.full(len(y), np.nan)
    boosters = []
    for train, test in folds:
        booster = fit_booster(X[train], y[train], seed)
        predictions[test] = booster.predict(X[test])
        boosters.append(booster)
    return predictions, boosters


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's ρ over the rows where both are defined (NaN with fewer than 3, or when
    either side is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    defined = np.isfinite(a) & np.isfinite(b)
    if defined.sum() < 3 or np.ptp(a[defined]) == 0 or np.ptp(b[defined]) == 0:
        return math.nan
    return float(spearmanr(a[defined], b[defined]).statistic)


def fold_spearmans(scores: np.ndarray, y: np.ndarray, folds: Folds) -> list[float]:
    """ρ of ``scores`` with ``y`` within each test fold."""
    return [spearman(scores[test], y[test]) for _, test in folds]


def random_baseline(y: np.ndarray, permutations: int, seed: int) -> dict[str, float]:
    """Spearman's ρ of ``y`` with random orderings: mean, standard deviation, 95th percentile."""
    rng = np.random.default_rng(seed)
    values = np.array([spearman(rng.permutation(len(y)), y) for _ in range(permutations)])
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)),
        "p95": float(np.quantile(values, 0.95)),
        "permutations": permutations,
    }


def gain_importance(booster: lgb.Booster, column_traits: Sequence[str]) -> dict[str, float]:
    """LightGBM's total gain per trait, as shares summing to 1 (all 0 without any split)."""
    gains = booster.feature_importance(importance_type="gain")
    totals: dict[str, float] = defaultdict(float)
    for trait, gain in zip(column_traits, gains, strict=True):
        totals[trait] += float(gain)
    whole = sum(totals.values())
    return {trait: (gain / whole if whole > 0 else 0.0) for trait, gain in totals.items()}


def permutation_importance(
    boosters: Sequence[lgb.Booster],
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    column_traits: Sequence[str],
    seed: int,
    repeats: int = 2,
) -> dict[str, float]:
    """Drop in out-of-fold ρ when each trait's columns are shuffled (together, so a
    category keeps one level per row) among the held-out rows of every fold."""
    columns: dict[str, list[int]] = defaultdict(list)
    for position, trait in enumerate(column_traits):
        columns[trait].append(position)
    shuffles = [(trait, r) for trait in columns for r in range(repeats)]
    base = np.full(len(y), np.nan)
    shuffled = np.full((len(shuffles), len(y)), np.nan)
    rng = np.random.default_rng(seed)
    for booster, (_, test) in zip(boosters, folds, strict=True):
        held_out = X[test]
        base[test] = booster.predict(held_out)
        # Every shuffled copy of the fold in one matrix: one predict call, not hundreds.
        copies = np.tile(held_out, (len(shuffles), 1))
        for k, (trait, _) in enumerate(shuffles):
            block = slice(k * len(test), (k + 1) * len(test))
            positions = columns[trait]
            copies[block, positions] = held_out[rng.permutation(len(test))][:, positions]
        shuffled[:, test] = booster.predict(copies).reshape(len(shuffles), len(test))
    reference = spearman(base, y)
    drops: dict[str, list[float]] = defaultdict(list)
    for k, (trait, _) in enumerate(shuffles):
        drops[trait].append(reference - spearman(shuffled[k], y))
    return {trait: float(np.mean(values)) for trait, values in drops.items()}
