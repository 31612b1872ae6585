"""Closed months' balance figures, kept once computed: the balance_snapshot table.

Revision ID: 0007_balance_snapshot
Revises: 0006_forgotten_member
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_balance_snapshot"
down_revision = "0006_forgotten_member"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "balance_snapshot",
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("teams", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_balance_snapshot_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partnership_id", "month", name=op.f("pk_balance_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("balance_snapshot")
