"""Champion/challenger: the live strategy of each slot, its challenges, backups and log.

- ``champion_slots``: per named slot, the promotion that is its champion.
- ``champion_challenges``: each challenge with its paired test's evidence, whether the
  change is major (waits for approval) and who approved it.
- ``champion_backups``: a replaced champion's promotion and configuration, restorable.
- ``champion_log``: the append-only audit log of every change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Written out here rather than imported, so this revision stays as it is when the tables
# module evolves.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROMOTION = sa.String(length=32)


def _promotion_key(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["promoted_models.id"], name=op.f(f"fk_{table}_{column}_promoted_models")
    )


def upgrade() -> None:
    op.create_table(
        "champion_slots",
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("promotion_id", PROMOTION, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _promotion_key("champion_slots", "promotion_id"),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_champion_slots")),
    )
    op.create_table(
        "champion_challenges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("challenger_id", PROMOTION, nullable=False),
        sa.Column("champion_id", PROMOTION, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("change", JSON, nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "state IN ('rejected', 'awaiting_approval', 'passed', 'accepted')",
            name=op.f("ck_champion_challenges_state"),
        ),
        _promotion_key("champion_challenges", "challenger_id"),
        _promotion_key("champion_challenges", "champion_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion_challenges")),
    )
    op.create_index(op.f("ix_champion_challenges_slot"), "champion_challenges", ["slot"])
    op.create_table(
        "champion_backups",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("promotion_id", PROMOTION, nullable=False),
        sa.Column("configuration", JSON, nullable=False),
        sa.Column("replaced_by", PROMOTION, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _promotion_key("champion_backups", "promotion_id"),
        _promotion_key("champion_backups", "replaced_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion_backups")),
    )
    op.create_index(op.f("ix_champion_backups_slot_id"), "champion_backups", ["slot", "id"])
    op.create_table(
        "champion_log",
        sa.Column("id", SERIAL, autoincrement=True, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("champion_before", PROMOTION, nullable=True),
        sa.Column("champion_after", PROMOTION, nullable=True),
        sa.Column("challenge_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion_log")),
    )
    op.create_index(op.f("ix_champion_log_slot_id"), "champion_log", ["slot", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_champion_log_slot_id"), table_name="champion_log")
    op.drop_table("champion_log")
    op.drop_index(op.f("ix_champion_backups_slot_id"), table_name="champion_backups")
    op.drop_table("champion_backups")
    op.drop_index(op.f("ix_champion_challenges_slot"), table_name="champion_challenges")
    op.drop_table("champion_challenges")
    op.drop_table("champion_slots")
