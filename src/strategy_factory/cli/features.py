"""``factory features``: which features a symbol has, and a first look at them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.data import catalog
from strategy_factory.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    import pandas as pd

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


@app.command("report")
def report(
    symbol: str,
    reference: ReferenceOption = None,
    train_end: Annotated[
        str | None,
        typer.Option(help="Fit the regime models on bars up to this date only (default: all)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Coverage, mean, std and information coefficient (Spearman vs the next bar's log return)
    of every feature of SYMBOL, and how its bars fall into regimes."""
    from strategy_factory.features import (
        build_feature_matrix,
        default_labelers,
        label_regimes,
        make_target,
    )
    from strategy_factory.features.report import regime_distribution, summarize_features

    bars, references = _load(symbol, reference)
    labelers = default_labelers(references)
    regimes = regime_distribution(label_regimes(bars, references, train_end, labelers))
    summary = summarize_features(build_feature_matrix(bars, references), make_target(bars))
    if as_json:
        print_json(
            {
                "symbol": symbol.upper(),
                "bars": len(bars),
                "features": summary.reset_index().to_dict(orient="records"),
                "regimes": regimes,
            }
        )
        return
    print_table(
        f"Features of {symbol.upper()} ({len(bars)} bars; ic = Spearman vs next-bar log return)",
        ["feature", "coverage", "mean", "std", "ic"],
        (
            [name, *row]
            for name, row in zip(summary.index, summary.to_numpy().tolist(), strict=True)
        ),
    )
    for name, counts in regimes.items():
        meaning = labelers[name].describe_labels()
        rows = [[label, meaning.get(label, "undefined"), n] for label, n in counts.items()]
        print_table(f"{name} (bars per label)", ["label", "meaning", "bars"], rows)
    console.print("ic is in-sample and unadjusted for the number of features: a smoke test only.")
