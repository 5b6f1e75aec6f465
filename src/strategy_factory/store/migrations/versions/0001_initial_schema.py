"""Initial schema: runs, models, fingerprints, lineage, simulation results, promotions,
the job queue and workers.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves: timestamps with time zone, JSONB on PostgreSQL, SQLite's rowid key.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evolution_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("current_generation", sa.Integer(), nullable=False),
        sa.Column("max_generations", sa.Integer(), nullable=False),
        sa.Column("models_trained", sa.Integer(), nullable=False),
        sa.Column("models_total", sa.Integer(), nullable=False),
        sa.Column("simulations_completed", sa.BigInteger(), nullable=False),
        sa.Column("simulations_total", sa.BigInteger(), nullable=False),
        sa.Column("step_status", sa.Text(), nullable=True),
        sa.Column("best_sqn", sa.Double(), nullable=True),
        sa.Column("best_model_id", sa.String(length=64), nullable=True),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("promoted_model_id", sa.String(length=32), nullable=True),
        sa.Column("configurations_tried", sa.BigInteger(), nullable=False),
        sa.Column("stop_reason", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'stopped')",
            name=op.f("ck_evolution_runs_status"),
        ),
        sa.CheckConstraint(
            "stop_reason IN ('max_generations', 'cannot_prune', 'promoted', 'failed', "
            "'stopped_by_user')",
            name=op.f("ck_evolution_runs_stop_reason"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evolution_runs")),
    )
    op.create_index(
        op.f("ix_evolution_runs_created_at"), "evolution_runs", ["created_at"], unique=False
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("features", JSON, nullable=False),
        sa.Column("chosen_config", JSON, nullable=True),
        sa.Column("validation_metrics", JSON, nullable=True),
        sa.Column("importance", JSON, nullable=True),
        sa.Column("data_ranges", JSON, nullable=True),
        sa.Column("artifact_path", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evolution_runs.id"], name=op.f("fk_models_run_id_evolution_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_models")),
    )
    op.create_index(op.f("ix_models_fingerprint"), "models", ["fingerprint"], unique=False)
    op.create_index(
        op.f("ix_models_run_id_generation"), "models", ["run_id", "generation"], unique=False
    )
    op.create_table(
        "priority_jobs",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("parent_sqn", sa.Double(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("completed_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_priority_jobs_status"),
        ),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_priority_jobs_max_attempts")),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evolution_runs.id"], name=op.f("fk_priority_jobs_run_id_evolution_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_priority_jobs")),
    )
    op.create_index(
        op.f("ix_priority_jobs_status_lease_expires_at"),
        "priority_jobs",
        ["status", "lease_expires_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_priority_jobs_status_parent_sqn_created_at"),
        "priority_jobs",
        ["status", "parent_sqn", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_priority_jobs_dedup",
        "priority_jobs",
        ["dedup_key"],
        unique=True,
        postgresql_where=sa.text("run_id IS NULL"),
        sqlite_where=sa.text("run_id IS NULL"),
    )
    op.create_index(
        "uq_priority_jobs_run_dedup",
        "priority_jobs",
        ["run_id", "dedup_key"],
        unique=True,
        postgresql_where=sa.text("run_id IS NOT NULL"),
        sqlite_where=sa.text("run_id IS NOT NULL"),
    )
    op.create_table(
        "evolution_log",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("parent_model_id", sa.String(length=64), nullable=True),
        sa.Column("child_model_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("parent_sqn", sa.Double(), nullable=True),
        sa.Column("pruned_features", JSON, nullable=False),
        sa.Column("remaining_features", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["child_model_id"], ["models.id"], name=op.f("fk_evolution_log_child_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["parent_model_id"], ["models.id"], name=op.f("fk_evolution_log_parent_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evolution_runs.id"], name=op.f("fk_evolution_log_run_id_evolution_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evolution_log")),
    )
    op.create_index(
        op.f("ix_evolution_log_child_model_id"), "evolution_log", ["child_model_id"], unique=False
    )
    op.create_index(
        op.f("ix_evolution_log_parent_model_id"), "evolution_log", ["parent_model_id"], unique=False
    )
    op.create_index(
        op.f("ix_evolution_log_run_id_generation"),
        "evolution_log",
        ["run_id", "generation"],
        unique=False,
    )
    op.create_table(
        "model_fingerprints",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("fingerprint_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_model_fingerprints_model_id_models")
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_model_fingerprints")),
    )
    op.create_table(
        "promoted_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", JSON, nullable=False),
        sa.Column("criteria", JSON, nullable=False),
        sa.Column("selection_metrics", JSON, nullable=False),
        sa.Column("holdout_metrics", JSON, nullable=False),
        sa.Column("configurations_tried", sa.BigInteger(), nullable=False),
        sa.Column("dsr", sa.Double(), nullable=True),
        sa.Column("pbo", sa.Double(), nullable=True),
        sa.Column("verdict", JSON, nullable=False),
        sa.Column("lineage", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_promoted_models_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["evolution_runs.id"], name=op.f("fk_promoted_models_run_id_evolution_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promoted_models")),
    )
    op.create_index(op.f("ix_promoted_models_run_id"), "promoted_models", ["run_id"], unique=False)
    op.create_table(
        "simulation_results",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("ticker", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("z_limit", sa.Double(), nullable=True),
        sa.Column("regime_filter", JSON, nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("strategy_key", sa.Text(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.Column("sqn", sa.Double(), nullable=True),
        sa.Column("profit_factor", sa.Double(), nullable=True),
        sa.Column("weekly_consistency", sa.Double(), nullable=True),
        sa.Column("sharpe", sa.Double(), nullable=True),
        sa.Column("total_return", sa.Double(), nullable=True),
        sa.Column("max_drawdown", sa.Double(), nullable=True),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "period IN ('selection', 'holdout')", name=op.f("ck_simulation_results_period")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_simulation_results_model_id_models")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["evolution_runs.id"],
            name=op.f("fk_simulation_results_run_id_evolution_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulation_results")),
        sa.UniqueConstraint(
            "run_id", "model_id", "period", "strategy_key", name="uq_simulation_results"
        ),
    )
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("last_heartbeat", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_job_id", SERIAL, nullable=True),
        sa.CheckConstraint("status IN ('running', 'stopped')", name=op.f("ck_workers_status")),
        sa.ForeignKeyConstraint(
            ["current_job_id"],
            ["priority_jobs.id"],
            name=op.f("fk_workers_current_job_id_priority_jobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_index(
        op.f("ix_workers_status_last_heartbeat"),
        "workers",
        ["status", "last_heartbeat"],
        unique=False,
    )


def downgrade() -> None:
    for table in (
        "workers",
        "simulation_results",
        "promoted_models",
        "model_fingerprints",
        "evolution_log",
        "priority_jobs",
        "models",
        "evolution_runs",
    ):
        op.drop_table(table)
