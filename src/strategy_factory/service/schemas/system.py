"""What the health, statistics, feature and importance endpoints answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from strategy_factory.execution.settings import ExecutorSettings


class HealthOut(BaseModel):
    """The service is up and its store answers; ``backend``, ``store`` and where runs' units
    go (``executor``) only on loopback
    (off loopback, where /health needs no token, the store's URL is nobody's business)."""

    status: str
    version: str
    backend: str | None = None
    store: str | None = None
    executor: ExecutorSettings | None = None


class StatsOut(BaseModel):
    """The system at a glance."""

    runs: dict[str, int]
    jobs: dict[str, int]
    promoted: int
    live_workers: int
    active_runs: list[str]


class SymbolOut(BaseModel):
    """A symbol in the bar store and what is known about it."""

    symbol: str
    frequency: str
    first: datetime
    last: datetime
    rows: int
    has_volume: bool
    has_ohlc: bool
    source: str
    extra_columns: list[str]


class FeatureOut(BaseModel):
    """One feature a run on the symbol can use."""

    name: str
    description: str


class FeatureColumnsOut(BaseModel):
    """The features a run on ``symbol`` with ``references`` can use (seed_features)."""

    symbol: str
    references: list[str]
    features: list[FeatureOut]


class FeatureScore(BaseModel):
    """One feature's importance."""

    feature: str
    score: float | None


class ImportanceOut(BaseModel):
    """A model's feature importance, most important first."""

    model_id: str
    method: str | None
    features: list[FeatureScore]
