"""The short queue operations survive dropped connections and lost commit acknowledgements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from strategy_factory.store import Job, Store, create_store
from strategy_factory.store.database import Database
from tests.store.conftest import _empty_postgres


def _lose_first_acknowledgement(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The first transaction commits, but its connection dies before the reply comes back."""
    real_run_once = Database._run_once
    calls: list[bool] = []

    def commit_then_drop(self: Database, operation: Callable, retried: bool, write: bool) -> Any:
        calls.append(retried)
        outcome = real_run_once(self, operation, retried, write)
        if len(calls) == 1:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return outcome

    monkeypatch.setattr(Database, "_run_once", commit_then_drop)
    return calls


def test_a_completion_whose_acknowledgement_was_lost_still_counts(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    job = store.queue.claim("w")
    assert job is not None
    calls = _lose_first_acknowledgement(monkeypatch)
    assert store.queue.complete(job.id, job.lease_token, {"sqn": 2.0}) is True
    assert calls == [False, True]
    monkeypatch.undo()
    assert store.queue.complete(job.id, job.lease_token, {"sqn": 9.0}) is False
    assert store.queue.get(job.id).result == {"sqn": 2.0}


def test_every_write_of_a_run_is_recorded_once_when_its_acknowledgement_is_lost(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write the engine makes, retried after a commit whose reply was lost."""
    writes: dict[str, Callable[[], Any]] = {
        "run": lambda: store.runs.create("SP500", "ElasticNet", {}, 2, run_id="r1"),
        "model": lambda: store.models.add_trained(
            {"model_id": "m1", "run_id": "r1", "fingerprint": "f" * 64, "algorithm": "a",
             "symbol": "SP500", "features": ["x"]},
            b"{}", "{}", 1,
        ),
        "edge": lambda: store.lineage.add_edge(
            run_id="r1", child_model_id="m1", generation=0, pruned_features=[],
            remaining_features=["x"],
        ),
        "cells": lambda: store.simulations.add_many(
            "r1", "m1", "selection", [{"ticker": "SP500", "threshold": 0.0, "mode": "long_only"}]
        ),
        "promotion": lambda: store.promoted.add(
            run_id="r1", model_id="m1", strategy={}, criteria={}, selection_metrics={},
            holdout_metrics={}, configurations_tried=1, verdict={}, lineage=[],
        ),
    }  # fmt: skip
    for name, write in writes.items():
        calls = _lose_first_acknowledgement(monkeypatch)
        write()
        assert calls == [False, True], name
        monkeypatch.undo()
    with store.database.read() as connection:
        counts = {
            table: connection.execute(text(f"select count(*) from {table}")).scalar_one()
            for table in (
                "evolution_runs", "models", "model_artifacts", "model_fingerprints",
                "evolution_log", "simulation_results", "promoted_models",
            )
        }  # fmt: skip
    assert set(counts.values()) == {1}, counts


@pytest.fixture
def postgres_store(postgres_store_url: str) -> Iterator[Store]:
    """A store on PostgreSQL only, for faults only a server can have."""
    _empty_postgres(postgres_store_url)
    with create_store(postgres_store_url) as store:
        yield store


def _terminate(url: str, where: str) -> int:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(
            text(f"select count(pg_terminate_backend(pid)) from pg_stat_activity where {where}")
        ).scalar_one()
    admin.dispose()
    return killed


@pytest.mark.postgres
def test_a_claim_survives_its_connection_being_killed_mid_transaction(
    postgres_store: Store, postgres_store_url: str
) -> None:
    postgres_store.queue.enqueue([Job("train", {"n": 1}), Job("train", {"n": 2})])
    killed: list[int] = []

    def kill_own_backend(connection, cursor, statement, *_: Any) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE priority_jobs SET status=%(status)s") and not killed:
            pid = connection.connection.dbapi_connection.info.backend_pid
            killed.append(_terminate(postgres_store_url, f"pid = {pid}"))

    engine = postgres_store.database.engine
    event.listen(engine, "before_cursor_execute", kill_own_backend)
    try:
        job = postgres_store.queue.claim("w")
    finally:
        event.remove(engine, "before_cursor_execute", kill_own_backend)
    assert killed == [1]
    assert job is not None
    assert (job.payload, job.attempts) == ({"n": 1}, 1)
    assert postgres_store.queue.counts_by_status()["running"] == 1


@pytest.mark.postgres
def test_workers_carry_on_after_every_connection_is_dropped(
    postgres_store: Store, postgres_store_url: str
) -> None:
    postgres_store.queue.enqueue([Job("train", {"n": 1})])
    job = postgres_store.queue.claim("w")
    assert job is not None
    # What a server restart looks like from the client: every pooled connection is dead.
    assert (
        _terminate(postgres_store_url, "datname = current_database() and pid <> pg_backend_pid()")
        >= 1
    )
    assert postgres_store.queue.heartbeat(job.id, job.lease_token) is True
    assert postgres_store.queue.complete(job.id, job.lease_token, {"ok": True}) is True
