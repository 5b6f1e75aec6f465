"""Fixtures of the execution tests: stores on both backends, worker processes, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from strategy_factory.execution import WorkerReport
from strategy_factory.store import Store, create_store
from tests.execution.sample_units import CONTEXT, create_side_effects
from tests.store.conftest import postgres_store_url, run_id, store, store_url

__all__ = ["postgres_store_url", "run_id", "store", "store_url"]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it is truthy (returning its value) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of its own (for worker processes) with a side-effects table."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            # A throwaway database needs no crash durability; commits skip the disk flush.
            name = connection.execute(text("select current_database()")).scalar_one()
            connection.execute(text(f'alter database "{name}" set synchronous_commit = off'))
        admin.dispose()
    create_store(url).close()
    create_side_effects(url)
    return url


@pytest.fixture
def fresh_store(fresh_url: str) -> Iterator[Store]:
    """An open store on the fresh database."""
    with create_store(fresh_url) as opened:
        yield opened


class Workers:
    """Worker processes started by a test; stopped (and checked) at its end."""

    def __init__(self) -> None:
        self.reports = CONTEXT.Queue()
        self.processes: list[Any] = []

    def start(self, url: str, names: list[str], **options: Any) -> list[Any]:
        """Start one worker process per name, running the sample units on ``url``."""
        from tests.execution.sample_units import work

        started = [
            CONTEXT.Process(target=work, args=(url, name, options, self.reports), daemon=True)
            for name in names
        ]
        for process in started:
            process.start()
        self.processes.extend(started)
        return started

    def stop(self, processes: list[Any] | None = None) -> list[WorkerReport]:
        """SIGTERM the workers, wait for them to exit cleanly, and return their reports."""
        chosen = self.processes if processes is None else processes
        alive = [p for p in chosen if p.exitcode is None]
        for process in alive:
            process.terminate()  # SIGTERM: the worker finishes its job and exits
        reports = [self.reports.get(timeout=60) for _ in alive]
        for process in alive:
            process.join(30)
        assert [p.exitcode for p in alive] == [0] * len(alive)
        return reports


@pytest.fixture
def workers() -> Iterator[Workers]:
    """Start worker processes with ``workers.start(url, names)``; all are ended afterwards."""
    started = Workers()
    yield started
    for process in started.processes:
        if process.is_alive():
            process.kill()
            process.join(10)
