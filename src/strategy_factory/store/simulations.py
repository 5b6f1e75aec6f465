"""Simulation results: one row per (run, model, period, strategy), written idempotently.

A strategy is identified by its canonical key: ticker, threshold, z_limit, regime_filter
(label lists sorted and de-duplicated) and mode. Inserting a result that exists is a
no-op, so a resumed run can re-send a whole grid and nothing is counted twice; the number
returned is exactly how many cells were new, fit for advancing a run's progress counter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from strategy_factory.errors import FactoryError
from strategy_factory.store.database import Database
from strategy_factory.store.records import Period, SimulationResult, canonical_json, parse_enum
from strategy_factory.store.tables import simulation_results as results

STRATEGY_FIELDS = ("ticker", "threshold", "z_limit", "regime_filter", "mode")
KEY_METRICS = (
    "trades",
    "sqn",
    "sqn_100",
    "profit_factor",
    "weekly_consistency",
    "sharpe",
    "total_return",
    "max_drawdown",
)


class SimulationRepository:
    """The ``simulation_results`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add_many(
        self, run_id: str, model_id: str, period: str, rows: Iterable[Mapping[str, Any]]
    ) -> int:
        """Record grid results, skipping any already recorded; returns how many were new.

        Each row is one grid cell: the strategy fields ``ticker``, ``threshold``, ``mode``
        (and optionally ``z_limit``, ``regime_filter``) plus its metrics, e.g. a record of
        the backtest metrics table. Every non-strategy field is kept in ``metrics``; the key
        metrics (trades, sqn, sqn_100, profit_factor, weekly_consistency, sharpe, total_return,
        max_drawdown) also get their own columns for sorting.
        """
        scope = {
            "run_id": run_id,
            "model_id": model_id,
            "period": parse_enum(Period, period, "period").value,
        }
        values = {}
        for row in rows:
            cell = _row_values(scope, row)
            values.setdefault(cell["strategy_key"], cell)
        recorded = select(results.c.strategy_key).where(
            *(results.c[name] == value for name, value in scope.items())
        )

        def operation(connection: Connection, _: bool) -> int:
            fresh = dict(values)
            if self._db.dialect == "postgresql":
                # Writers of the same model's results take turns, so the count stays exact.
                key = func.hashtext(f"{run_id}/{model_id}/{scope['period']}")
                connection.execute(select(func.pg_advisory_xact_lock(key)))
            for strategy in connection.execute(recorded).scalars():
                fresh.pop(strategy, None)
            if fresh:
                # A plain executemany (no RETURNING): psycopg pipelines it, several times
                # faster than one giant multi-row statement.
                connection.execute(_insert_new(self._db), list(fresh.values()))
            return len(fresh)

        return self._db.retrying(operation)

    def top(
        self,
        run_id: str,
        *,
        model_id: str | None = None,
        period: str = Period.SELECTION.value,
        metric: str = "sqn_100",
        limit: int = 10,
        descending: bool = True,
    ) -> list[SimulationResult]:
        """The best ``limit`` results of a run (or one of its models) by a key metric."""
        if metric not in KEY_METRICS:
            raise FactoryError(f"cannot rank by {metric!r}: choose one of {', '.join(KEY_METRICS)}")
        column = results.c[metric]
        order = column.desc().nulls_last() if descending else column.asc().nulls_last()
        query = _scoped(select(results), run_id, model_id, period).order_by(order, results.c.id)
        limited = query.limit(limit)
        return self._db.reading(
            lambda c: [SimulationResult.from_row(row) for row in c.execute(limited)]
        )

    def distinct_best(
        self, run_id: str, *, period: str = Period.SELECTION.value, min_trades: int, limit: int
    ) -> list[tuple[SimulationResult, int]]:
        """The best distinct outcomes of a run by SQN-100, among results with at least
        ``min_trades`` trades, each with how many results had exactly that outcome.

        An outcome is the key metrics: models or tickers that trade alike repeat it, and
        it is shown once (by its first recorded result). Ties: Sharpe, then trades.
        """
        outcome = [results.c[name] for name in KEY_METRICS]
        first = func.min(results.c.id)
        query = (
            _ranked(select(first, func.count()), run_id, period, min_trades)
            .group_by(*outcome)
            .order_by(*by_sqn_100(), first)
            .limit(limit)
        )

        def read(connection: Connection) -> list[tuple[SimulationResult, int]]:
            counts = dict(connection.execute(query).all())
            rows = connection.execute(select(results).where(results.c.id.in_(list(counts))))
            found = {row.id: SimulationResult.from_row(row) for row in rows}
            return [(found[result_id], alike) for result_id, alike in counts.items()]

        return self._db.reading(read)

    def best_per_model(
        self, run_id: str, *, period: str = Period.SELECTION.value, min_trades: int
    ) -> dict[str, SimulationResult]:
        """Each model's best result by SQN-100 among those with at least ``min_trades``."""
        rank = func.row_number().over(
            partition_by=results.c.model_id, order_by=[*by_sqn_100(), results.c.id]
        )
        ranked = _ranked(select(results.c.id, rank.label("rank")), run_id, period, min_trades)
        best = ranked.subquery()
        query = select(results).join(best, best.c.id == results.c.id).where(best.c.rank == 1)
        return self._db.reading(
            lambda c: {row.model_id: SimulationResult.from_row(row) for row in c.execute(query)}
        )

    def find(
        self, run_id: str, model_id: str, period: str, strategy: Mapping[str, Any]
    ) -> SimulationResult | None:
        """The result of one strategy (ticker, threshold, z_limit, regime_filter, mode)."""
        query = _scoped(select(results), run_id, model_id, period).where(
            results.c.strategy_key == strategy_key(strategy)
        )
        row = self._db.reading(lambda connection: connection.execute(query).first())
        return None if row is None else SimulationResult.from_row(row)

    def of_run(
        self, run_id: str, *, period: str = Period.SELECTION.value
    ) -> list[SimulationResult]:
        """Every result of a run's period, in the order they were recorded."""
        query = _scoped(select(results), run_id, None, period).order_by(results.c.id)
        return self._db.reading(
            lambda c: [SimulationResult.from_row(row) for row in c.execute(query)]
        )

    def count(self, run_id: str, *, model_id: str | None = None, period: str | None = None) -> int:
        """How many results a run (or one of its models, or one period) has."""
        query = _scoped(select(func.count()).select_from(results), run_id, model_id, period)
        return self._db.reading(lambda connection: connection.execute(query).scalar_one())


def _insert_new(database: Database) -> Any:
    return database.insert(results).on_conflict_do_nothing(
        index_elements=[
            results.c.run_id,
            results.c.model_id,
            results.c.period,
            results.c.strategy_key,
        ]
    )


def strategy_key(row: Mapping[str, Any]) -> str:
    """The canonical text identifying a strategy of the grid (see the module docstring)."""
    return canonical_json(_strategy(row))


def _strategy(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _strategy_value(name, row.get(name)) for name in STRATEGY_FIELDS}


def _strategy_value(name: str, value: Any) -> Any:
    if name in {"threshold", "z_limit"}:
        return _number(value)
    if name == "regime_filter":
        return _regime_filter(value)
    return str(value)


def _regime_filter(value: Any) -> dict[str, list[int]] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return {
        str(column): sorted({int(label) for label in labels})
        for column, labels in sorted(dict(value).items())
    }


def _row_values(scope: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in ("ticker", "threshold", "mode") if name not in row]
    if missing:
        raise FactoryError(
            f"a simulation result needs {', '.join(missing)}; got fields {', '.join(row)}"
        )
    strategy = _strategy(row)
    metrics = {name: value for name, value in row.items() if name not in STRATEGY_FIELDS}
    key_metrics = {name: _number(metrics.get(name)) for name in KEY_METRICS}
    if key_metrics["trades"] is not None:
        key_metrics["trades"] = int(key_metrics["trades"])
    return {
        **scope,
        **strategy,
        **key_metrics,
        "strategy_key": canonical_json(strategy),
        "metrics": metrics,
    }


def _number(value: Any) -> float | None:
    # NaN means "undefined": store NULL so it sorts last on both backends.
    number = None if value is None else float(value)
    return None if number is None or math.isnan(number) else number


def _ranked(query: Select, run_id: str, period: str, min_trades: int) -> Select:
    """Results of a run's period that can be ranked by SQN-100 (see :func:`rankable`)."""
    return _scoped(query, run_id, None, period).where(rankable(min_trades))


def rankable(min_trades: int) -> ColumnElement[bool]:
    """A result that can be "best": a defined SQN-100 and at least ``min_trades`` trades."""
    return and_(results.c.sqn_100.is_not(None), results.c.trades >= min_trades)


def by_sqn_100() -> list[ColumnElement[Any]]:
    """Best first by SQN-100, then Sharpe, then trades (the gate's ranking)."""
    return [
        results.c.sqn_100.desc().nulls_last(),
        results.c.sharpe.desc().nulls_last(),
        results.c.trades.desc(),
    ]


def _scoped(query: Select, run_id: str, model_id: str | None, period: str | None) -> Select:
    query = query.where(results.c.run_id == run_id)
    if model_id is not None:
        query = query.where(results.c.model_id == model_id)
    if period is not None:
        query = query.where(results.c.period == parse_enum(Period, period, "period").value)
    return query
