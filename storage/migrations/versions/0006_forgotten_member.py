"""A marker for each person who asked to be forgotten, so team sync does not re-add them.

Revision ID: 0006_forgotten_member
Revises: 0005_standup_summary_revision
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_forgotten_member"
down_revision = "0005_standup_summary_revision"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forgotten_member",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("forgotten_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_forgotten_member_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id_hash", name=op.f("pk_forgotten_member")),
    )


def downgrade() -> None:
    op.drop_table("forgotten_member")
