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

Per core (``--part per-core``): the grid scoring of ``train`` — fold × regime moments
from one pass, exact elastic-net paths, fast rank IC — against the loop it replaced (one
Gram matrix and ``enet_path`` per fold × regime config, ``training_peer.py``), in CPU
seconds (``time.process_time``) with one job and BLAS held to one thread, interleaved,
median of ``--repeats`` runs; on the synthetic minute data, SP500 and MSFT (every daily
feature, the golden cases of ``tests/models/golden_training.py``). Both must choose the
same configuration. Then each ``--descent-tol`` is timed and must choose the same
configuration with the same fold scores (to 1e-9): the tolerance only decides speed.

    .venv/bin/python benchmarks/bench_training.py
    .venv/bin/python benchmarks/bench_training.py --rows 20000 --n-jobs 1
    .venv/bin/python benchmarks/bench_training.py --part per-core --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

import training_peer

# The golden training cases live with the tests; the benchmark times the same data.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.models.golden_training import synthetic_case

from strategy_factory.data import BarCatalog
from strategy_factory.models import TrainingConfig, fold_model, train, walk_forward_folds
from strategy_factory.models import search as grid_search
from strategy_factory.models.algorithms import LINEAR_SOLVER, resolve_algorithm
from strategy_factory.models.inputs import prepare
from strategy_factory.models.scoring import scorer

PREFIX = "regressor__model__"
ABSOLUTE_ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0, 50.0, 100.0)


def frames(rows: int, seed: int = 7) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """46 features (a planted one, 20 lagged returns, 25 noise columns), the next bar's log
    return, and four persistent regime label columns: the golden tests' synthetic case."""
    case = synthetic_case(rows, seed)
    return case.features, case.target, case.regimes


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


def cpu_seconds(run: Any) -> tuple[float, Any]:
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


def per_core_cases(
    rows: int,
) -> dict[str, tuple[pd.DataFrame, pd.Series, pd.DataFrame, TrainingConfig]]:
    """The synthetic minute data of this benchmark and the two bundled daily golden cases."""
    from tests.models.golden_training import bundled_case

    features, target, regimes = frames(rows)
    cases = {
        f"SYN {rows:,}": (
            features,
            target,
            regimes,
            TrainingConfig(symbol="SYN", features=list(features.columns)),
        )
    }
    catalog = BarCatalog(Path(tempfile.mkdtemp()) / "bars")
    for symbol in ("SP500", "MSFT"):
        case = bundled_case(symbol, catalog)
        cases[symbol] = (case.features, case.target, case.regimes, case.config)
    return cases


def per_core(rows: int, repeats: int, descent_tols: list[float]) -> None:
    """Ours against the enet_path-with-Gram loop per core, and the tolerance sweep."""
    ratios = [
        compare(name, *case, repeats, descent_tols) for name, case in per_core_cases(rows).items()
    ]
    print(f"ratio per core: {', '.join(f'{r:.2f}×' for r in ratios)} (target ≥ 2×)")


def compare(
    name: str,
    features: pd.DataFrame,
    target: pd.Series,
    regimes: pd.DataFrame,
    config: TrainingConfig,
    repeats: int,
    descent_tols: list[float],
) -> float:
    """Print one case's CPU seconds, ours and the loop's; returns the ratio."""
    algorithm = resolve_algorithm(config.algorithm)
    data = prepare(features, target, regimes, config)
    folds = walk_forward_folds(data.index, config.walk_forward, config.target.horizon)
    tol = float(config.params["tol"])

    def ours() -> Any:
        return grid_search.score_grid(data, folds, config, algorithm, 1)

    def peer() -> Any:
        return training_peer.score_grid(data, folds, config, algorithm, tol)

    with threadpool_limits(limits=1, user_api="blas"):
        ours(), peer()  # warm-up: Numba's cache, first calls
        ours_times, peer_times = [], []
        for _ in range(repeats):
            seconds, mine = cpu_seconds(ours)
            ours_times.append(seconds)
            seconds, theirs = cpu_seconds(peer)
            peer_times.append(seconds)
        train_seconds = statistics.median(
            cpu_seconds(lambda: train(features, target, regimes, config))[0] for _ in range(repeats)
        )
    ours_median, peer_median = statistics.median(ours_times), statistics.median(peer_times)
    differences = np.abs(np.nan_to_num(mine.fold_scores - theirs.fold_scores, nan=0.0))
    same_nan = np.array_equal(np.isnan(mine.fold_scores), np.isnan(theirs.fold_scores))
    same = mine.best() == theirs.best() and same_nan
    print(
        f"{name}: {len(data.y):,} rows × {data.X.shape[1]} features, {len(mine.candidates)} "
        f"cells × {len(folds)} folds; CPU s on one core, median of {repeats}: "
        f"ours {ours_median:.3f} s, enet_path-with-Gram loop {peer_median:.3f} s, "
        f"ratio {peer_median / ours_median:.2f}×; whole train (ours) {train_seconds:.3f} s"
    )
    print(
        f"  same chosen configuration {same} ({mine.candidates[mine.best()]}); fold "
        f"scores differing by > 1e-9: {(differences > 1e-9).sum()} of {differences.size} "
        f"(max {differences.max():.1e}: the loop's tol 1e-8 stops short, see the golden test)"
    )
    if not same:
        raise SystemExit(f"{name}: ours and the enet_path loop chose differently")
    sweep(name, ours, mine, descent_tols, repeats)
    return peer_median / ours_median


def sweep(name: str, ours: Any, reference: Any, descent_tols: list[float], repeats: int) -> None:
    """Time each descent tolerance; each must reproduce the choice and the fold scores."""
    default = grid_search.DESCENT_TOL
    try:
        for tol in descent_tols:
            grid_search.DESCENT_TOL = tol
            with threadpool_limits(limits=1, user_api="blas"):
                runs = [cpu_seconds(ours) for _ in range(repeats)]
            scores = runs[0][1]
            gap = np.nanmax(np.abs(scores.fold_scores - reference.fold_scores))
            same = scores.best() == reference.best() and gap <= 1e-9
            print(
                f"  descent tol {tol:.0e}: {statistics.median(r[0] for r in runs):.3f} s, same "
                f"choice and fold scores {same} (max difference {gap:.1e})"
            )
            if not same:
                raise SystemExit(f"{name}: descent tol {tol:g} changed the result")
    finally:
        grid_search.DESCENT_TOL = default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--n-jobs", type=int, nargs="+", default=[1, 2], help="ours, each timed (peer: 1 job)"
    )
    parser.add_argument("--part", choices=["gridsearch", "per-core", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5, help="per-core runs (median)")
    parser.add_argument(
        "--descent-tol", type=float, nargs="*", default=[1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8]
    )
    args = parser.parse_args()
    if args.part in ("per-core", "all"):
        per_core(args.rows, args.repeats, args.descent_tol)
    if args.part in ("gridsearch", "all"):
        against_gridsearch(args.rows, args.folds, args.n_jobs)


def against_gridsearch(rows: int, folds: int, n_jobs: list[int]) -> None:
    """Our path search against an exhaustive GridSearchCV on the 294-cell absolute grid."""
    features, target, regimes = frames(rows)
    auto = TrainingConfig(
        symbol="SYN", features=list(features.columns), walk_forward={"folds": folds}
    )
    config = auto.model_copy(update={"grid": {**auto.grid, "alpha": list(ABSOLUTE_ALPHAS)}})
    cells = len(config.regime_configs) * len(config.grid["alpha"]) * len(config.grid["l1_ratio"])
    print(f"{len(features):,} rows × {len(config.features)} features, {cells} cells, {folds} folds")

    # Warm-up (imports, first-call costs) on a slice too short for the regime configs.
    warm = slice(0, 5_000)
    small = config.model_copy(update={"regime_configs": [None]})
    for jobs in n_jobs:
        train(features[warm], target[warm], regimes[warm], small, jobs)
    gridsearch(features[warm], target[warm], regimes[warm], small)

    ours = {
        jobs: timed(lambda jobs=jobs: train(features, target, regimes, config, jobs))
        for jobs in n_jobs
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
