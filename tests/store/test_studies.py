"""Optuna's studies live beside the store: both keep their own schema version, on SQLite
and PostgreSQL, and processes share and resume a study."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution
from sqlalchemy import inspect, text

from strategy_factory.store import create_store
from strategy_factory.store.migrate import HEAD_REVISION
from strategy_factory.store.studies import SCHEMA, open_study, storage_url
from strategy_factory.store.tables import metadata
from tests.store.processes import run_together

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
SPACE = {"x": FloatDistribution(0.0, 1.0)}


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'factory.db'}"
    return request.getfixturevalue("postgres_url")


def ask_and_tell(url: str, trials: int, seed: int, barrier: Any, results: Any) -> None:
    """In a process of its own: open the store and the study at once with the others, then
    ask and tell ``trials`` trials; put their numbers on ``results``."""
    optuna.logging.set_verbosity(logging.WARNING)
    with create_store(url) as store:
        barrier.wait()
        sampler = optuna.samplers.RandomSampler(seed=seed)
        with open_study(store, "shared", sampler=sampler) as study:
            numbers = []
            for _ in range(trials):
                trial = study.ask(SPACE)
                study.tell(trial, trial.params["x"])
                numbers.append(trial.number)
    results.put(numbers)


def test_processes_share_a_study_and_another_resumes_it(url: str) -> None:
    create_store(url).close()
    numbers = run_together(ask_and_tell, [(url, 4, 1), (url, 4, 2)])
    assert sorted(n for found in numbers for n in found) == list(range(8))
    with create_store(url) as store, open_study(store, "shared") as study:
        assert len(study.trials) == 8
        trial = study.ask(SPACE)
        assert trial.number == 8  # the numbering goes on where the processes left it
        study.tell(trial, 0.5)
        best = max(t.value for t in study.trials[:8])
        assert study.best_value == best  # what the other processes told is known here


def test_optuna_and_the_store_keep_their_own_versions(url: str) -> None:
    with create_store(url) as store, open_study(store, "versions") as study:
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)
    # The store opens (its migration check reads only its own version) and is intact.
    with create_store(url) as store, store.database.read() as connection:
        assert set(
            connection.execute(text("select version_num from alembic_version")).scalars()
        ) == {HEAD_REVISION}
        assert not {"studies", "trials", "version_info"} & set(
            inspect(connection).get_table_names()
        )
        assert set(metadata.tables) <= set(inspect(connection).get_table_names())
        optuna_url = storage_url(store)
    assert optuna_url is not None
    # Optuna's storage opens again: its own version check passes too.
    storage = optuna.storages.RDBStorage(optuna_url)
    assert [s.study_name for s in storage.get_all_studies()] == ["versions"]
    assert storage.get_current_version() == storage.get_head_version()
    storage.engine.dispose()


@pytest.mark.postgres
def test_on_postgresql_optuna_lives_in_its_own_schema(postgres_url: str) -> None:
    with create_store(postgres_url) as store:
        with open_study(store, "schema") as study:
            study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
        with store.database.read() as connection:
            where = connection.execute(
                text(
                    "select table_schema from information_schema.tables "
                    "where table_name = 'alembic_version' order by table_schema"
                )
            ).scalars()
            assert list(where) == [SCHEMA, "public"]
            tables = inspect(connection).get_table_names(schema=SCHEMA)
            assert {"studies", "trials", "alembic_version"} <= set(tables)


def test_on_sqlite_optuna_lives_in_a_file_beside_the_store(tmp_path: Path) -> None:
    with create_store(f"sqlite:///{tmp_path / 'factory.db'}") as store:
        assert storage_url(store) == f"sqlite+pysqlite:///{tmp_path / 'factory.optuna.db'}"
    with create_store("sqlite://") as memory, open_study(memory, "here") as study:
        study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
        assert isinstance(study._storage, optuna.storages.InMemoryStorage)
