"""Alembic environment: migrates the connection the store hands over, or ``FACTORY_DB``.

The store runs migrations itself (see ``strategy_factory.store.migrate``) inside a
transaction it already holds; the fallback to ``FACTORY_DB`` serves developers running
``alembic -c src/strategy_factory/store/migrations/alembic.ini revision --autogenerate``.
"""

from __future__ import annotations

from alembic import context

from strategy_factory.settings import get_settings
from strategy_factory.store.database import create_store_engine, normalize_url
from strategy_factory.store.tables import metadata


def _migrate(connection: object) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    engine = create_store_engine(normalize_url(get_settings().db))
    with engine.connect() as fresh:
        _migrate(fresh)
        fresh.commit()
    engine.dispose()
