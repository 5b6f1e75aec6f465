"""Forward tracking of promoted strategies: where each stands, and its bars.

``forward_state`` holds one row per tracked promotion: the last bar processed and the
state that continues the tracking exactly (``learning.forward`` owns its contents).
``forward_results`` holds one row per promotion and forward bar.

An update moves a promotion from one last bar to the next with :meth:`advance`: a
compare-and-set on ``last_bar`` in the same transaction as the new bars, so of two
updates racing over the same bars exactly one records them and the other learns it lost
(as Optuna's trial state updates do). A bar is also keyed by (promotion, timestamp), so
no path can record it twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from strategy_factory.store.columns import utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import ForwardBar, ForwardState, ForwardStatus, parse_enum
from strategy_factory.store.tables import forward_results, forward_state


class ForwardRepository:
    """The ``forward_state`` and ``forward_results`` tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def get(self, promotion_id: str) -> ForwardState | None:
        """The forward state of a promotion, or None before its first update."""
        query = select(forward_state).where(forward_state.c.promotion_id == promotion_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        return None if row is None else ForwardState.from_row(row)

    def states(self) -> list[ForwardState]:
        """Every tracked promotion's state, the earliest started first."""
        query = select(forward_state).order_by(
            forward_state.c.created_at, forward_state.c.promotion_id
        )
        return self._db.reading(lambda c: [ForwardState.from_row(r) for r in c.execute(query)])

    def start(
        self,
        promotion_id: str,
        *,
        symbol: str,
        started_after: datetime,
        state: Mapping[str, Any],
        status: str,
        status_reason: str | None = None,
    ) -> ForwardState:
        """Begin tracking a promotion after its run's last bar (``started_after``).

        Starting it again (a racing update, a retried write) keeps the first start.
        """
        values = {
            "promotion_id": promotion_id,
            "symbol": symbol,
            "started_after": started_after,
            "last_bar": started_after,
            "bars_tracked": 0,
            "state": dict(state),
            "status": parse_enum(ForwardStatus, status, "forward status").value,
            "status_reason": status_reason,
        }
        insert = (
            self._db.insert(forward_state)
            .values(values)
            .on_conflict_do_nothing(index_elements=[forward_state.c.promotion_id])
        )
        query = select(forward_state).where(forward_state.c.promotion_id == promotion_id)

        def operation(connection: Connection, _: bool) -> ForwardState:
            connection.execute(insert)
            return ForwardState.from_row(connection.execute(query).one())

        return self._db.retrying(operation)

    def advance(
        self,
        promotion_id: str,
        *,
        after: datetime,
        bars: Sequence[ForwardBar],
        state: Mapping[str, Any],
        status: str,
        status_reason: str | None = None,
    ) -> bool:
        """Record ``bars`` (all after ``after``) and the state at the last of them, if the
        promotion's last processed bar is still ``after``; True when this call did it.

        False means another update got there first: nothing was written.
        """
        if not bars:
            raise ValueError("advance needs at least one bar")
        last = bars[-1].timestamp
        move = (
            update(forward_state)
            .where(forward_state.c.promotion_id == promotion_id, forward_state.c.last_bar == after)
            .values(
                last_bar=last,
                bars_tracked=forward_state.c.bars_tracked + len(bars),
                state=dict(state),
                status=parse_enum(ForwardStatus, status, "forward status").value,
                status_reason=status_reason,
                updated_at=utcnow(),
            )
        )
        rows = [
            {
                "promotion_id": promotion_id,
                "timestamp": bar.timestamp,
                "position": int(bar.position),
                "bar_return": float(bar.bar_return),
            }
            for bar in bars
        ]
        insert = self._db.insert(forward_results).on_conflict_do_nothing(
            index_elements=[forward_results.c.promotion_id, forward_results.c.timestamp]
        )
        current = select(forward_state.c.last_bar).where(
            forward_state.c.promotion_id == promotion_id
        )

        def operation(connection: Connection, retried: bool) -> bool:
            if connection.execute(move).rowcount != 1:
                # A retry after a commit whose answer was lost finds its own bars recorded.
                return retried and connection.execute(current).scalar_one_or_none() == last
            connection.execute(insert, rows)
            return True

        return self._db.retrying(operation)

    def set_status(self, promotion_id: str, status: str, status_reason: str | None) -> None:
        """Say where a promotion's tracking stands without recording bars."""
        statement = (
            update(forward_state)
            .where(forward_state.c.promotion_id == promotion_id)
            .values(
                status=parse_enum(ForwardStatus, status, "forward status").value,
                status_reason=status_reason,
                updated_at=utcnow(),
            )
        )
        self._db.retrying(lambda connection, _: connection.execute(statement))

    def results(self, promotion_id: str) -> list[ForwardBar]:
        """A promotion's forward bars in time order."""
        query = (
            select(
                forward_results.c.timestamp,
                forward_results.c.position,
                forward_results.c.bar_return,
            )
            .where(forward_results.c.promotion_id == promotion_id)
            .order_by(forward_results.c.timestamp)
        )
        return self._db.reading(
            lambda c: [
                ForwardBar(row.timestamp, row.position, row.bar_return) for row in c.execute(query)
            ]
        )
