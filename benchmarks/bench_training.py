"""One generation's ElasticNet grid: our path-based search against exhaustive GridSearchCV.

The grid of the original design, 7 absolute alphas × 6 l1_ratios × 7 regime configs =
294 cells, on 100,000 synthetic one-minute bars × 46 features (a planted feature of
strength 0.05, 20 lagged log returns, 25 Gaussian noise columns) with regime labels
that persist (geometric runs of hundreds of bars), scored by rank IC (the default) over 4
purged expanding walk-forward folds. The default grid, alpha ``auto`` (fractions of each
fold's alpha_max, which GridSearchCV cannot express), is timed beside it, ours only.

The peer is scikit-learn as a careful user would write it: a Pipeline (StandardScaler →
ElasticNet) inside a TransformedTargetRegressor (standardized target, predictions in
return units), one GridSearchCV per regime config on that config's rows, with the same
folds as an explicit CV iterable, the same scorer and solver tolerance (tol=1e-8,
max_iter=100,000), refit on all rows, in one job, with BLAS held to one thread as
inside our ``train``. Both run in this process after a
warm-up on a small slice; ours is timed with 1 and with 2 parallel jobs (threads). The
two must choose the same configuration, and their refitted models must predict the
same to 1e-6, or the script fails.

    .venv/bin/python benchmarks/bench_training.py
    .venv/bin/python benchmarks/bench_training.py --rows 20000 --n-jobs 1
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from strategy_factory.data import regime_path, synthetic_bars
from strategy_factory.models import TrainingConfig, fold_model, train, walk_forward_folds
from strategy_factory.models.algorithms import LINEAR_SOLVER
from strategy_factory.models.scoring import scorer

PREFIX = "regressor__model__"
ABSOLUTE_ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0, 50.0, 100.0)
LAGS, NOISE = 20, 25


def frames(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """46 features, the next bar's log return, and four persistent regime label columns."""
    bars = synthetic_bars(rows + LAGS + 1, freq="1min", seed=seed, planted_strength=0.05)
    log_return = np.log(bars["close"]).diff()
    columns = {"planted": bars["planted"]}
    columns |= {f"ret_lag_{k}": log_return.shift(k - 1) for k in range(1, LAGS + 1)}
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((len(bars), NOISE))
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
    return features, target, regimes


def gridsearch(
    features: pd.DataFrame, target: pd.Series, regimes: pd.DataFrame, config: TrainingConfig
) -> dict[str, Any]:
    """The exhaustive peer: one GridSearchCV per regime config; the best across them."""
    index = features.index[: len(features) - config.target.horizon]
    X = features.loc[index, config.features].to_numpy()
    y = target.loc[index].to_numpy()
    folds = walk_forward_folds(index, config.walk_forward, config.target.horizon)
    grid = {f"{PREFIX}{k}": v for k, v in (config.grid or {}).items()}
    best: dict[str, Any] = {"score": -np.inf}
    for regime_config in config.regime_configs:
        mask = np.ones(len(index), dtype=bool)
        for column, labels in (regime_config or {}).items():
            mask &= regimes.loc[index, column].isin(labels).to_numpy()
        rows = np.flatnonzero(mask)
        position = np.full(len(index), -1)
        position[rows] = np.arange(rows.size)
        cv = [
            (position[f.train[mask[f.train]]], position[f.validation[mask[f.validation]]])
            for f in folds
        ]
        search = GridSearchCV(
            fold_model(ElasticNet(**LINEAR_SOLVER)), grid, cv=cv, scoring=scorer(config.score)
        )
        search.fit(X[rows], y[rows])
        if search.best_score_ > best["score"]:
            best = {"score": search.best_score_, "regime_config": regime_config, "search": search}
    params = best["search"].best_params_
    best["params"] = {"alpha": params[f"{PREFIX}alpha"], "l1_ratio": params[f"{PREFIX}l1_ratio"]}
    return best


def timed(run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--n-jobs", type=int, nargs="+", default=[1, 2], help="ours, each timed (peer: 1 job)"
    )
    args = parser.parse_args()

    features, target, regimes = frames(args.rows)
    auto = TrainingConfig(
        symbol="SYN", features=list(features.columns), walk_forward={"folds": args.folds}
    )
    config = auto.model_copy(update={"grid": {**auto.grid, "alpha": list(ABSOLUTE_ALPHAS)}})
    cells = len(config.regime_configs) * len(config.grid["alpha"]) * len(config.grid["l1_ratio"])
    print(
        f"{len(features):,} rows × {len(config.features)} features, {cells} cells, "
        f"{args.folds} folds"
    )

    # Warm-up (imports, first-call costs) on a slice too short for the regime configs.
    warm = slice(0, 5_000)
    small = config.model_copy(update={"regime_configs": [None]})
    for jobs in args.n_jobs:
        train(features[warm], target[warm], regimes[warm], small, jobs)
    gridsearch(features[warm], target[warm], regimes[warm], small)

    ours = {
        jobs: timed(lambda jobs=jobs: train(features, target, regimes, config, jobs))
        for jobs in args.n_jobs
    }
    # The same conditions as ours, which holds BLAS to one thread inside train().
    with threadpool_limits(limits=1, user_api="blas"):
        peer_seconds, peer = timed(lambda: gridsearch(features, target, regimes, config))

    auto_seconds, _ = timed(lambda: train(features, target, regimes, auto, 1))
    for jobs, (seconds, _) in ours.items():
        print(f"ours (paths, n_jobs={jobs}):         {seconds:8.2f} s")
    print(f"ours, default alpha 'auto', n_jobs=1: {auto_seconds:8.2f} s (no peer)")
    print(f"GridSearchCV (exhaustive, 1 job): {peer_seconds:8.2f} s")
    for jobs, (seconds, _) in ours.items():
        print(f"speed-up with n_jobs={jobs}: {peer_seconds / seconds:.1f}×")
    agree = True
    for jobs, (_, model) in ours.items():
        same = model.chosen["regime_config"] == peer["regime_config"] and (
            model.chosen["params"] == peer["params"]
        )
        gap = np.abs(model.predict(features) - peer["search"].predict(features.to_numpy())).max()
        print(
            f"n_jobs={jobs} chose {model.chosen['regime_config']} {model.chosen['params']} "
            f"(score {model.chosen['score']:.6f}); GridSearchCV {peer['regime_config']} "
            f"{peer['params']} ({peer['score']:.6f}): same chosen model {same}, "
            f"max |prediction difference| {gap:.2e}"
        )
        agree = agree and same and gap <= 1e-6
    if not agree:
        raise SystemExit("the two searches disagree")


if __name__ == "__main__":
    main()
