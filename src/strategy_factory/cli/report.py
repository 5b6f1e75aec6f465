"""``factory report``: one self-contained HTML report of an evolution run.

Its ``--plotly`` option and closing line are shared with ``factory workflow report``, so
both reports are asked for and announced the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console
from strategy_factory.errors import FactoryError

if TYPE_CHECKING:
    from strategy_factory.evolution.report_page import PlotlyBundle

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
) -> None:
    """Write an interactive HTML report of a run: config, verdict, equity and trades of the
    best strategy on selection and holdout, lineage, features, SQN grid, criteria."""
    from strategy_factory.evolution.report import write_report
    from strategy_factory.store import create_store

    bundle = plotly_bundle(plotly)
    target = output or Path(f"run-{run_id}.html")
    announce(write_report(create_store(db), run_id, target, bundle), bundle)
