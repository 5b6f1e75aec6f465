"""The learning layer's tables: settings, allocator snapshots, overfitting alerts,
meta-model versions, the knowledge base and the learning cycles.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REAL = sa.Double()


def _now() -> sa.Column:
    return sa.Column("created_at", TIMESTAMP, nullable=False)


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_settings")),
    )
    op.create_table(
        "allocator_snapshots",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        _now(),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("weights", JSON, nullable=False),
        sa.Column("risk", JSON, nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("settings", JSON, nullable=False),
        sa.CheckConstraint(
            "state IN ('allocated', 'infeasible', 'empty')",
            name=op.f("ck_allocator_snapshots_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocator_snapshots")),
    )
    op.create_index(
        op.f("ix_allocator_snapshots_created_at"), "allocator_snapshots", ["created_at"]
    )
    op.create_table(
        "overfit_alerts",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("promotion_id", sa.String(length=32), nullable=False),
        _now(),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("test", sa.String(length=64), nullable=False),
        sa.Column("statistic", REAL, nullable=True),
        sa.Column("threshold", REAL, nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("demoted", sa.Boolean(), nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promoted_models.id"],
            name=op.f("fk_overfit_alerts_promotion_id_promoted_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overfit_alerts")),
    )
    op.create_index(
        op.f("ix_overfit_alerts_promotion_id_acknowledged_at"),
        "overfit_alerts",
        ["promotion_id", "acknowledged_at"],
    )
    op.create_table(
        "meta_models",
        sa.Column("version", SERIAL, autoincrement=True, nullable=False),
        _now(),
        sa.Column("algorithm", sa.String(length=64), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("metrics", JSON, nullable=False),
        sa.Column("importance", JSON, nullable=False),
        sa.Column("training", JSON, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_meta_models")),
    )
    op.create_table(
        "knowledge",
        sa.Column("period", sa.String(length=32), nullable=False),
        _now(),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("facts", JSON, nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_knowledge")),
    )
    op.create_table(
        "learning_cycles",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("steps", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'done', 'failed')", name=op.f("ck_learning_cycles_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_cycles")),
    )
    op.create_index(op.f("ix_learning_cycles_started_at"), "learning_cycles", ["started_at"])
    op.create_index(
        "uq_learning_cycles_running",
        "learning_cycles",
        ["state"],
        unique=True,
        postgresql_where=sa.text("state = 'running'"),
        sqlite_where=sa.text("state = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("uq_learning_cycles_running", table_name="learning_cycles")
    op.drop_index(op.f("ix_learning_cycles_started_at"), table_name="learning_cycles")
    op.drop_table("learning_cycles")
    op.drop_table("knowledge")
    op.drop_table("meta_models")
    op.drop_index(
        op.f("ix_overfit_alerts_promotion_id_acknowledged_at"), table_name="overfit_alerts"
    )
    op.drop_table("overfit_alerts")
    op.drop_index(op.f("ix_allocator_snapshots_created_at"), table_name="allocator_snapshots")
    op.drop_table("allocator_snapshots")
    op.drop_table("settings")
