"""Store URLs, backend configuration and failures a user can cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from strategy_factory.errors import FactoryError
from strategy_factory.store import Store, create_store, normalize_url


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db:5432/factory", "postgresql+psycopg"),
        ("postgres://u@db/factory", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@db/factory", "postgresql+psycopg"),
        ("sqlite:///factory.db", "sqlite+pysqlite"),
    ],
)
def test_urls_are_pointed_at_the_supported_drivers(url: str, driver: str) -> None:
    normalized = normalize_url(url)
    assert normalized.drivername == driver
    assert normalized.database == url.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://u@db/factory", "supports sqlite:/// and postgresql://"), ("not a url", "not a")],
)
def test_unsupported_urls_say_what_to_use(url: str, message: str) -> None:
    with pytest.raises(FactoryError, match=message):
        normalize_url(url)


def test_default_url_is_factory_db_in_the_working_directory(factory_home: Path) -> None:
    with create_store() as store:
        assert store.backend == "sqlite"
        assert (factory_home.parent / "factory.db").exists()


def test_sqlite_is_configured_for_several_processes(tmp_path: Path) -> None:
    with create_store(f"sqlite:///{tmp_path / 'nested' / 'factory.db'}") as store:
        with store.database.read() as connection:
            pragma = {
                name: connection.execute(text(f"pragma {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
        assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


def test_in_memory_sqlite_works_in_one_thread() -> None:
    with create_store("sqlite://") as store:
        run = store.runs.create("SP500", "elasticnet", {}, max_generations=1)
        assert store.runs.get(run.id) == run


def test_an_unreachable_server_is_a_user_error() -> None:
    with pytest.raises(FactoryError, match=r"cannot open the store at .*check FACTORY_DB"):
        create_store("postgresql://nobody@127.0.0.1:1/factory")


def test_timestamps_come_back_in_utc(store: Store) -> None:
    run = store.runs.create("SP500", "elasticnet", {}, max_generations=1)
    assert run.created_at.tzinfo is UTC
    # A timezone mistake would be off by hours, not by minutes.
    assert abs(run.created_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert run.updated_at >= run.created_at
