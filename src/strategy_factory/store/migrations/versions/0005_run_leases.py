"""One driver per run, one trainer per fingerprint, workers that died are marked lost.

- ``evolution_runs.owner_id`` / ``owner_expires_at``: the lease of the process driving
  the run (a server's coordinator or ``factory evolve``), renewed by heartbeat. Another
  process takes a run over only once its lease has expired.
- ``training_claims``: a fingerprint being trained, with the claim's lease, so two runs
  that need the same model train it once (the second waits, then reuses it).
- Unique (run, child model) lineage edges and (run, model) promotions, so a write that is
  retried after a lost connection cannot record a step twice (duplicates left by earlier
  versions are removed, keeping the first).
- ``workers.status`` may be ``lost``: a worker that stopped heartbeating without saying so.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("evolution_runs") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("owner_expires_at", TIMESTAMP, nullable=True))
    op.create_table(
        "training_claims",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("owner_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_training_claims")),
    )
    op.execute(
        "delete from evolution_log where id not in "
        "(select min(id) from evolution_log group by run_id, child_model_id)"
    )
    op.create_index(
        "uq_evolution_log_run_child", "evolution_log", ["run_id", "child_model_id"], unique=True
    )
    op.execute(
        "delete from promoted_models where id not in (select id from (select id, row_number() "
        "over (partition by run_id, model_id order by created_at, id) as n "
        "from promoted_models) ranked where n = 1)"
    )
    op.create_index(
        "uq_promoted_models_run_model", "promoted_models", ["run_id", "model_id"], unique=True
    )
    with op.batch_alter_table("workers") as batch:
        batch.drop_constraint(op.f("ck_workers_status"), type_="check")
        batch.create_check_constraint("status", "status IN ('running', 'stopped', 'lost')")


def downgrade() -> None:
    op.execute("update workers set status = 'stopped' where status = 'lost'")
    with op.batch_alter_table("workers") as batch:
        batch.drop_constraint(op.f("ck_workers_status"), type_="check")
        batch.create_check_constraint("status", "status IN ('running', 'stopped')")
    op.drop_index("uq_promoted_models_run_model", table_name="promoted_models")
    op.drop_index("uq_evolution_log_run_child", table_name="evolution_log")
    op.drop_table("training_claims")
    with op.batch_alter_table("evolution_runs") as batch:
        batch.drop_column("owner_expires_at")
        batch.drop_column("owner_id")
