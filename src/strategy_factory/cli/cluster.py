"""``factory cluster local``: a Dask cluster on this machine, to try ``--executor dask``."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from strategy_factory.cli.output import console
from strategy_factory.errors import FactoryError

app = typer.Typer(no_args_is_help=True, help="Dask clusters that `--executor dask` runs on.")


@app.command("local")
def local(
    workers: Annotated[int, typer.Option(help="Worker processes (one thread each).")] = 2,
    port: Annotated[int, typer.Option(help="Scheduler port (0: any free port).")] = 8786,
    host: Annotated[str, typer.Option(help="Interface the scheduler listens on.")] = "127.0.0.1",
) -> None:
    """Start a scheduler and N worker processes, print its address, and run until Ctrl-C."""
    from strategy_factory.execution.dask_cluster import local_cluster

    if workers < 1:
        raise FactoryError(f"--workers must be at least 1, not {workers}")
    try:
        cluster = local_cluster(workers, host=host, scheduler_port=port)
    except OSError as exc:
        raise FactoryError(
            f"cannot start a scheduler on {host}:{port} ({exc}): try --port 0"
        ) from exc
    with cluster:
        console.print(f"Dask scheduler at {cluster.scheduler_address} with {workers} worker(s)")
        console.print(
            f"run on it: factory evolve --executor dask --scheduler {cluster.scheduler_address}"
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopping the cluster")
