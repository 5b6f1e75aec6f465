"""Bring a store's schema to the newest Alembic revision, once, even with racing processes.

The first process to arrive migrates inside one transaction while holding a lock
(PostgreSQL: an advisory lock; SQLite: the write lock of ``BEGIN IMMEDIATE``); the others
wait for it, then find the schema already at head and do nothing.

Every command opens the store, and nearly always finds it at head: that check is one
plain query against :data:`HEAD_REVISION`. Alembic (a tenth of a second to import) loads
only when the schema has to be migrated or the check fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, inspect, select, text

from strategy_factory.errors import FactoryError
from strategy_factory.store.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions; a test fails until a new migration bumps it.
HEAD_REVISION = "0012"
# Any fixed 64-bit number, unique to this purpose within a PostgreSQL database.
_ADVISORY_LOCK_KEY = 0x5F_FAC7_0127


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revisions() -> set[str]:
    """The newest revision(s) the installed package knows."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """The revision(s) the database is at (empty for a fresh database)."""
    from alembic.runtime.migration import MigrationContext

    return set(MigrationContext.configure(connection).get_current_heads())


def upgrade_to_head(database: Database) -> None:
    """Migrate ``database`` to head unless it already is there."""
    with database.read() as connection:
        if _recorded_revisions(connection) == {HEAD_REVISION}:
            return
    from alembic import command

    heads = head_revisions()
    with database.write() as connection:
        if database.dialect == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
        current = current_revisions(connection)
        if current == heads:
            return
        _refuse_unknown(current, heads)
        command.upgrade(alembic_config(connection), "head")


def _recorded_revisions(connection: Connection) -> set[str]:
    """What ``alembic_version`` says, read without Alembic (empty for a fresh database)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("select version_num from alembic_version")).scalars())


def _refuse_unknown(current: set[str], heads: set[str]) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = current - known
    if unknown:
        raise FactoryError(
            f"the store's schema is at revision {', '.join(sorted(unknown))}, newer than this "
            f"strategy-factory knows (head {', '.join(sorted(heads))}): upgrade the package"
        )
