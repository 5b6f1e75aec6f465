"""``factory report``: one self-contained HTML report of an evolution run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strategy_factory.cli.evolve import DbOption
from strategy_factory.cli.output import console


def report(
    run_id: Annotated[str, typer.Argument(help="The run to report on (see `factory runs list`).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file to write (default run-RUN_ID.html)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Write an interactive HTML report of a run: config, verdict, equity and trades of the
    best strategy on selection and holdout, lineage, features, SQN grid, criteria."""
    from strategy_factory.evolution.report import write_report
    from strategy_factory.store import create_store

    path = write_report(create_store(db), run_id, output or Path(f"run-{run_id}.html"))
    size = path.stat().st_size / 1e6
    console.print(f"wrote {path} ({size:.1f} MB); it opens offline in any browser")
