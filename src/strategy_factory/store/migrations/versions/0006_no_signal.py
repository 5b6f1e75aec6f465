"""A run may end with ``no_signal``: its model had nothing to rank, so it stopped there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BEFORE = "'max_generations', 'cannot_prune', 'promoted', 'failed', 'stopped_by_user'"


def upgrade() -> None:
    with op.batch_alter_table("evolution_runs") as batch:
        batch.drop_constraint(op.f("ck_evolution_runs_stop_reason"), type_="check")
        batch.create_check_constraint("stop_reason", f"stop_reason IN ({_BEFORE}, 'no_signal')")


def downgrade() -> None:
    op.execute(
        "update evolution_runs set stop_reason = 'cannot_prune' where stop_reason = 'no_signal'"
    )
    with op.batch_alter_table("evolution_runs") as batch:
        batch.drop_constraint(op.f("ck_evolution_runs_stop_reason"), type_="check")
        batch.create_check_constraint("stop_reason", f"stop_reason IN ({_BEFORE})")
