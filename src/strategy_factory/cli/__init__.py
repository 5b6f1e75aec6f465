"""The ``factory`` command: thin wrappers that parse options and call the library."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from strategy_factory.cli import (
    backtest,
    data,
    evolve,
    features,
    report,
    runs,
    serve,
    train,
    worker,
)
from strategy_factory.errors import FactoryError

app = typer.Typer(
    name="factory",
    help="Strategy Factory: find trading strategies automatically and honestly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")
app.command("train")(train.command)
app.command("backtest")(backtest.backtest)
app.command("evolve")(evolve.evolve)
app.add_typer(runs.runs_app, name="runs")
app.add_typer(runs.promoted_app, name="promoted")
app.command("worker")(worker.worker)
app.command("report")(report.report)
app.command("serve")(serve.serve)


def main() -> None:
    """Entry point: run the CLI, printing user mistakes without a traceback."""
    try:
        app(standalone_mode=False)
    except FactoryError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # a bad option or argument, e.g. --limit abc
        Console(stderr=True).print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
        sys.exit(2)
