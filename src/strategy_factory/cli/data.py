"""``factory data``: list, show, import and synthesize bars."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from strategy_factory.cli.output import console, moment, print_json, print_table
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    from strategy_factory.data import AppendResult, BarCatalog, BarMeta

app = typer.Typer(
    help="Bars: bundled real datasets, imported files, synthetic series.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MaxGap = Annotated[
    str | None,
    typer.Option(
        "--max-gap",
        help="With --append: the longest step allowed between bars, e.g. 5D or 3h "
        "(default: the longest gap the stored history already has).",
    ),
]
SERIES = "The series"  # the help panel of the generator's options


def catalog() -> BarCatalog:
    """The bar store under ``FACTORY_HOME``."""
    from strategy_factory.data import BarCatalog
    from strategy_factory.settings import get_settings

    return BarCatalog(get_settings().bars_dir)


def _meta_row(meta: BarMeta) -> list[object]:
    return [
        meta.symbol,
        meta.frequency,
        moment(meta.first),
        moment(meta.last),
        meta.rows,
        "yes" if meta.has_volume else "no",
        meta.source,
    ]


def _meta_json(meta: BarMeta) -> dict[str, object]:
    return {**asdict(meta), "extra_columns": list(meta.extra_columns)}


@app.command("list")
def list_symbols(as_json: JsonFlag = False) -> None:
    """Every symbol with its frequency, first and last bar and row count."""
    metas = catalog().symbols()
    if as_json:
        print_json([_meta_json(m) for m in metas])
        return
    print_table(
        "Symbols",
        ["symbol", "frequency", "first bar", "last bar", "rows", "volume", "source"],
        (_meta_row(m) for m in metas),
    )


@app.command("show")
def show(
    symbol: str,
    rows: Annotated[int, typer.Option(help="How many bars to show from each end.")] = 5,
    as_json: JsonFlag = False,
) -> None:
    """Metadata, the first and last bars and summary statistics of one symbol."""
    store = catalog()
    meta = store.meta(symbol)
    bars = store.load(symbol)
    if as_json:
        print_json({"meta": _meta_json(meta), "describe": bars.describe().to_dict()})
        return
    print_table(
        "Metadata",
        ["symbol", "frequency", "first bar", "last bar", "rows", "volume", "source"],
        [_meta_row(meta)],
    )
    if not meta.has_ohlc:
        console.print("This source has only a close: open, high and low equal the close.")
    print(bars.head(rows).to_string())
    print("…")
    print(bars.tail(rows).to_string())
    print(bars.describe().T.to_string(float_format=lambda v: f"{v:.6g}"))


@app.command("import")
def import_file(
    path: Path,
    symbol: Annotated[str, typer.Option("--symbol", help="Name to store the bars under.")],
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of naive timestamps (default UTC).")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite an existing symbol.")] = False,
    append: Annotated[
        bool,
        typer.Option(
            help="Add the file's bars after the stored ones of an existing symbol; the file "
            "may repeat stored bars, unchanged."
        ),
    ] = False,
    max_gap: MaxGap = None,
    as_json: JsonFlag = False,
) -> None:
    """Import a CSV or Parquet file of bars (any frequency); nothing changes if it is invalid."""
    if append and replace:
        raise FactoryError(
            "--append adds to the stored bars and --replace overwrites them: pick one"
        )
    if max_gap is not None and not append:
        raise FactoryError("--max-gap bounds the gaps of an append: use it with --append")
    if append:
        result = catalog().append_file(path, symbol, timezone=timezone, max_gap=_gap(max_gap))
        _print_append(result, as_json)
        return
    meta = catalog().import_file(path, symbol, timezone=timezone, replace=replace)
    if as_json:
        print_json(_meta_json(meta))
        return
    console.print(
        f"imported {meta.rows} {meta.frequency} bars of {meta.symbol} "
        f"({moment(meta.first)} → {moment(meta.last)})"
    )


@app.command("update")
def update(symbol: str, max_gap: MaxGap = None, as_json: JsonFlag = False) -> None:
    """Read the file a symbol was imported (or last appended) from again and append the new
    bars at its end; nothing changes if they do not continue the series."""
    _print_append(catalog().update(symbol, max_gap=_gap(max_gap)), as_json)


def _gap(text: str | None) -> Any:
    if text is None:
        return None
    import pandas as pd

    try:
        gap = pd.Timedelta(text)
    except ValueError as exc:
        raise FactoryError(
            f"--max-gap {text!r} is not a duration; write e.g. 5D, 36h or 90min"
        ) from exc
    if gap <= pd.Timedelta(0):
        raise FactoryError(f"--max-gap must be a positive duration, got {text!r}")
    return gap


def _print_append(result: AppendResult, as_json: bool) -> None:
    meta = result.meta
    if as_json:
        print_json(
            {
                "symbol": result.symbol,
                "added": result.added,
                "repeated": result.repeated,
                "first": None if result.first is None else result.first.isoformat(),
                "last": None if result.last is None else result.last.isoformat(),
                "meta": _meta_json(meta),
            }
        )
        return
    if not result.added:
        console.print(
            f"nothing new: {meta.symbol} already has every bar of the file "
            f"(its bars end {moment(meta.last)})"
        )
        return
    console.print(
        f"appended {result.added} bars to {meta.symbol} ({moment(result.first)} → "
        f"{moment(result.last)}; {result.repeated} stored bars repeated unchanged); "
        f"it now has {meta.rows} bars up to {moment(meta.last)}"
    )


@app.command("synth")
def synth(
    symbol: Annotated[
        str, typer.Option("--symbol", help="Name to store the bars under.")
    ] = "SYNTH",
    bars: Annotated[
        int, typer.Option(help="Number of bars (at least 2).", rich_help_panel=SERIES)
    ] = 100_000,
    freq: Annotated[
        str,
        typer.Option(
            help="Bar frequency, a pandas offset: 1min, 5min, 1h, 1D, B (weekdays).",
            rich_help_panel=SERIES,
        ),
    ] = "1min",
    start: Annotated[
        str,
        typer.Option(
            help="Timestamp of the first bar (UTC unless it has an offset).",
            rich_help_panel=SERIES,
        ),
    ] = "2020-01-01",
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed (>= 0); the same seed and options give the same bars.",
            rich_help_panel=SERIES,
        ),
    ] = 0,
    volatility: Annotated[
        list[float] | None,
        typer.Option(
            help="Annualized volatility (> 0) of one hidden regime; repeat for more: one regime "
            "per value. Default: two regimes, 0.12 and 0.35.",
            rich_help_panel=SERIES,
        ),
    ] = None,
    drift: Annotated[
        list[float] | None,
        typer.Option(
            help="Annualized drift of log returns, one per regime in --volatility order "
            "(default 0: nothing to find but the planted feature).",
            rich_help_panel=SERIES,
        ),
    ] = None,
    mean_duration: Annotated[
        float,
        typer.Option(
            help="Mean length of a regime in bars (>= 1); lengths are geometric.",
            rich_help_panel=SERIES,
        ),
    ] = 500.0,
    planted: Annotated[
        float,
        typer.Option(
            help="Strength of a planted feature that leads the next bar's open-to-close return, "
            "about its information coefficient (0 = pure random walk; strength² + gap < 1).",
            rich_help_panel=SERIES,
        ),
    ] = 0.0,
    tail_df: Annotated[
        float | None,
        typer.Option(
            help="Student-t degrees of freedom (> 2) of the innovations, for fat tails as real "
            "returns have (3 is the classic choice); default normal.",
            rich_help_panel=SERIES,
        ),
    ] = None,
    gap: Annotated[
        float,
        typer.Option(
            help="Share of each bar's variance between the previous close and the open, in [0, 1).",
            rich_help_panel=SERIES,
        ),
    ] = 0.05,
    start_price: Annotated[
        float, typer.Option(help="Price the walk starts from (> 0).", rich_help_panel=SERIES)
    ] = 100.0,
    replace: Annotated[bool, typer.Option(help="Overwrite an existing symbol.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Generate a seeded regime-switching random walk, optionally with a planted predictive
    feature, and store it as a symbol; nothing is stored if an option is invalid."""
    from strategy_factory.data import DEFAULT_REGIMES, Regime, synthetic_bars

    volatilities = volatility or [r.volatility for r in DEFAULT_REGIMES]
    drifts = drift or [0.0] * len(volatilities)
    if len(drifts) != len(volatilities):
        raise FactoryError(
            f"--drift takes one value per regime, and there is one regime per --volatility: "
            f"got {len(drifts)} --drift and {len(volatilities)} --volatility values"
        )
    regimes = tuple(Regime(d, v) for d, v in zip(drifts, volatilities, strict=True))
    options = {
        "freq": freq,
        "start": start,
        "seed": seed,
        "regimes": regimes,
        "mean_duration": mean_duration,
        "planted_strength": planted,
        "tail_df": tail_df,
        "gap": gap,
        "start_price": start_price,
    }
    catalog().writable(symbol, replace)  # before minutes of generating, not after
    frame = synthetic_bars(bars, **options)
    meta = catalog().save(symbol, frame, source=_synthetic_source(bars, options), replace=replace)
    if as_json:
        print_json(_meta_json(meta))
        return
    console.print(f"stored {meta.rows} synthetic {meta.frequency} bars as {meta.symbol}")


def _synthetic_source(bars: int, options: dict[str, Any]) -> str:
    """Every option the series was generated with: enough to generate it again."""
    described: dict[str, Any] = {"bars": bars}
    for name, value in options.items():
        if name == "regimes":
            described["volatility"] = "/".join(f"{r.volatility:g}" for r in value)
            described["drift"] = "/".join(f"{r.drift:g}" for r in value)
        else:
            described[name] = value
    return "synthetic(" + ", ".join(f"{k}={v}" for k, v in described.items()) + ")"
