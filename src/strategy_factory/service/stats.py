"""System-wide counts for the status page.

The run and promotion repositories list rows; the status page needs totals, so they are
counted here with ``GROUP BY`` (jobs are counted by ``store.queue.counts_by_status``).
"""

from __future__ import annotations

from sqlalchemy import func, select

from strategy_factory.store import RunStatus, Store
from strategy_factory.store.tables import evolution_runs, promoted_models


def run_counts(store: Store) -> dict[str, int]:
    """Runs per status (every status present, zero when none)."""
    counts = dict.fromkeys((status.value for status in RunStatus), 0)
    query = select(evolution_runs.c.status, func.count()).group_by(evolution_runs.c.status)
    with store.database.read() as connection:
        counts |= dict(connection.execute(query).all())
    return counts


def promoted_count(store: Store) -> int:
    """How many strategies have been promoted."""
    query = select(func.count()).select_from(promoted_models)
    with store.database.read() as connection:
        return connection.execute(query).scalar_one()
