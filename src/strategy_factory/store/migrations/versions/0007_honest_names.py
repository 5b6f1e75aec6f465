"""Names that say what they hold, and the gate's SQN as a column.

- ``simulation_results.sqn_100``: the SQN capped at 100 trades, the key the promotion
  gate ranks and judges by, as a column so results can be sorted by it (backfilled from
  each row's metrics).
- ``evolution_runs.promoted_model_id`` → ``promotion_id``: it always held the id of a
  promotion (``promoted_models.id``), never a model id.
- ``evolution_runs.best_sqn`` → ``best_sqn_100``: the SQN-100 of the run's best
  configuration. The old column held the raw (uncapped) SQN; it is backfilled from the
  best model's recorded result with that raw SQN.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("simulation_results") as batch:
        batch.add_column(sa.Column("sqn_100", sa.Double(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("select id, metrics from simulation_results"))
    updates = [{"id": row.id, "value": _sqn_100(row.metrics)} for row in rows]
    if updates:
        connection.execute(
            sa.text("update simulation_results set sqn_100 = :value where id = :id"), updates
        )
    with op.batch_alter_table("evolution_runs") as batch:
        batch.alter_column("promoted_model_id", new_column_name="promotion_id")
        batch.alter_column("best_sqn", new_column_name="best_sqn_100")
    connection.execute(
        sa.text(
            "update evolution_runs set best_sqn_100 = (select max(r.sqn_100) from "
            "simulation_results r where r.run_id = evolution_runs.id and r.model_id = "
            "evolution_runs.best_model_id and r.period = 'selection' and r.sqn = "
            "evolution_runs.best_sqn_100) where best_sqn_100 is not null"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("evolution_runs") as batch:
        batch.alter_column("promotion_id", new_column_name="promoted_model_id")
        batch.alter_column("best_sqn_100", new_column_name="best_sqn")
    with op.batch_alter_table("simulation_results") as batch:
        batch.drop_column("sqn_100")


def _sqn_100(metrics: object) -> float | None:
    data = json.loads(metrics) if isinstance(metrics, str | bytes) else metrics
    value = (data or {}).get("sqn_100") if isinstance(data, dict) else None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
