"""The store: SQLAlchemy tables, repositories and migrations, on SQLite or PostgreSQL.

``create_store()`` opens ``FACTORY_DB`` (a SQLite file by default) and migrates it; the
returned :class:`Store` groups the repositories. The job queue (``store.queue``) is durable
and safe for many workers on many machines.
"""

from strategy_factory.store.champion_slots import (
    Challenge,
    ChampionBackup,
    ChampionLogEntry,
    ChampionSlot,
    LogLine,
)
from strategy_factory.store.database import StoreUnavailableError, is_transient, normalize_url
from strategy_factory.store.learning import (
    AllocationSnapshot,
    KnowledgeEntry,
    LearningCycle,
    MetaModelRecord,
    OverfitAlert,
)
from strategy_factory.store.queue import JobQueue
from strategy_factory.store.records import (
    MIN_RANKED_TRADES,
    ClaimedJob,
    FingerprintHit,
    ForwardBar,
    ForwardState,
    ForwardStatus,
    GenerationSummary,
    Job,
    JobOutcome,
    JobRecord,
    JobStatus,
    LineageEdge,
    ModelRecord,
    Period,
    PromotedModel,
    PromotionStatus,
    Run,
    RunStatus,
    SimulationResult,
    StopReason,
    Worker,
    WorkflowRecord,
    WorkflowState,
    run_json,
)
from strategy_factory.store.runs import LeaseLostError
from strategy_factory.store.simulations import KEY_METRICS, strategy_key
from strategy_factory.store.store import Store, create_store
from strategy_factory.store.understanding import HypothesisRecord, IndicatorRecord, QueuedHypothesis

__all__ = [
    "KEY_METRICS",
    "MIN_RANKED_TRADES",
    "AllocationSnapshot",
    "Challenge",
    "ChampionBackup",
    "ChampionLogEntry",
    "ChampionSlot",
    "ClaimedJob",
    "FingerprintHit",
    "ForwardBar",
    "ForwardState",
    "ForwardStatus",
    "GenerationSummary",
    "HypothesisRecord",
    "IndicatorRecord",
    "Job",
    "JobOutcome",
    "JobQueue",
    "JobRecord",
    "JobStatus",
    "KnowledgeEntry",
    "LearningCycle",
    "LeaseLostError",
    "LineageEdge",
    "LogLine",
    "MetaModelRecord",
    "ModelRecord",
    "OverfitAlert",
    "Period",
    "PromotedModel",
    "PromotionStatus",
    "QueuedHypothesis",
    "Run",
    "RunStatus",
    "SimulationResult",
    "StopReason",
    "Store",
    "StoreUnavailableError",
    "Worker",
    "WorkflowRecord",
    "WorkflowState",
    "create_store",
    "is_transient",
    "normalize_url",
    "run_json",
    "strategy_key",
]
