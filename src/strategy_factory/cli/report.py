"""``factory report``: one self-contained HTML report of an evolution run.

Its ``--plotly`` option and closing line are shared with ``factory workflow report``, so
both reports are asked for and announced the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console, print_table, print_warning
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    from strategy_factory.evolution.report_page import PlotlyBundle
    from strategy_factory.store import Store

PlotlyOption = Annotated[
    str,
    typer.Option(
        "--plotly",
        help="full: Plotly's JavaScript inlined (self-contained, opens offline); "
        "cdn: loaded from Plotly's CDN (about 4.8 MB smaller; the charts need the network).",
    ),
]


def plotly_bundle(plotly: str) -> PlotlyBundle:
    """The ``--plotly`` choice, refused with the option's name when it is neither."""
    from strategy_factory.evolution.report_page import PlotlyBundle

    if plotly not in set(PlotlyBundle):
        raise FactoryError(f"--plotly is full or cdn, got {plotly!r}")
    return PlotlyBundle(plotly)


def announce(path: Path, bundle: PlotlyBundle) -> None:
    """Say where the report went, how big it is, and whether it needs the network."""
    from strategy_factory.evolution.report_page import PlotlyBundle

    size = path.stat().st_size / 1e6
    opens = (
        "its charts load Plotly from the network"
        if bundle is PlotlyBundle.CDN
        else "it opens offline in any browser"
    )
    console.print(f"wrote {path} ({size:.1f} MB); {opens}")


def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on (see `factory runs list`).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default run-RUN_ID.html)."),
    ] = None,
    db: DbOption = None,
    plotly: PlotlyOption = "full",
    validate: Annotated[
        bool,
        typer.Option(
            "--validate",
            help="Open the report in headless Chromium (FACTORY_CHROMIUM), compare the drawn "
            "trade markers and equity with the stored trades, flag equity anomalies, and "
            "attach the checks and screenshots to the report; exit 1 when a check fails.",
        ),
    ] = False,
) -> None:
    """Write an interactive HTML report of a run: config, verdict, equity and trades of the
    best strategy on selection and holdout, lineage, features, SQN grid, criteria."""
    from strategy_factory.evolution.report import write_report
    from strategy_factory.store import create_store

    bundle = plotly_bundle(plotly)
    target = output or Path(f"run-{run_id}.html")
    if validate:
        _validate(create_store(db), run_id, target, bundle)
        return
    announce(write_report(create_store(db), run_id, target, bundle), bundle)


def _validate(store: Store, run_id: str, target: Path, bundle: PlotlyBundle) -> None:
    from strategy_factory.evolution.report_page import PlotlyBundle
    from strategy_factory.settings import get_settings
    from strategy_factory.understanding.chart_report import (
        ChartValidationRequest,
        validate_report,
    )

    request = ChartValidationRequest.parse({"run_id": run_id})
    if bundle is not PlotlyBundle.FULL:
        raise FactoryError("--validate draws the charts offline: use it with --plotly full")
    validation = validate_report(store, request.run_id, target, get_settings().chromium)
    print_table(
        f"Visual validation of run {run_id}",
        ["chart", "what", "result", "expected", "drawn", "detail"],
        (
            [c.chart, c.what, "pass" if c.passed else "FAIL", c.expected, c.drawn, c.detail]
            for c in validation.checks
        ),
    )
    for anomaly in validation.anomalies:
        print_warning(f"{anomaly.period} equity {anomaly.kind}: {anomaly.detail} ({anomaly.start})")
    announce(target, bundle)
    console.print(validation.verdict(), highlight=False)
    if not validation.passed:
        raise typer.Exit(1)
