"""Shared fixtures: an isolated factory home, the bar store, and real PostgreSQL.

Tests share the PostgreSQL server at ``FACTORY_TEST_POSTGRES_URL`` and must never restart
it; a test that stops, restarts or flaps the database takes ``private_postgres`` instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from strategy_factory.data import BarCatalog
from tests.pg_cluster import PostgresUnavailableError, PrivatePostgres, process_alive

POSTGRES_URL = os.environ.get(
    "FACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("FACTORY_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def shared_bars(tmp_path_factory: pytest.TempPathFactory) -> BarCatalog:
    """A bar store with the bundled data cached once for the whole session (read-only)."""
    return BarCatalog(tmp_path_factory.mktemp("bars"))


@pytest.fixture
def factory_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty FACTORY_HOME and working directory for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("FACTORY_HOME", str(home))
    monkeypatch.setenv("FACTORY_DB", f"sqlite:///{tmp_path / 'factory.db'}")
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def catalog(factory_home: Path) -> BarCatalog:
    """A bar store of its own for a test that writes."""
    return BarCatalog(factory_home / "bars")


def _postgres_admin_engine():  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """URL of a reachable PostgreSQL server; skips without one unless it is required."""
    from sqlalchemy import text

    try:
        with _postgres_admin_engine().connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"FACTORY_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"sf_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started PostgreSQL server of this test's own, to stop, restart and flap at will.

    One per test (0.6–1.3 s here): a server a test left stopped or flapping must not leak into
    the next. Skips without PostgreSQL binaries unless FACTORY_REQUIRE_POSTGRES=1. Afterwards
    no process of the server is left, even when the test failed.
    """
    try:
        server = PrivatePostgres.create()
    except PostgresUnavailableError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"FACTORY_REQUIRE_POSTGRES=1 but no private PostgreSQL server: {exc}")
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        processes = server.server_processes()
        server.close()
        assert not [pid for pid in processes if process_alive(pid)], "server processes left"


@contextmanager
def shared_postgres_database(server: str, prefix: str) -> Iterator[str]:
    """A migrated PostgreSQL database for a whole session's tests, dropped at the end.

    Tests start from empty tables rather than a new database: ``DROP DATABASE`` forces a
    checkpoint and costs about a second. A throwaway database needs no crash durability,
    so commits skip the disk flush.
    """
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from strategy_factory.store import create_store

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
        connection.execute(text(f'alter database "{name}" set synchronous_commit = off'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    create_store(url).close()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
