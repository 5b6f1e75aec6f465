"""Model artifacts that cannot execute code: pickled (joblib) artifacts are quarantined.

Before this revision a model artifact was a joblib pickle, and reading one runs whatever
code it names. Those rows move, untouched, to ``legacy_model_artifacts`` (never read by
the factory), and their fingerprints are released: a run that needs one of those models
trains it again and stores it in the safe format. A warning says how many were moved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("strategy_factory.store")


def upgrade() -> None:
    op.create_table(
        "legacy_model_artifacts",
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("model_id", name=op.f("pk_legacy_model_artifacts")),
    )
    moved = op.get_bind().execute(sa.text("select count(*) from model_artifacts")).scalar_one()
    if not moved:
        return
    op.execute(
        "insert into legacy_model_artifacts (model_id, content, created_at) "
        "select model_id, content, created_at from model_artifacts"
    )
    op.execute(
        "delete from model_fingerprints where model_id in "
        "(select model_id from legacy_model_artifacts)"
    )
    op.execute("delete from model_artifacts")
    log.warning(
        "%d model artifact(s) stored by an older version as pickles (which can execute code "
        "when read) were moved to legacy_model_artifacts and will not be read; runs that "
        "need those models train them again in the safe format",
        moved,
    )


def downgrade() -> None:
    op.execute(
        "insert into model_artifacts (model_id, content, created_at) "
        "select model_id, content, created_at from legacy_model_artifacts"
    )
    op.drop_table("legacy_model_artifacts")
