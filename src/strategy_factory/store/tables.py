"""The store's tables (SQLAlchemy Core); the Alembic migrations must build exactly these.

Timestamps default to the database clock (:func:`utcnow`) at insert time. Status-like
columns are plain strings guarded by CHECK constraints so both backends accept the same
values. ``evolution_runs.best_model_id`` and ``promotion_id`` carry no foreign key:
models reference their run, and a cycle of foreign keys would make both unwritable.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from strategy_factory.store.columns import JsonDocument, Real, UtcDateTime, utcnow

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")
RUN_STATUSES = ("pending", "running", "completed", "failed", "stopped")
STOP_REASONS = (
    "max_generations",
    "cannot_prune",
    "promoted",
    "failed",
    "stopped_by_user",
    "no_signal",
)
JOB_STATUSES = ("pending", "running", "done", "failed")
PERIODS = ("selection", "holdout")
WORKER_STATUSES = ("running", "stopped", "lost")
WORKFLOW_STATES = ("pending", "running", "done", "failed")
PROMOTION_STATUSES = ("active", "demoted")
FORWARD_STATUSES = ("tracking", "waiting", "failed")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def _created_at() -> Column:
    return Column("created_at", UtcDateTime(), nullable=False, default=utcnow())


evolution_runs = Table(
    "evolution_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("status", String(16), nullable=False, default="pending"),
    Column("symbol", String(64), nullable=False),
    Column("algorithm", String(64), nullable=False),
    Column("config", JsonDocument(), nullable=False),
    Column("current_generation", Integer, nullable=False, default=0),
    Column("max_generations", Integer, nullable=False),
    Column("models_trained", Integer, nullable=False, default=0),
    Column("models_total", Integer, nullable=False, default=0),
    Column("simulations_completed", BigInteger, nullable=False, default=0),
    Column("simulations_total", BigInteger, nullable=False, default=0),
    Column("step_status", Text),
    # SQN-100 (capped at 100 trades) of the run's best configuration.
    Column("best_sqn_100", Real()),
    Column("best_model_id", String(64)),
    Column("promoted", Boolean, nullable=False, default=False),
    Column("promotion_id", String(32)),
    Column("configurations_tried", BigInteger, nullable=False, default=0),
    Column("stop_reason", String(32)),
    Column("error", Text),
    Column("stop_requested", Boolean, nullable=False, default=False),
    # The lease of the process driving the run (see store.runs.RunRepository.acquire).
    Column("owner_id", String(128)),
    Column("owner_expires_at", UtcDateTime()),
    _one_of("status", RUN_STATUSES, "status"),
    _one_of("stop_reason", STOP_REASONS, "stop_reason"),
    Index(None, "created_at"),
)

models = Table(
    "models",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_id", String(32), ForeignKey("evolution_runs.id")),
    Column("generation", Integer, nullable=False, default=0),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("algorithm", String(64), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("features", JsonDocument(), nullable=False),
    Column("chosen_config", JsonDocument()),
    Column("validation_metrics", JsonDocument()),
    Column("importance", JsonDocument()),
    Column("data_ranges", JsonDocument()),
    Column("artifact_path", Text),
    _created_at(),
    Index(None, "run_id", "generation"),
)

# The fitted model itself (the safe artifact format of strategy_factory.models.artifacts),
# so a worker on any machine that shares the database can load a model another trained.
model_artifacts = Table(
    "model_artifacts",
    metadata,
    Column("model_id", String(64), ForeignKey("models.id"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    _created_at(),
)

# Pickled artifacts of stores older than revision 0004, kept but never read (reading a
# pickle runs code); their models are retrained on demand.
legacy_model_artifacts = Table(
    "legacy_model_artifacts",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

model_fingerprints = Table(
    "model_fingerprints",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("model_id", String(64), ForeignKey("models.id"), nullable=False),
    # The exact canonical text that was hashed, so a fingerprint can be re-derived.
    Column("config", Text, nullable=False),
    Column("fingerprint_version", String(32), nullable=False),
    _created_at(),
    Column("hits", Integer, nullable=False, default=0),
)

# A fingerprint being trained right now, so that concurrent runs train it once: the
# claim holder trains, the others wait for the model or for the claim's lease to expire.
training_claims = Table(
    "training_claims",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("run_id", String(32)),
    Column("owner_id", String(128), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    _created_at(),
)

evolution_log = Table(
    "evolution_log",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("evolution_runs.id"), nullable=False),
    Column("parent_model_id", String(64), ForeignKey("models.id"), index=True),
    Column("child_model_id", String(64), ForeignKey("models.id"), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("parent_sqn", Real()),
    Column("pruned_features", JsonDocument(), nullable=False),
    Column("remaining_features", JsonDocument(), nullable=False),
    Column("reason", Text),
    _created_at(),
    Index(None, "run_id", "generation"),
    Index("uq_evolution_log_run_child", "run_id", "child_model_id", unique=True),
)

simulation_results = Table(
    "simulation_results",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("evolution_runs.id"), nullable=False),
    Column("model_id", String(64), ForeignKey("models.id"), nullable=False),
    Column("period", String(16), nullable=False),
    Column("ticker", String(64), nullable=False),
    Column("threshold", Real(), nullable=False),
    Column("z_limit", Real()),
    Column("regime_filter", JsonDocument()),
    Column("mode", String(16), nullable=False),
    # Canonical text of (ticker, threshold, z_limit, regime_filter, mode): one NOT NULL key
    # column, because a NULL z_limit or regime_filter never collides in a unique constraint.
    Column("strategy_key", Text, nullable=False),
    Column("trades", Integer),
    Column("sqn", Real()),
    Column("sqn_100", Real()),
    Column("profit_factor", Real()),
    Column("weekly_consistency", Real()),
    Column("sharpe", Real()),
    Column("total_return", Real()),
    Column("max_drawdown", Real()),
    Column("metrics", JsonDocument(), nullable=False),
    _created_at(),
    UniqueConstraint("run_id", "model_id", "period", "strategy_key", name="uq_simulation_results"),
    _one_of("period", PERIODS, "period"),
)

promoted_models = Table(
    "promoted_models",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("run_id", String(32), ForeignKey("evolution_runs.id"), nullable=False, index=True),
    Column("model_id", String(64), ForeignKey("models.id"), nullable=False),
    Column("strategy", JsonDocument(), nullable=False),
    Column("criteria", JsonDocument(), nullable=False),
    Column("selection_metrics", JsonDocument(), nullable=False),
    Column("holdout_metrics", JsonDocument(), nullable=False),
    Column("configurations_tried", BigInteger, nullable=False),
    Column("dsr", Real()),
    Column("pbo", Real()),
    Column("verdict", JsonDocument(), nullable=False),
    Column("lineage", JsonDocument(), nullable=False),
    _created_at(),
    # Its life after promotion: 'active' (traded forward, allocated) or 'demoted', and why.
    Column("status", String(16), nullable=False, default="active", server_default="active"),
    Column("status_reason", Text),
    Column("status_changed_at", UtcDateTime()),
    Index("uq_promoted_models_run_model", "run_id", "model_id", unique=True),
    _one_of("status", PROMOTION_STATUSES, "status"),
)

# Where each promotion's forward tracking (paper trading on bars that arrived after its
# run's data) stands: the last bar processed and the state that continues it exactly
# (see learning.forward). ``last_bar`` moves only by compare-and-set, so two updates at
# once record each bar once.
forward_state = Table(
    "forward_state",
    metadata,
    Column("promotion_id", String(32), ForeignKey("promoted_models.id"), primary_key=True),
    Column("symbol", String(64), nullable=False),
    # The promotion's last bar: forward results start after it.
    Column("started_after", UtcDateTime(), nullable=False),
    Column("last_bar", UtcDateTime(), nullable=False),
    Column("bars_tracked", BigInteger, nullable=False, default=0),
    Column("state", JsonDocument(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
    _one_of("status", FORWARD_STATUSES, "status"),
)

# One row per promotion and forward bar: the position held at the bar's close and the
# bar's return (costs included). The key makes recording a bar twice impossible.
forward_results = Table(
    "forward_results",
    metadata,
    Column("promotion_id", String(32), ForeignKey("promoted_models.id"), primary_key=True),
    Column("timestamp", UtcDateTime(), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("bar_return", Real(), nullable=False),
)

priority_jobs = Table(
    "priority_jobs",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("evolution_runs.id")),
    Column("kind", String(32), nullable=False),
    Column("payload", JsonDocument(), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("parent_sqn", Real()),
    Column("status", String(16), nullable=False, default="pending"),
    _created_at(),
    Column("claimed_at", UtcDateTime()),
    Column("claimed_by", String(128)),
    Column("lease_token", String(32)),
    Column("lease_expires_at", UtcDateTime()),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False, default=3),
    Column("result", JsonDocument()),
    Column("error", Text),
    Column("completed_at", UtcDateTime()),
    _one_of("status", JOB_STATUSES, "status"),
    CheckConstraint("max_attempts >= 1", name="max_attempts"),
    Index(None, "status", "parent_sqn", "created_at"),
    Index(None, "status", "lease_expires_at"),
)
# NULL never equals NULL in a unique index, so jobs without a run get their own index.
Index(
    "uq_priority_jobs_run_dedup",
    priority_jobs.c.run_id,
    priority_jobs.c.dedup_key,
    unique=True,
    postgresql_where=priority_jobs.c.run_id.is_not(None),
    sqlite_where=priority_jobs.c.run_id.is_not(None),
)
Index(
    "uq_priority_jobs_dedup",
    priority_jobs.c.dedup_key,
    unique=True,
    postgresql_where=priority_jobs.c.run_id.is_(None),
    sqlite_where=priority_jobs.c.run_id.is_(None),
)

# The claim order over pending jobs (queue_sql.PRIORITY), so a claim reads k rows instead
# of sorting the whole backlog. The SQLite migration leaves out NULLS LAST, which SQLite
# rejects in an index (its descending order puts NULLs last anyway).
Index(
    "ix_priority_jobs_claim_order",
    priority_jobs.c.parent_sqn.desc().nulls_last(),
    priority_jobs.c.created_at,
    priority_jobs.c.id,
    postgresql_where=priority_jobs.c.status == "pending",
    sqlite_where=priority_jobs.c.status == "pending",
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False, default=utcnow()),
    Column("last_heartbeat", UtcDateTime(), nullable=False, default=utcnow()),
    Column("status", String(16), nullable=False, default="running"),
    Column("current_job_id", _SERIAL, ForeignKey("priority_jobs.id")),
    _one_of("status", WORKER_STATUSES, "status"),
    Index(None, "status", "last_heartbeat"),
)

# A mirror of each workflow's manifest (``results/<id>/metadata/workflow.json``, which stays
# the source of truth), rewritten after every manifest save; see store.workflows.
workflows = Table(
    "workflows",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("workspace", Text, nullable=False),
    Column("config", JsonDocument(), nullable=False),
    # Per phase: name, type, state, progress, summary, error, started_at, finished_at.
    Column("phases", JsonDocument(), nullable=False),
    Column("edits", JsonDocument(), nullable=False),
    # The manifest's own times (when the workflow was created and last saved).
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    _one_of("state", WORKFLOW_STATES, "state"),
    Index(None, "created_at"),
)

# The learning layer (strategy_factory.learning). Settings are one validated document per
# name ("learning"); the API and CLI replace it whole, so a refused value changes nothing.
settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JsonDocument(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
)

ALLOCATION_STATES = ("allocated", "infeasible", "empty")

# One capital allocation over the active promotions: the weights (empty unless allocated),
# the risk figures, the change against the previous allocated snapshot, or why none.
allocator_snapshots = Table(
    "allocator_snapshots",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("state", String(16), nullable=False),
    Column("weights", JsonDocument(), nullable=False),
    Column("risk", JsonDocument(), nullable=False),
    Column("diff", JsonDocument(), nullable=False),
    Column("reason", Text),
    Column("settings", JsonDocument(), nullable=False),
    _one_of("state", ALLOCATION_STATES, "state"),
    Index(None, "created_at"),
)

# A promotion whose forward performance decays against what its promotion promised. One
# open alert per promotion: while it is unacknowledged the monitor refreshes its evidence.
overfit_alerts = Table(
    "overfit_alerts",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("promotion_id", String(32), ForeignKey("promoted_models.id"), nullable=False),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
    Column("test", String(64), nullable=False),
    Column("statistic", Real()),
    Column("threshold", Real()),
    Column("evidence", JsonDocument(), nullable=False),
    Column("demoted", Boolean, nullable=False, default=False),
    Column("acknowledged_at", UtcDateTime()),
    Column("acknowledged_by", String(128)),
    Column("note", Text),
    Index(None, "promotion_id", "acknowledged_at"),
)

# Versions of the meta-model: its artifact in a safe format (nothing executes on load),
# what it was trained on, its cross-validated scores against the baselines, and the
# importance of each genome trait.
meta_models = Table(
    "meta_models",
    metadata,
    Column("version", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("algorithm", String(64), nullable=False),
    Column("artifact", LargeBinary, nullable=False),
    Column("metrics", JsonDocument(), nullable=False),
    Column("importance", JsonDocument(), nullable=False),
    Column("training", JsonDocument(), nullable=False),
)

# The knowledge base: a Markdown summary per period (a day), rewritten by each learning
# cycle of that period, with the facts it was written from.
knowledge = Table(
    "knowledge",
    metadata,
    Column("period", String(32), primary_key=True),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
    Column("markdown", Text, nullable=False),
    Column("facts", JsonDocument(), nullable=False),
)

CYCLE_STATES = ("running", "done", "failed")

# Each learning cycle: when, how it was started, and what each of its steps did.
learning_cycles = Table(
    "learning_cycles",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("started_at", UtcDateTime(), nullable=False, default=utcnow()),
    Column("finished_at", UtcDateTime()),
    Column("state", String(16), nullable=False, default="running"),
    Column("trigger", String(32), nullable=False),
    Column("steps", JsonDocument(), nullable=False),
    Column("error", Text),
    _one_of("state", CYCLE_STATES, "state"),
    Index(None, "started_at"),
)

# At most one learning cycle runs at a time, across every process that shares the store.
Index(
    "uq_learning_cycles_running",
    learning_cycles.c.state,
    unique=True,
    postgresql_where=learning_cycles.c.state == "running",
    sqlite_where=learning_cycles.c.state == "running",
)

CHALLENGE_STATES = ("rejected", "awaiting_approval", "passed", "accepted")

# Champion/challenger (understanding.champion): the live strategy of each named slot.
# ``promotion_id`` changes only by compare-and-set, in the same transaction as the backup
# of the champion it replaces and the audit-log entry that says why.
champion_slots = Table(
    "champion_slots",
    metadata,
    Column("slot", String(64), primary_key=True),
    Column("promotion_id", String(32), ForeignKey("promoted_models.id"), nullable=False),
    _created_at(),
    Column("updated_at", UtcDateTime(), nullable=False, default=utcnow(), onupdate=utcnow()),
)

# Each challenge of a slot's champion: the paired test's evidence, whether the change is
# major (a new algorithm or feature family, so a person must approve it) and who did.
champion_challenges = Table(
    "champion_challenges",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("slot", String(64), nullable=False, index=True),
    Column("challenger_id", String(32), ForeignKey("promoted_models.id"), nullable=False),
    Column("champion_id", String(32), ForeignKey("promoted_models.id"), nullable=False),
    _created_at(),
    Column("state", String(24), nullable=False),
    Column("major", Boolean, nullable=False),
    Column("change", JsonDocument(), nullable=False),
    Column("evidence", JsonDocument(), nullable=False),
    Column("reason", Text, nullable=False),
    Column("approved_by", String(128)),
    Column("approved_at", UtcDateTime()),
    _one_of("state", CHALLENGE_STATES, "state"),
)

# A champion as it was when it was replaced: its promotion and the configuration that
# traded it, so ``restore`` can bring it back exactly.
champion_backups = Table(
    "champion_backups",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("slot", String(64), nullable=False),
    Column("promotion_id", String(32), ForeignKey("promoted_models.id"), nullable=False),
    Column("configuration", JsonDocument(), nullable=False),
    Column("replaced_by", String(32), ForeignKey("promoted_models.id"), nullable=False),
    _created_at(),
    Index(None, "slot", "id"),
)

# The append-only audit log of every champion change: what changed, why, the evidence,
# and who made or approved it.
champion_log = Table(
    "champion_log",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("slot", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("champion_before", String(32)),
    Column("champion_after", String(32)),
    Column("challenge_id", String(32)),
    Column("reason", Text, nullable=False),
    Column("evidence", JsonDocument(), nullable=False),
    Column("actor", String(128), nullable=False),
    Index(None, "slot", "id"),
)

HYPOTHESIS_STATES = ("tested", "too_few_events")

# Every hypothesis the store has ever tested: the family its Benjamini–Hochberg correction
# covers. ``p_value`` is NULL for one with too few events (it is not in the family);
# ``adjusted_p`` and ``family_size`` are as they stood when it was tested.
hypothesis_tests = Table(
    "hypothesis_tests",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("name", String(120), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("spec", JsonDocument(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("events", Integer, nullable=False),
    Column("effect", Real()),
    Column("hit_rate", Real()),
    Column("ci_low", Real()),
    Column("ci_high", Real()),
    Column("p_value", Real()),
    Column("adjusted_p", Real()),
    Column("family_size", Integer, nullable=False),
    Column("principle", Text, nullable=False),
    _one_of("state", HYPOTHESIS_STATES, "state"),
    Index(None, "created_at"),
)

# Hypotheses waiting for the next learning cycle (``factory hypothesis test --queue``):
# its ``hypotheses`` step tests them one by one and removes them from here.
hypothesis_queue = Table(
    "hypothesis_queue",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("name", String(120), nullable=False),
    Column("spec", JsonDocument(), nullable=False),
    Column("queued_by", String(128), nullable=False),
)

# Indicators found by the formula search: the formula is the feature's name and its whole
# definition; with what the search tried (trials) and how it did on training and holdout.
discovered_indicators = Table(
    "discovered_indicators",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    _created_at(),
    Column("search_id", String(32), nullable=False),
    Column("formula", String(200), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("train_ic", Real()),
    Column("deflated", Real()),
    Column("holdout_ic", Real()),
    Column("holdout_p", Real()),
    Column("passed", Boolean, nullable=False),
    Column("trials", Integer, nullable=False),
    Column("detail", JsonDocument(), nullable=False),
    Column("principle", Text, nullable=False),
    UniqueConstraint("search_id", "formula"),
    Index(None, "created_at"),
)
