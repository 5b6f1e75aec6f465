"""``factory serve``: the API, the run coordinator and the dashboard in one process."""

from __future__ import annotations

from typing import Annotated

import typer

from strategy_factory.cli.evolve import DbOption


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to bind (default 127.0.0.1); off loopback needs a token."),
    ] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default 8400).")] = None,
    db: DbOption = None,
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Local worker processes to start with the server (default 0)."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where runs' units go: queue (job queue, workers) or dask "
            "(default: dask when FACTORY_DASK_SCHEDULER is set, else queue)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default FACTORY_DASK_SCHEDULER)."),
    ] = None,
) -> None:
    """Serve the REST API and the dashboard; runs go through the job queue to workers, or
    to a Dask cluster."""
    import uvicorn
    from pydantic import ValidationError

    from strategy_factory.errors import FactoryError, describe_problems
    from strategy_factory.service import ServiceSettings, configure_logging, create_app

    given = {
        "host": host,
        "port": port,
        "db": db,
        "workers": workers,
        "executor": executor,
        "dask_scheduler": scheduler,
    }
    try:
        settings = ServiceSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise FactoryError(f"invalid settings: {describe_problems(exc.errors())}") from exc
    settings.check_exposure()
    configure_logging()
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
