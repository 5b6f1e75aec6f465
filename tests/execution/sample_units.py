"""Test-only kinds of work, and worker processes that run them against a real store.

``noop`` returns its payload's number (``pause`` after a nap); ``record`` also writes one
row per execution into a ``side_effects`` table of the store's database (so a test can
count how many times a job really ran); ``sleep`` naps before recording; ``boom`` always
raises. Processes come from a fork server that has already imported the worker, so each
costs a fork, not a fresh interpreter full of imports.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, text

from strategy_factory.execution import run_worker
from strategy_factory.store import create_store

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["strategy_factory.execution", __name__])

SIDE_EFFECTS = {
    "postgresql": "create table side_effects (n integer not null, pid integer not null, "
    "ran_at timestamptz not null default clock_timestamp())",
    "sqlite": "create table side_effects (n integer not null, pid integer not null)",
}


@cache
def _engine(url: str) -> Engine:
    return create_engine(url)


def create_side_effects(url: str) -> None:
    """Create the ``side_effects`` table in the database at ``url``."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(SIDE_EFFECTS[engine.dialect.name]))
    engine.dispose()


def noop(payload: dict[str, Any]) -> dict[str, Any]:
    return {"n": payload["n"]}


def record(payload: dict[str, Any]) -> dict[str, Any]:
    with _engine(payload["url"]).begin() as connection:
        connection.execute(
            text("insert into side_effects (n, pid) values (:n, :pid)"),
            {"n": payload["n"], "pid": os.getpid()},
        )
    return {"n": payload["n"], "pid": os.getpid()}


def pause(payload: dict[str, Any]) -> dict[str, Any]:
    time.sleep(payload["seconds"])
    return {"n": payload["n"]}


def sleep(payload: dict[str, Any]) -> dict[str, Any]:
    time.sleep(payload["seconds"])
    return record(payload)


def boom(payload: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"job {payload['n']} always fails")


UNITS = {"noop": noop, "record": record, "pause": pause, "sleep": sleep, "boom": boom}


def work(url: str, worker_id: str, options: dict[str, Any], reports: Any) -> None:
    """A worker process: run sample jobs from the store at ``url`` until SIGTERM."""
    with create_store(url) as store:
        report = run_worker(store, worker_id=worker_id, units=UNITS, **options)
    reports.put(report)
