"""``factory report``: one self-contained HTML report of an evolution run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console
from strategy_factory.errors import FactoryError


def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on (see `factory runs list`).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default run-RUN_ID.html)."),
    ] = None,
    db: DbOption = None,
    plotly: Annotated[
        str,
        typer.Option(
            "--plotly",
            help="full: Plotly's JavaScript inlined (self-contained, opens offline); "
            "cdn: loaded from Plotly's CDN (about 4.8 MB smaller; the charts need the network).",
        ),
    ] = "full",
) -> None:
    """Write an interactive HTML report of a run: config, verdict, equity and trades of the
    best strategy on selection and holdout, lineage, features, SQN grid, criteria."""
    from strategy_factory.evolution.report import write_report
    from strategy_factory.evolution.report_page import PlotlyBundle
    from strategy_factory.store import create_store

    if plotly not in set(PlotlyBundle):
        raise FactoryError(f"--plotly is full or cdn, got {plotly!r}")
    bundle = PlotlyBundle(plotly)
    target = output or Path(f"run-{run_id}.html")
    path = write_report(create_store(db), run_id, target, bundle)
    size = path.stat().st_size / 1e6
    opens = (
        "its charts load Plotly from the network"
        if bundle is PlotlyBundle.CDN
        else "it opens offline in any browser"
    )
    console.print(f"wrote {path} ({size:.1f} MB); {opens}")
