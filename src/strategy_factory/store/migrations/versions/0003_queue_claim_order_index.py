"""An index in the queue's claim order over pending jobs, so a claim reads k rows, not all.

Without it every claim sorts every pending job (``parent_sqn DESC NULLS LAST, created_at,
id``): milliseconds per claim once tens of thousands are queued. SQLite puts NULLs last in
a descending index by itself and rejects the NULLS LAST clause there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NAME = "ix_priority_jobs_claim_order"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    first = "parent_sqn DESC NULLS LAST" if postgres else "parent_sqn DESC"
    pending = sa.text("status = 'pending'")
    op.create_index(
        NAME,
        "priority_jobs",
        [sa.text(first), "created_at", "id"],
        postgresql_where=pending,
        sqlite_where=pending,
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="priority_jobs")
