"""The understanding layer's tables: hypothesis tests (the family every correction covers),
the hypotheses queued for the next learning cycle, and the indicators the formula search
discovered.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REAL = sa.Double()


def upgrade() -> None:
    op.create_table(
        "hypothesis_tests",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("effect", REAL, nullable=True),
        sa.Column("hit_rate", REAL, nullable=True),
        sa.Column("ci_low", REAL, nullable=True),
        sa.Column("ci_high", REAL, nullable=True),
        sa.Column("p_value", REAL, nullable=True),
        sa.Column("adjusted_p", REAL, nullable=True),
        sa.Column("family_size", sa.Integer(), nullable=False),
        sa.Column("principle", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('tested', 'too_few_events')", name=op.f("ck_hypothesis_tests_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypothesis_tests")),
    )
    op.create_index(op.f("ix_hypothesis_tests_created_at"), "hypothesis_tests", ["created_at"])
    op.create_table(
        "hypothesis_queue",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("queued_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypothesis_queue")),
    )
    op.create_table(
        "discovered_indicators",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("search_id", sa.String(length=32), nullable=False),
        sa.Column("formula", sa.String(length=200), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("train_ic", REAL, nullable=True),
        sa.Column("deflated", REAL, nullable=True),
        sa.Column("holdout_ic", REAL, nullable=True),
        sa.Column("holdout_p", REAL, nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("principle", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discovered_indicators")),
        sa.UniqueConstraint(
            "search_id", "formula", name=op.f("uq_discovered_indicators_search_id_formula")
        ),
    )
    op.create_index(
        op.f("ix_discovered_indicators_created_at"), "discovered_indicators", ["created_at"]
    )


def downgrade() -> None:
    op.drop_table("discovered_indicators")
    op.drop_table("hypothesis_queue")
    op.drop_table("hypothesis_tests")
