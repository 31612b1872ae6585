"""Editing and removing joint KPIs (goal versions, soft removal) and the pulse's close
(its time, its kept results, and an index that covers counting the answers).

Revision ID: 0008_kpi_edits_pulse_close
Revises: 0007_balance_snapshot
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_kpi_edits_pulse_close"
down_revision = "0007_balance_snapshot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kpi", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "kpi_version",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("cadence", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpi.id"], name=op.f("fk_kpi_version_kpi_id_kpi"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_version")),
    )
    with op.batch_alter_table("kpi_version", schema=None) as batch_op:
        batch_op.create_index("ix_kpi_version_kpi_until", ["kpi_id", "until"], unique=False)
    with op.batch_alter_table("pulse_round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("results", sa.JSON(), nullable=True))
    # The score joins the index, so counting a round's answers per team reads the index only.
    with op.batch_alter_table("pulse_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_answer_round_team")
        batch_op.create_index(
            "ix_pulse_answer_round_team", ["round_id", "team_id", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pulse_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_answer_round_team")
        batch_op.create_index("ix_pulse_answer_round_team", ["round_id", "team_id"], unique=False)
    with op.batch_alter_table("pulse_round", schema=None) as batch_op:
        batch_op.drop_column("results")
        batch_op.drop_column("closes_at")
    with op.batch_alter_table("kpi_version", schema=None) as batch_op:
        batch_op.drop_index("ix_kpi_version_kpi_until")
    op.drop_table("kpi_version")
    with op.batch_alter_table("kpi", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
