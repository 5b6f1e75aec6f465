"""Column types and the database clock shared by every table.

Two things differ between SQLite and PostgreSQL and are settled here once:

* Time. Every timestamp the store writes comes from the DATABASE clock, so leases and
  heartbeats agree across machines whose clocks drift: ``now()`` on PostgreSQL; on SQLite,
  whose file lives on one machine, that machine's clock through a SQL function registered
  on each connection (:func:`sqlite_clock`, microseconds where SQLite's own has
  milliseconds, so consecutive writes stay ordered). Python sees UTC, aware datetimes.
* JSON. PostgreSQL's JSON types reject ``NaN`` and ``Infinity``, which metrics legitimately
  contain (a profit factor with no losing trade is infinite), so non-finite floats travel as
  the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` and come back as floats.
"""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, Double, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

SQLITE_CLOCK = "factory_utcnow"
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no timezone; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Real(TypeDecorator[float]):
    """A double-precision number that always comes back as a float.

    SQLite may hand back an integral REAL as an int (notably through RETURNING).
    """

    impl = Double()
    cache_ok = True

    def process_result_value(self, value: float | None, dialect: Dialect) -> float | None:
        return None if value is None else float(value)


class JsonDocument(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) that round-trips NaN, ±infinity and NumPy scalars."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _encode(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _decode(value)


def _encode(value: Any) -> Any:
    # A NumPy value exists only once NumPy is imported: the store itself never imports it,
    # so commands that only read the store start without it.
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(key): _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple) or (numpy is not None and isinstance(value, numpy.ndarray)):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


class utcnow(FunctionElement[datetime]):  # noqa: N801 - reads as the SQL function it renders
    """The database clock: the current UTC time of the database server."""

    type = UtcDateTime()
    inherit_cache = True


class utc_after(FunctionElement[datetime]):  # noqa: N801
    """The database clock plus a number of seconds (a bound float), e.g. a lease expiry."""

    type = UtcDateTime()
    inherit_cache = True


@compiles(utcnow, "postgresql")
def _postgres_now(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "now()"


@compiles(utcnow, "sqlite")
def _sqlite_now(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_CLOCK}(0)"


@compiles(utc_after, "postgresql")
def _postgres_after(element: utc_after, compiler: SQLCompiler, **kw: Any) -> str:
    return f"now() + make_interval(secs => {compiler.process(element.clauses, **kw)})"


@compiles(utc_after, "sqlite")
def _sqlite_after(element: utc_after, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_CLOCK}({compiler.process(element.clauses, **kw)})"


def sqlite_clock(seconds: float) -> str:
    """UTC now plus ``seconds``, as the text SQLAlchemy's SQLite DATETIME stores and parses.

    The same layout as bound datetimes, so both compare correctly as text.
    """
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.%f")
