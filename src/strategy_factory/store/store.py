"""The store: one object holding a repository per table group, and :func:`create_store`."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import OperationalError

from strategy_factory.errors import FactoryError
from strategy_factory.settings import get_settings
from strategy_factory.store.champion_slots import ChampionRepository
from strategy_factory.store.database import Database, create_store_engine, normalize_url
from strategy_factory.store.forward import ForwardRepository
from strategy_factory.store.learning import (
    AlertRepository,
    AllocationRepository,
    CycleRepository,
    KnowledgeRepository,
    MetaModelRepository,
    SettingsRepository,
)
from strategy_factory.store.lineage import LineageRepository
from strategy_factory.store.migrate import upgrade_to_head
from strategy_factory.store.models import ModelRepository
from strategy_factory.store.promoted import PromotedRepository
from strategy_factory.store.queue import JobQueue
from strategy_factory.store.runs import RunRepository
from strategy_factory.store.simulations import SimulationRepository
from strategy_factory.store.understanding import HypothesisRepository, IndicatorRepository
from strategy_factory.store.workers import WorkerRepository
from strategy_factory.store.workflows import WorkflowRepository


class Store:
    """Everything the factory records, grouped by what it is about.

    ``runs``, ``models`` (and fingerprints), ``lineage``, ``simulations``, ``promoted``,
    ``queue``, ``workers`` and ``workflows``; the learning layer's ``forward`` (forward
    tracking of promotions), ``settings``, ``allocations``, ``alerts``, ``meta_models``,
    ``knowledge`` and ``cycles``; the understanding layer's ``champions`` (champion
    slots, challenges, backups and their audit log), ``hypotheses`` (every hypothesis
    tested) and ``indicators`` (discovered by the formula search). Methods return frozen
    dataclasses, never live rows.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.runs = RunRepository(database)
        self.models = ModelRepository(database)
        self.lineage = LineageRepository(database)
        self.simulations = SimulationRepository(database)
        self.promoted = PromotedRepository(database)
        self.forward = ForwardRepository(database)
        self.queue = JobQueue(database)
        self.workers = WorkerRepository(database)
        self.workflows = WorkflowRepository(database)
        self.settings = SettingsRepository(database)
        self.allocations = AllocationRepository(database)
        self.alerts = AlertRepository(database)
        self.meta_models = MetaModelRepository(database)
        self.knowledge = KnowledgeRepository(database)
        self.cycles = CycleRepository(database)
        self.champions = ChampionRepository(database)
        self.hypotheses = HypothesisRepository(database)
        self.indicators = IndicatorRepository(database)

    @property
    def url(self) -> str:
        """The store's URL with any password masked."""
        return self.database.engine.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.database.dialect

    def close(self) -> None:
        """Close every pooled connection (the store can still be used afterwards)."""
        self.database.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def create_store(url: str | None = None) -> Store:
    """Open the store at ``url`` (default ``FACTORY_DB``), migrating its schema to head.

    Example: ``create_store("sqlite:///factory.db")`` or
    ``create_store("postgresql://factory:secret@db.internal:5432/factory")``.
    """
    parsed = normalize_url(url or get_settings().db)
    database = Database(create_store_engine(parsed))
    try:
        upgrade_to_head(database)
    except OperationalError as exc:
        database.dispose()
        detail = " ".join(str(exc.orig).split())
        raise FactoryError(
            f"cannot open the store at {parsed.render_as_string(hide_password=True)}: "
            f"{detail}; check FACTORY_DB (or --db) and that the database is reachable"
        ) from exc
    return Store(database)
