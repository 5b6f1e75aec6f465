"""The ``factory`` command: thin wrappers that parse options and call the library.

Each command imports the library modules it calls inside its own function, so that
``factory --help`` and quick commands start without NumPy, pandas, Numba, scikit-learn or
the service (``tests/test_cli_startup.py``); only Typer, rich and the option types load here.
"""

from __future__ import annotations

import gc
import sys

import typer
from rich.console import Console

from strategy_factory.cli import (
    backtest,
    champion,
    cluster,
    data,
    evolve,
    features,
    learn,
    report,
    runs,
    serve,
    train,
    understand,
    understanding,
    worker,
    workflow,
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
app.add_typer(workflow.app, name="workflow")
app.add_typer(learn.app, name="learn")
app.add_typer(cluster.app, name="cluster")
app.command("diagnose")(understand.diagnose)
app.command("audit")(understand.audit)
app.command("transfer")(understand.transfer)
app.add_typer(champion.app, name="champion")
app.add_typer(understanding.hypothesis_app, name="hypothesis")
app.add_typer(understanding.indicators_app, name="indicators")


def main() -> None:
    """Entry point: run the CLI, printing user mistakes without a traceback."""
    try:
        # Standalone, Typer reports what its parser rejects (an unknown option, a value of the
        # wrong type) with the usage line and exit code 2, and turns Ctrl-C into exit 130.
        app()
    except FactoryError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    finally:
        _skip_final_collections()


def _skip_final_collections() -> None:
    """Spare the interpreter's exit its garbage collections of every loaded library.

    At exit CPython runs full collections over every object still alive: ~400,000 after the
    main job (NumPy, pandas, scikit-learn, Numba, SQLAlchemy), about 0.25 s each, most of a
    second in all. Freezing them skips that; nothing is lost: the commands have closed their
    stores, pools and files, atexit handlers still run, and objects still free by refcount.
    """
    gc.freeze()
