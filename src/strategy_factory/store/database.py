"""Connections to the store: URL normalization, engines, transactions and retries.

SQLite is made fit for several local processes (WAL journal, foreign keys, a busy
timeout) and every writing transaction starts with ``BEGIN IMMEDIATE``: it takes the
write lock up front, so a transaction that reads and then writes never fails half-way on
a lock another writer took in between. PostgreSQL URLs are pointed at psycopg 3.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import StaticPool

from strategy_factory.errors import FactoryError
from strategy_factory.store.columns import SQLITE_CLOCK, sqlite_clock

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 30
# Backoff of the retried operations: about 6 s in all, long enough to ride out a restart
# of PostgreSQL or a burst of SQLite lock contention.
RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}


def normalize_url(url: str) -> URL:
    """Parse a store URL, pointing PostgreSQL at psycopg 3 (``postgresql+psycopg``).

    Accepts ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite://`` (in memory)
    and ``postgresql://user:password@host:port/database`` (or ``postgres://``).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise FactoryError(
            f"store URL {url!r} is not a database URL: use sqlite:///factory.db or "
            "postgresql://user:password@host:5432/database"
        ) from exc
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed.set(drivername="sqlite+pysqlite")
    raise FactoryError(
        f"store URL {parsed.render_as_string(hide_password=True)!r} uses "
        f"{parsed.drivername!r}: the store supports sqlite:/// and postgresql:// URLs"
    )


def _in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def create_store_engine(url: URL) -> Engine:
    """An engine for a normalized store URL, configured for its backend."""
    if url.get_backend_name() == "postgresql":
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "strategy-factory"},
        )
    if _in_memory(url):
        # One shared connection: an in-memory database exists only inside it (single thread).
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(url.database or "").expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}
        )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to us: pysqlite's own implicit BEGINs are deferred.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function(SQLITE_CLOCK, 1, sqlite_clock)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("store_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so); retried, because processes opening a fresh
    file at once can get "database is locked" here without the busy handler waiting."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.01
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


class StoreUnavailableError(FactoryError):
    """The store stayed unreachable past every retry (the database is down or cut off)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is the connection going away (worth waiting out)."""
    if not isinstance(exc, DBAPIError):
        return False
    return isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated


class Database:
    """An engine plus the transaction discipline every repository uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A writing transaction (holds SQLite's write lock from its first statement)."""
        with self.engine.connect() as connection:
            connection.execution_options(store_write=True)
            with connection.begin():
                yield connection

    def retrying(self, operation: Callable[[Connection, bool], T], write: bool = True) -> T:
        """Run ``operation`` in a transaction, retrying when the connection drops.

        ``operation(connection, retried)`` must be idempotent: it may run again after a
        failure whose commit state is unknown, and ``retried`` tells it so. The backoff
        (:data:`RETRY_DELAYS`, about 6 s) rides out a database restart; a store that stays
        away longer raises the last connection error.
        """
        for attempt, delay in enumerate(RETRY_DELAYS):
            try:
                return self._run_once(operation, attempt > 0, write)
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                time.sleep(delay * (0.5 + random.random()))
        return self._run_once(operation, True, write)

    def reading(self, query: Callable[[Connection], T]) -> T:
        """Run ``query`` in a read transaction, retried like :meth:`retrying`."""
        return self.retrying(lambda connection, _: query(connection), write=False)

    def _run_once(
        self, operation: Callable[[Connection, bool], T], retried: bool, write: bool
    ) -> T:
        with self.write() if write else self.read() as connection:
            return operation(connection, retried)

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT (it has ``on_conflict_do_nothing`` on both backends)."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
