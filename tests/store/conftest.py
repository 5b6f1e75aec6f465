"""The store's behavioural suite runs on every backend: a SQLite file and PostgreSQL.

Like Optuna's ``pytest_storages``: tests take the ``store`` (or ``store_url``) fixture and
are run once per backend. PostgreSQL tests share one migrated database per session and
start from empty tables (``DROP DATABASE`` forces a checkpoint and costs about a second,
far more than a test); the migration tests use the fresh ``postgres_url`` database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from strategy_factory.store import Store, create_store
from strategy_factory.store.tables import metadata
from tests.conftest import shared_postgres_database

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_store_url(postgres_server: str) -> Iterator[str]:
    """A migrated PostgreSQL database shared by this session's store tests."""
    with shared_postgres_database(postgres_server, "sf_store") as url:
        yield url


def _empty_postgres(url: str) -> None:
    names = ", ".join(table.name for table in metadata.sorted_tables)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"truncate {names} restart identity cascade"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated store on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'factory.db'}"
    url = request.getfixturevalue("postgres_store_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on each backend in turn."""
    with create_store(store_url) as opened:
        yield opened


@pytest.fixture
def run_id(store: Store) -> str:
    """The id of a fresh pending run."""
    return store.runs.create("SP500", "elasticnet", {"generations": 10}, max_generations=10).id


def add_model(store: Store, run_id: str, generation: int = 0, name: str | None = None) -> str:
    """Record a model (with a fingerprint of its own) and return its id."""
    model_id = name or uuid.uuid4().hex
    store.models.add(
        model_id=model_id,
        run_id=run_id,
        generation=generation,
        fingerprint=uuid.uuid4().hex * 2,
        algorithm="elasticnet",
        symbol="SP500",
        features=["rsi_14", "atr_14"],
    )
    return model_id
