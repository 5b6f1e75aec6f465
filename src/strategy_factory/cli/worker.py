"""``factory worker``: claim and run queued units of work until stopped."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from strategy_factory.cli.output import console
from strategy_factory.errors import FactoryError


def worker(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Store URL to claim from (default FACTORY_DB)."),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Service URL to claim from over HTTP instead."),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only this kind of job: train, simulate (repeat)."),
    ] = None,
    lease: Annotated[
        float, typer.Option("--lease", help="Seconds a claim lasts without a heartbeat.")
    ] = 30.0,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls when idle.")] = 0.2,
    max_jobs: Annotated[
        int | None, typer.Option("--max-jobs", help="Stop after this many jobs.")
    ] = None,
    worker_id: Annotated[
        str | None, typer.Option("--id", help="Worker name (default host-pid-random).")
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", help="Jobs claimed per round trip (short jobs only).")
    ] = 1,
) -> None:
    """Run queued jobs until stopped: Ctrl-C/SIGTERM finishes the current job, twice abandons it."""
    from strategy_factory.execution import HttpJobSource, JobSource, run_worker
    from strategy_factory.store import Store, create_store

    if db and server:
        raise FactoryError("give either --db or --server, not both")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    source: Store | JobSource = HttpJobSource(server) if server else create_store(db)
    where = server or (source.url if isinstance(source, Store) else "")
    console.print(f"worker claiming from {where}", highlight=False)
    try:
        report = run_worker(
            source,
            worker_id=worker_id,
            kinds=kind or None,
            lease_seconds=lease,
            poll_interval=poll,
            max_jobs=max_jobs,
            batch=batch,
        )
    finally:
        if isinstance(source, Store):
            source.close()
    console.print(
        f"worker {report.worker_id}: {len(report.completed)} completed, "
        f"{len(report.failed)} failed, {len(report.lost)} lost to other workers",
        highlight=False,
    )
