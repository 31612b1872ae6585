"""A standup day counts its summary's versions instead of reading the count back from a key.

Revision ID: 0005_standup_summary_revision
Revises: 0004_kpi_pulse
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_standup_summary_revision"
down_revision = "0004_kpi_pulse"
branch_labels = None
depends_on = None

_DAY = sa.table(
    "standup_day",
    sa.column("id", sa.Integer()),
    sa.column("summary_key", sa.String(200)),
    sa.column("summary_revision", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("standup_day", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("summary_revision", sa.Integer(), nullable=False, server_default="0")
        )
    # Days already updated in place keep counting from where their newest key left off
    # (`…:summary:r<n>`), so no new version reuses a key the outbox already holds.
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_DAY.c.id, _DAY.c.summary_key).where(_DAY.c.summary_key.like("%:summary:r%"))
    ).all()
    for day_id, key in rows:
        tail = str(key).rsplit(":r", 1)[-1]
        if tail.isdigit():
            conn.execute(
                sa.update(_DAY).where(_DAY.c.id == day_id).values(summary_revision=int(tail))
            )


def downgrade() -> None:
    with op.batch_alter_table("standup_day", schema=None) as batch_op:
        batch_op.drop_column("summary_revision")
