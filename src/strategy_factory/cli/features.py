"""``factory features``: which features a symbol has, and a first look at them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.data import catalog
from strategy_factory.cli.output import console, moment, print_json, print_table, print_warning
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    import pandas as pd

    from strategy_factory.features import RegimeLabeler

app = typer.Typer(
    help="Features: the indicators a symbol can feed, and how they look.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ReferenceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reference",
        "-r",
        help="A reference symbol (e.g. NASDAQ, VIX) for relative features; repeat for more.",
    ),
]


def _load(
    symbol: str, references: list[str] | None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    store = catalog()
    bars = store.load(symbol)
    return bars, {name: store.load(name) for name in references or []}


@app.command("list")
def list_features(
    symbol: str, reference: ReferenceOption = None, as_json: JsonFlag = False
) -> None:
    """The features SYMBOL (with its references) can feed, with what each one is."""
    from strategy_factory.features import feature_descriptions

    bars, references = _load(symbol, reference)
    described = feature_descriptions(bars, references)
    if as_json:
        print_json([{"name": n, "description": d} for n, d in described.items()])
        return
    print_table(
        f"{len(described)} features of {symbol.upper()}", ["feature", "what"], described.items()
    )


PERIODS = {"train": "training period", "all": "all bars"}
ALL_BARS_WARNING = (
    "--period all includes the selection and holdout periods: choosing features by this ic "
    "peeks at the bars `factory evolve` selects and judges strategies on"
)


@app.command("report")
def report(
    symbol: str,
    reference: ReferenceOption = None,
    period: Annotated[
        str,
        typer.Option(
            help="train: the bars before the selection period `factory evolve` would start "
            "with these references; all: every bar, selection and holdout included."
        ),
    ] = "train",
    train_end: Annotated[
        str | None,
        typer.Option(
            help="Fit the regime models on bars up to this date only "
            "(default: the training period; with --period all, every bar)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Coverage, mean, std and information coefficient (Spearman vs the next bar's log return)
    of every feature of SYMBOL over the training period, and how its bars fall into regimes."""
    if period not in PERIODS:
        raise FactoryError(f"--period is train or all, got {period!r}")
    from strategy_factory.features import (
        build_feature_matrix,
        default_labelers,
        label_regimes,
        make_target,
    )
    from strategy_factory.features.report import regime_distribution, summarize_features

    bars, references = _load(symbol, reference)
    shown = bars if period == "all" else _training_bars(bars, symbol, reference or [])
    fit_until = train_end
    if fit_until is None and period == "train":
        fit_until = shown.index[-1].isoformat()
    labelers = default_labelers(references)
    labels = label_regimes(bars, references, fit_until, labelers).loc[shown.index]
    # Features are causal, so cutting the whole matrix equals building it on the period;
    # the target comes from the period's bars, so its last one does not reach past it.
    matrix = build_feature_matrix(bars, references).loc[shown.index]
    summary = summarize_features(matrix, make_target(shown))
    warnings = [ALL_BARS_WARNING] if period == "all" else []
    for warning in warnings:
        print_warning(warning)
    if as_json:
        print_json(
            {
                "symbol": symbol.upper(),
                "bars": len(bars),
                "period": {
                    "name": period,
                    "first": shown.index[0].isoformat(),
                    "last": shown.index[-1].isoformat(),
                    "bars": len(shown),
                },
                "features": summary.reset_index().to_dict(orient="records"),
                "regimes": regime_distribution(labels),
                "regime_train_end": fit_until,
                "warnings": warnings,
            }
        )
        return
    _print_report(symbol.upper(), shown, period, summary, labels, labelers, train_end)


def _training_bars(bars: pd.DataFrame, symbol: str, references: list[str]) -> pd.DataFrame:
    """The bars before the selection period of `factory evolve` on these symbols."""
    import pandas as pd

    from strategy_factory.evolution.prepare import default_periods

    try:
        selection_start = default_periods(symbol, references).selection_start
    except FactoryError as exc:
        raise FactoryError(f"{exc}; or report on every bar with --period all") from exc
    return bars.loc[bars.index < pd.Timestamp(selection_start)]


def _print_report(
    symbol: str,
    shown: pd.DataFrame,
    period: str,
    summary: pd.DataFrame,
    labels: pd.DataFrame,
    labelers: dict[str, RegimeLabeler],
    train_end: str | None,
) -> None:
    from strategy_factory.features.report import regime_distribution

    first, last = moment(shown.index[0]), moment(shown.index[-1])
    print_table(
        f"Features of {symbol}, {PERIODS[period]} {first} → {last} "
        f"({len(shown)} bars; ic = Spearman vs next-bar log return)",
        ["feature", "coverage", "mean", "std", "ic"],
        (
            [name, *row]
            for name, row in zip(summary.index, summary.to_numpy().tolist(), strict=True)
        ),
    )
    for column, counts in regime_distribution(labels).items():
        meaning = labelers[column].describe_labels()
        rows = [[label, meaning.get(label, "undefined"), n] for label, n in counts.items()]
        print_table(f"{column} (bars per label)", ["label", "meaning", "bars"], rows)
    fitted = "the training period" if period == "train" else "every bar"
    if train_end is not None:
        fitted = f"bars up to {train_end}"
    if period == "train":
        console.print(
            f"Training period only: `factory evolve` with these references would start its "
            f"selection period after {last}. Regime labelers fitted on {fitted}. "
            "--period all includes the selection and holdout periods."
        )
    else:
        console.print(
            f"All bars, selection and holdout included. Regime labelers fitted on {fitted}."
        )
    console.print("ic is in-sample and unadjusted for the number of features: a smoke test only.")
