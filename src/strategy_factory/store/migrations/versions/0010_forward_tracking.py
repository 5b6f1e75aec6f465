"""Forward tracking of promoted strategies, and a promotion's life after it.

- ``promoted_models.status`` ('active' | 'demoted'), ``status_reason`` and
  ``status_changed_at``: a promotion the overfitting monitor (or a person) demoted
  leaves the allocator and forward tracking, and says why. Existing promotions are active.
- ``forward_state``: per promotion, the last bar its forward tracking processed, the state
  that continues it exactly (the paper account, the signal pending at that bar, the
  fitted regime labelers), the bars tracked, and a status with its reason (e.g. waiting
  for bars of a reference).
- ``forward_results``: per promotion and bar after its run's data, the position held at
  the bar's close and the bar's return; keyed by (promotion, timestamp), so recording a
  bar again is a no-op.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("promoted_models") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="active")
        )
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("status_changed_at", TIMESTAMP, nullable=True))
        batch.create_check_constraint("status", "status IN ('active', 'demoted')")
    op.create_table(
        "forward_state",
        sa.Column("promotion_id", sa.String(length=32), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("started_after", TIMESTAMP, nullable=False),
        sa.Column("last_bar", TIMESTAMP, nullable=False),
        sa.Column("bars_tracked", sa.BigInteger(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "status IN ('tracking', 'waiting', 'failed')", name=op.f("ck_forward_state_status")
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promoted_models.id"],
            name=op.f("fk_forward_state_promotion_id_promoted_models"),
        ),
        sa.PrimaryKeyConstraint("promotion_id", name=op.f("pk_forward_state")),
    )
    op.create_table(
        "forward_results",
        sa.Column("promotion_id", sa.String(length=32), nullable=False),
        sa.Column("timestamp", TIMESTAMP, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("bar_return", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promoted_models.id"],
            name=op.f("fk_forward_results_promotion_id_promoted_models"),
        ),
        sa.PrimaryKeyConstraint("promotion_id", "timestamp", name=op.f("pk_forward_results")),
    )


def downgrade() -> None:
    op.drop_table("forward_results")
    op.drop_table("forward_state")
    with op.batch_alter_table("promoted_models") as batch:
        batch.drop_constraint(op.f("ck_promoted_models_status"), type_="check")
        batch.drop_column("status_changed_at")
        batch.drop_column("status_reason")
        batch.drop_column("status")
