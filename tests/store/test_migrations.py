"""Migrations build exactly the declared tables, once, even when processes race to do it."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect, text

from strategy_factory.errors import FactoryError
from strategy_factory.store import create_store
from strategy_factory.store.migrate import HEAD_REVISION, alembic_config, head_revisions
from strategy_factory.store.tables import metadata
from tests.store.processes import open_store, run_together

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database that has never been migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_url")


def _differences(url: str, target: MetaData) -> list[object]:
    with create_store(url) as store, store.database.read() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, target)


def test_head_revision_is_the_newest_migration() -> None:
    # Opening a store compares its recorded revision with HEAD_REVISION, without Alembic:
    # a new migration must bump it, or stores at the old head would never be migrated.
    assert head_revisions() == {HEAD_REVISION}


def test_migrations_and_tables_agree(fresh_url: str) -> None:
    assert _differences(fresh_url, metadata) == []
    # The comparison is able to see a difference: a column the migrations never created.
    extended = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(extended)
    extended.tables["workers"].append_column(Column("cores", Integer))
    assert [diff[0] for diff in _differences(fresh_url, extended)] == ["add_column"]


def test_downgrade_removes_everything_and_upgrade_restores_it(fresh_url: str) -> None:
    with create_store(fresh_url) as store:
        with store.database.write() as connection:
            command.downgrade(alembic_config(connection), "base")
        with store.database.read() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
    with create_store(fresh_url) as store, store.database.read() as connection:
        assert set(metadata.tables) <= set(inspect(connection).get_table_names())


def test_processes_starting_at_once_migrate_exactly_once(fresh_url: str) -> None:
    assert run_together(open_store, [(fresh_url,)] * 4) == [True] * 4
    with create_store(fresh_url) as store, store.database.read() as connection:
        versions = connection.execute(text("select version_num from alembic_version")).scalars()
        assert sorted(versions) == sorted(head_revisions())


def test_a_store_from_a_newer_release_is_refused(fresh_url: str) -> None:
    with create_store(fresh_url) as store, store.database.write() as connection:
        connection.execute(text("update alembic_version set version_num = 'from_the_future'"))
    with pytest.raises(FactoryError, match="newer than this strategy-factory knows"):
        create_store(fresh_url)
