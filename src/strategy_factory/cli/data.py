"""``factory data``: list, show, import and synthesize bars."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.output import console, moment, print_json, print_table

if TYPE_CHECKING:
    from strategy_factory.data import BarCatalog, BarMeta

app = typer.Typer(
    help="Bars: bundled real datasets, imported files, synthetic series.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


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
    as_json: JsonFlag = False,
) -> None:
    """Import a CSV or Parquet file of bars (any frequency); nothing changes if it is invalid."""
    meta = catalog().import_file(path, symbol, timezone=timezone, replace=replace)
    if as_json:
        print_json(_meta_json(meta))
        return
    console.print(
        f"imported {meta.rows} {meta.frequency} bars of {meta.symbol} "
        f"({moment(meta.first)} → {moment(meta.last)})"
    )


@app.command("synth")
def synth(
    symbol: Annotated[
        str, typer.Option("--symbol", help="Name to store the bars under.")
    ] = "SYNTH",
    bars: Annotated[int, typer.Option(help="Number of bars.")] = 100_000,
    freq: Annotated[str, typer.Option(help="Bar frequency, e.g. 1min, 5min, 1h, 1D.")] = "1min",
    start: Annotated[str, typer.Option(help="Timestamp of the first bar.")] = "2020-01-01",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same bars.")] = 0,
    planted: Annotated[
        float, typer.Option(help="Strength of a planted predictive feature (0 = pure random walk).")
    ] = 0.0,
    mean_duration: Annotated[float, typer.Option(help="Mean regime length in bars.")] = 500.0,
    replace: Annotated[bool, typer.Option(help="Overwrite an existing symbol.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Generate a seeded regime-switching random walk and store it as a symbol."""
    from strategy_factory.data import synthetic_bars

    frame = synthetic_bars(
        bars,
        freq=freq,
        start=start,
        seed=seed,
        planted_strength=planted,
        mean_duration=mean_duration,
    )
    meta = catalog().save(
        symbol, frame, source=f"synthetic(seed={seed}, planted={planted})", replace=replace
    )
    if as_json:
        print_json(_meta_json(meta))
        return
    console.print(f"stored {meta.rows} synthetic {meta.frequency} bars as {meta.symbol}")
