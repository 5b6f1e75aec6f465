"""The private PostgreSQL harness: restarts, crashes and flapping keep committed rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from strategy_factory.store import create_store
from tests import pg_cluster
from tests.pg_cluster import PostgresUnavailableError, PrivatePostgres, process_alive


def _write_note(url: str, note: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("create table if not exists notes (note text)"))
        connection.execute(text("insert into notes values (:note)"), {"note": note})
    engine.dispose()


def _read_notes(url: str) -> list[str]:
    """The notes, over a connection of a fresh engine (nothing pooled from before)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("select note from notes")).scalars())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_committed_row_survives_a_fast_restart_on_the_same_url(
    private_postgres: PrivatePostgres,
) -> None:
    url = private_postgres.create_database("harness")
    _write_note(url, "before restart")
    before = private_postgres.postmaster_pid()
    private_postgres.restart("fast")
    assert private_postgres.postmaster_pid() not in (None, before)
    assert _read_notes(url) == ["before restart"]
    assert private_postgres.port != 5432  # never the shared server
    assert url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{private_postgres.port}/")


@pytest.mark.postgres
def test_an_immediate_stop_refuses_connections_until_the_next_start(
    private_postgres: PrivatePostgres,
) -> None:
    url = private_postgres.create_database("crash")
    _write_note(url, "before the crash")
    private_postgres.stop("immediate")
    assert not private_postgres.is_running()
    with pytest.raises(OperationalError):
        _read_notes(url)
    private_postgres.start()
    assert private_postgres.is_running()
    assert _read_notes(url) == ["before the crash"]


@pytest.mark.postgres
def test_flapping_cycles_a_new_server_each_time_and_leaves_it_up(
    private_postgres: PrivatePostgres,
) -> None:
    first = private_postgres.postmaster_pid()
    flapping = private_postgres.flap(cycles=3, down_seconds=0.5, up_seconds=0.5)
    assert flapping.wait(timeout=30) == 3
    assert len({first, *flapping.postmaster_pids}) == 4
    assert private_postgres.postmaster_pid() == flapping.postmaster_pids[-1]
    assert _select_one(private_postgres.url) == 1


@pytest.mark.postgres
def test_a_cancelled_flap_ends_its_cycle_with_the_server_up(
    private_postgres: PrivatePostgres,
) -> None:
    flapping = private_postgres.flap(cycles=100, down_seconds=0.2, up_seconds=0.2)
    flapping.cancel()
    assert flapping.done()
    assert 1 <= flapping.wait(timeout=1) < 100
    assert _select_one(private_postgres.url) == 1


def _select_one(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("select 1")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_store_migrates_and_reconnects_after_a_restart(
    private_postgres: PrivatePostgres,
) -> None:
    with create_store(private_postgres.create_database("store")) as store:
        run_id = store.runs.create("SP500", "elasticnet", {}, max_generations=1).id
        private_postgres.restart("fast")
        assert store.runs.get(run_id).symbol == "SP500"


@pytest.mark.postgres
def test_closing_leaves_no_server_process_and_no_folder(
    private_postgres: PrivatePostgres,
) -> None:
    processes = private_postgres.server_processes()
    assert process_alive(processes[0])  # the postmaster; a backend may be exiting already
    private_postgres.close()
    assert not any(process_alive(pid) for pid in processes)
    assert not private_postgres.root.exists()
    private_postgres.close()  # a second close (the fixture's) is harmless


def test_missing_binaries_are_reported_with_the_folders_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_cluster, "_candidate_bindirs", lambda: iter([tmp_path]))
    with pytest.raises(PostgresUnavailableError, match=str(tmp_path)):
        pg_cluster.find_bindir()
