"""``factory train``: build features, regimes and target of a symbol, search a model grid,
save the winner and print what it chose, how it validated and what it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.data import catalog
from strategy_factory.cli.output import console, print_json, print_table, print_warning

if TYPE_CHECKING:
    import pandas as pd

    from strategy_factory.models import TrainedModel

Option = typer.Option


def command(
    symbol: Annotated[
        str, Option("--symbol", help="Symbol to train on (see `factory data list`).")
    ],
    algorithm: Annotated[
        str,
        Option(help="ElasticNet, Lasso, Ridge, RandomForest, LightGBM or a sklearn import path."),
    ] = "ElasticNet",
    features: Annotated[
        list[str] | None,
        Option("--features", "-f", help="A feature to use; repeat for more (default: all)."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        Option("--reference", "-r", help="A reference symbol (NASDAQ, VIX, …); repeat for more."),
    ] = None,
    holdout_start: Annotated[
        str | None, Option(help="First bar of the holdout: never seen by training or selection.")
    ] = None,
    horizon: Annotated[int, Option(help="Bars ahead the target looks; also the purge gap.")] = 1,
    transform: Annotated[str, Option(help="Target: log_return or pct_change.")] = "log_return",
    folds: Annotated[int, Option(help="Walk-forward validation folds.")] = 4,
    score: Annotated[str, Option(help="Validation score: r2 or ic.")] = "r2",
    importance: Annotated[
        str, Option(help="auto, coefficient, impurity, permutation or shap.")
    ] = "auto",
    n_jobs: Annotated[int, Option("--n-jobs", help="Parallel fits.")] = 1,
    as_json: Annotated[bool, Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Train a model grid on SYMBOL with purged walk-forward validation and save the best."""
    import pandas as pd

    from strategy_factory.features import default_labelers, label_regimes, make_target
    from strategy_factory.models import DEFAULT_REGIME_CONFIGS, TrainingConfig, save_model, train
    from strategy_factory.settings import get_settings

    store = catalog()
    bars = store.load(symbol)
    references = {name.upper(): store.load(name) for name in reference or []}
    matrix = _feature_matrix(bars, references, features)
    labelers = default_labelers(references)
    config = TrainingConfig.load(
        {
            "symbol": symbol,
            "features": list(matrix.columns),
            "algorithm": algorithm,
            "regime_configs": [c for c in DEFAULT_REGIME_CONFIGS if set(c or {}) <= set(labelers)],
            "target": {"transform": transform, "horizon": horizon},
            "walk_forward": {"folds": folds},
            "data": {"holdout_start": holdout_start},
            "score": score,
            "importance": importance,
        }
    )
    cutoff = config.data.cutoff
    # Regime models are fitted on the bars before the holdout only.
    fit_until = None if cutoff is None else cutoff - pd.Timedelta(1, "ns")
    regimes = label_regimes(bars, references, fit_until, labelers)
    target = make_target(bars, config.target.transform, horizon)
    model = train(matrix, target, regimes, config, n_jobs=n_jobs)
    path = save_model(model, get_settings().models_dir)
    warnings = _warnings(model)
    for warning in warnings:
        print_warning(warning)
    if as_json:
        summary = model.summary()
        summary["validation"] = {k: v for k, v in model.validation.items() if k != "grid"}
        print_json({**summary, "artifact": str(path), "warnings": warnings})
        return
    _print(model)
    console.print(f"saved {path}")


def _warnings(model: TrainedModel) -> list[str]:
    if model.folds_beating_baseline() > 0:
        return []
    folds, score = len(model.validation["folds"]), model.validation["score"]
    return [
        f"the model did not beat the baseline in any of its {folds} validation folds: its "
        f"{score} is 0 or less, or undefined, in every one (a constant prediction scores 0). "
        "It shows no out-of-sample skill; it was saved anyway"
    ]


def _feature_matrix(
    bars: pd.DataFrame, references: dict[str, pd.DataFrame], features: list[str] | None
) -> pd.DataFrame:
    from strategy_factory.features import build_feature_matrix, drop_warm_up

    matrix = drop_warm_up(build_feature_matrix(bars, references, features))
    if features:
        return matrix
    # Calendar fields that never change at this bar frequency (e.g. the hour of daily
    # bars) carry nothing; an explicit --features list is taken as given.
    return matrix.loc[:, matrix.nunique() > 1]


def _print(model: TrainedModel) -> None:
    chosen, validation = model.chosen, model.validation
    console.print(
        f"{model.metadata['algorithm']} on {model.metadata['symbol']}: "
        f"{validation['configurations_tried']} configurations, "
        f"{len(model.features)} features, fingerprint {model.fingerprint[:12]}"
    )
    print_table(
        "Chosen",
        ["regime config", "hyperparameters", f"mean {validation['score']}"],
        [[chosen["regime_config"] or "all bars", _params(chosen["params"]), chosen["score"]]],
    )
    print_table(
        "Validation folds",
        ["train", "validation", "rows (train/validation)", validation["score"]],
        (
            [
                f"{f['train_start'][:10]} → {f['train_end'][:10]}",
                f"{f['validation_start'][:10]} → {f['validation_end'][:10]}",
                f"{f['train_rows']}/{f['validation_rows']}",
                f["score"],
            ]
            for f in validation["folds"]
        ),
    )
    for skipped in validation["skipped"]:
        console.print(f"skipped {skipped['regime_config']}: {skipped['reason']}")
    top = model.importance.top(10)
    print_table(
        f"Top features ({model.importance.method})",
        ["feature", "importance"],
        ([name, round(float(value), 4)] for name, value in top.items()),
    )
    if model.importance.note:
        console.print(model.importance.note)


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
