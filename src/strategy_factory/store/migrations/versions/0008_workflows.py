"""Workflows recorded in the store: a mirror of each workflow's manifest.

``workflows`` holds one row per multi-phase workflow (``results/<id>/``): its name,
state, workspace folder, config, the phases with their state, progress, summary and
error, and the files a user edited between phases. The manifest in the workspace stays
the source of truth; the row is rewritten from it after every manifest save, so the
API, the dashboard and ``factory workflow list`` read one table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "workflows",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.Text(), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("phases", JSON, nullable=False),
        sa.Column("edits", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_workflows_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
    )
    op.create_index(op.f("ix_workflows_created_at"), "workflows", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_workflows_created_at"), table_name="workflows")
    op.drop_table("workflows")
