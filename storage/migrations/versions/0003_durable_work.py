"""Durable follow-up work: the job table, a ritual reference on queued work, the tick's index.

Revision ID: 0003_durable_work
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_durable_work"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("ritual_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_job_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ritual_id"],
            ["ritual.id"],
            name=op.f("fk_job_ritual_id_ritual"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_job_idempotency_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_due", ["state", "run_after"], unique=False)
        batch_op.create_index("ix_job_ritual", ["ritual_id", "state"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ritual_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_ritual_id_ritual"),
            "ritual",
            ["ritual_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_outbox_ritual", ["ritual_id", "status"], unique=False)

    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_occurrence_ritual_fire", ["ritual_id", "fire_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.drop_index("ix_occurrence_ritual_fire")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_ritual")
        batch_op.drop_constraint(batch_op.f("fk_outbox_ritual_id_ritual"), type_="foreignkey")
        batch_op.drop_column("ritual_id")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_ritual")
        batch_op.drop_index("ix_job_due")
    op.drop_table("job")
