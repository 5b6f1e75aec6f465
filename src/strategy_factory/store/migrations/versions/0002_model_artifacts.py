"""Model artifacts in the database, so workers on other machines can load any model.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_artifacts",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"], ["models.id"], name=op.f("fk_model_artifacts_model_id_models")
        ),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_model_artifacts")),
    )


def downgrade() -> None:
    op.drop_table("model_artifacts")
