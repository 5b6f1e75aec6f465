"""Optuna studies kept in the store's database, so a search resumes in any process.

Optuna's RDB storage records its own schema version with Alembic in a table named
``alembic_version`` — the table the store's migrations use for theirs
(:mod:`strategy_factory.store.migrate`). In one namespace each would read the other's
revision: Optuna refuses a store at revision 0008 as "no longer compatible", and the store
refuses Optuna's revision as "newer than this strategy-factory knows". So Optuna gets a
namespace of its own, beside the store:

- **PostgreSQL**: the schema ``optuna`` of the same database. The storage URL is the
  store's URL with ``options=-csearch_path=optuna``, so every connection Optuna opens (its
  engine, its Alembic stamp, and ``optuna storage upgrade`` or optuna-dashboard given that
  URL) finds its tables, ``alembic_version`` included, there; the store's stay in
  ``public``. Many workers share it as they share the store.
- **SQLite**: a database file has a single namespace, so Optuna's tables live in a file
  beside the store's, ``<name>.optuna<suffix>`` (``factory.db`` → ``factory.optuna.db``),
  shared by the same local processes. An in-memory store gets an in-memory study.

Moving the store's own version table instead would put Optuna's tables (``studies``,
``trials``, ``version_info``…) among the store's, where a future table of either could
collide, and would re-stamp every existing store. Creating the storage is serialized
(PostgreSQL: an advisory lock; SQLite: the store's write lock), so workers starting at
once do not race on Optuna's table creation.

Not re-exported by :mod:`strategy_factory.store`: opening the store does not import Optuna.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, InMemoryStorage, RDBStorage
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import URL

from strategy_factory.store.store import Store

SCHEMA = "optuna"
# Any fixed 64-bit number, unique to this purpose within a PostgreSQL database.
_ADVISORY_LOCK_KEY = 0x5F_FAC7_0913
_SQLITE_TIMEOUT_SECONDS = 30


def storage_url(store: Store) -> str | None:
    """The URL of the store's Optuna storage (None for an in-memory store)."""
    url = store.database.engine.url
    if store.backend == "postgresql":
        options = url.query.get("options")
        search_path = f"-csearch_path={SCHEMA}"
        merged = search_path if not options else f"{options} {search_path}"
        return url.update_query_dict({"options": merged}).render_as_string(hide_password=False)
    if url.database in (None, "", ":memory:"):
        return None
    return _sibling(url).render_as_string(hide_password=False)


def _sibling(url: URL) -> URL:
    path = Path(url.database or "")
    return url.set(database=str(path.with_name(f"{path.stem}.optuna{path.suffix}")))


def study_storage(store: Store) -> BaseStorage:
    """Optuna's storage for ``store`` (see the module docstring)."""
    url = storage_url(store)
    if url is None:
        return InMemoryStorage()
    if store.backend == "postgresql":
        return _postgres_storage(store, url)
    with store.database.write():
        storage = RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": _SQLITE_TIMEOUT_SECONDS}}
        )
    # As the store's own file: a write-ahead log, synced at checkpoints rather than at every
    # commit (Optuna commits each parameter of each trial: a disk flush each is seconds).
    event.listen(storage.engine, "connect", _write_ahead)
    storage.engine.dispose()
    return storage


def _write_ahead(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _postgres_storage(store: Store, url: str) -> RDBStorage:
    with store.database.engine.connect() as connection:
        connection.execute(select(func.pg_advisory_lock(_ADVISORY_LOCK_KEY)))
        try:
            connection.execute(text(f"create schema if not exists {SCHEMA}"))
            connection.commit()
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        finally:
            connection.execute(select(func.pg_advisory_unlock(_ADVISORY_LOCK_KEY)))
            connection.commit()


@contextmanager
def open_study(
    store: Store, name: str, sampler: optuna.samplers.BaseSampler | None = None
) -> Iterator[optuna.Study]:
    """The study ``name`` in ``store`` (created when new), maximizing its objective; its
    connections are closed when the block ends."""
    storage = study_storage(store)
    try:
        yield optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            direction="maximize",
            load_if_exists=True,
        )
    finally:
        if isinstance(storage, RDBStorage):
            storage.engine.dispose()
