"""Initial schema: organisation, interaction log, scheduling, outbox and ritual tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_event",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_event")),
    )
    with op.batch_alter_table("slack_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_slack_event_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace")),
        sa.UniqueConstraint("slack_team_id", name=op.f("uq_workspace_slack_team_id")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("actor_user_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_audit_log_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("is_guest", sa.Boolean(), nullable=False),
        sa.Column("is_workspace_admin", sa.Boolean(), nullable=False),
        sa.Column("away_until", sa.Date(), nullable=True),
        sa.Column("opted_out", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_member_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint(
            "workspace_id", "slack_user_id", name=op.f("uq_member_workspace_id_slack_user_id")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("channel_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("parent_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_outbox_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_parent_key"), ["parent_key"], unique=False)

    op.create_table(
        "partnership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("interdependence_type", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_partnership_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partnership")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_partnership_workspace_id_name")),
    )
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_team_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_team_workspace_id_name")),
    )
    op.create_table(
        "interaction",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("provider_member_id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_member_id", sa.Integer(), nullable=True),
        sa.Column("provider_team_id", sa.Integer(), nullable=True),
        sa.Column("beneficiary_team_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_member_id"],
            ["member.id"],
            name=op.f("fk_interaction_beneficiary_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["beneficiary_team_id"],
            ["team.id"],
            name=op.f("fk_interaction_beneficiary_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_interaction_partnership_id_partnership"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["provider_member_id"],
            ["member.id"],
            name=op.f("fk_interaction_provider_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_team_id"],
            ["team.id"],
            name=op.f("fk_interaction_provider_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_interaction_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction")),
        sa.UniqueConstraint("source", name=op.f("uq_interaction_source")),
    )
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interaction_beneficiary_time",
            ["beneficiary_member_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_interaction_partnership_time", ["partnership_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_interaction_provider_time", ["provider_member_id", "occurred_at"], unique=False
        )

    op.create_table(
        "kudos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("giver_member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("cross_team", sa.Boolean(), nullable=False),
        sa.Column("source_link", sa.String(length=500), nullable=True),
        sa.Column("post_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["giver_member_id"],
            ["member.id"],
            name=op.f("fk_kudos_giver_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_kudos_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos")),
    )
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kudos_giver_time", ["giver_member_id", "created_at"], unique=False
        )

    op.create_table(
        "partnership_leader",
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_partnership_leader_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partnership_id", "slack_user_id", name=op.f("pk_partnership_leader")
        ),
    )
    op.create_table(
        "partnership_team",
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_partnership_team_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_partnership_team_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partnership_id", "team_id", name=op.f("pk_partnership_team")),
    )
    op.create_table(
        "ritual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("cron", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("scheduled_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_ritual_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ritual")),
    )
    with op.batch_alter_table("ritual", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ritual_partnership_id"), ["partnership_id"], unique=False
        )

    op.create_table(
        "team_holiday",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_holiday_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "day", name=op.f("pk_team_holiday")),
    )
    op.create_table(
        "team_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_team_membership_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_team_membership_team_id_team"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_membership")),
    )
    with op.batch_alter_table("team_membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_team_membership_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "ix_team_membership_team_current", ["team_id", "left_at"], unique=False
        )

    op.create_table(
        "kudos_recipient",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_kudos_recipient_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_kudos_recipient_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kudos_id", "member_id", name=op.f("pk_kudos_recipient")),
    )
    with op.batch_alter_table("kudos_recipient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kudos_recipient_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "kudos_second",
        sa.Column("kudos_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kudos_id"],
            ["kudos.id"],
            name=op.f("fk_kudos_second_kudos_id_kudos"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_kudos_second_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kudos_id", "member_id", name=op.f("pk_kudos_second")),
    )
    op.create_table(
        "occurrence",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("fire_key", sa.String(length=64), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tz_fallback", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ritual_id"],
            ["ritual.id"],
            name=op.f("fk_occurrence_ritual_id_ritual"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occurrence")),
        sa.UniqueConstraint(
            "ritual_id",
            "subject",
            "fire_key",
            name=op.f("uq_occurrence_ritual_id_subject_fire_key"),
        ),
    )
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_occurrence_status"), ["status"], unique=False)

    op.create_table(
        "shadow_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("round_no", sa.Integer(), nullable=False),
        sa.Column("round_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ritual_id"],
            ["ritual.id"],
            name=op.f("fk_shadow_round_ritual_id_ritual"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_round")),
        sa.UniqueConstraint(
            "ritual_id", "round_no", name=op.f("uq_shadow_round_ritual_id_round_no")
        ),
    )
    op.create_table(
        "standup_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ritual_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("cutoff_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ritual_id"],
            ["ritual.id"],
            name=op.f("fk_standup_day_ritual_id_ritual"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_day")),
        sa.UniqueConstraint(
            "ritual_id", "local_date", name=op.f("uq_standup_day_ritual_id_local_date")
        ),
    )
    op.create_table(
        "shadow_pairing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reflection_learned", sa.Text(), nullable=True),
        sa.Column("reflection_handoff", sa.Text(), nullable=True),
        sa.Column("reflected_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["shadow_round.id"],
            name=op.f("fk_shadow_pairing_round_id_shadow_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_pairing")),
    )
    with op.batch_alter_table("shadow_pairing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shadow_pairing_round_id"), ["round_id"], unique=False)

    op.create_table(
        "shadow_unpaired",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_shadow_unpaired_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["shadow_round.id"],
            name=op.f("fk_shadow_unpaired_round_id_shadow_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_shadow_unpaired")),
    )
    op.create_table(
        "standup_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standup_day_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("message_key", sa.String(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_standup_answer_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["standup_day_id"],
            ["standup_day.id"],
            name=op.f("fk_standup_answer_standup_day_id_standup_day"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team.id"],
            name=op.f("fk_standup_answer_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_answer")),
        sa.UniqueConstraint(
            "standup_day_id", "member_id", name=op.f("uq_standup_answer_standup_day_id_member_id")
        ),
    )
    with op.batch_alter_table("standup_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standup_answer_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "shadow_participant",
        sa.Column("pairing_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_shadow_participant_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pairing_id"],
            ["shadow_pairing.id"],
            name=op.f("fk_shadow_participant_pairing_id_shadow_pairing"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pairing_id", "member_id", name=op.f("pk_shadow_participant")),
    )
    with op.batch_alter_table("shadow_participant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shadow_participant_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "standup_ask",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("requester_member_id", sa.Integer(), nullable=False),
        sa.Column("requester_team_id", sa.Integer(), nullable=True),
        sa.Column("helper_member_id", sa.Integer(), nullable=True),
        sa.Column("helper_team_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_offer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["standup_answer.id"],
            name=op.f("fk_standup_ask_answer_id_standup_answer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["helper_member_id"],
            ["member.id"],
            name=op.f("fk_standup_ask_helper_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["helper_team_id"],
            ["team.id"],
            name=op.f("fk_standup_ask_helper_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partnership_id"],
            ["partnership.id"],
            name=op.f("fk_standup_ask_partnership_id_partnership"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_member_id"],
            ["member.id"],
            name=op.f("fk_standup_ask_requester_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_team_id"],
            ["team.id"],
            name=op.f("fk_standup_ask_requester_team_id_team"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_ask")),
    )
    with op.batch_alter_table("standup_ask", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standup_ask_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_standup_ask_partnership_id"), ["partnership_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("standup_ask", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standup_ask_partnership_id"))
        batch_op.drop_index(batch_op.f("ix_standup_ask_created_at"))

    op.drop_table("standup_ask")
    with op.batch_alter_table("shadow_participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shadow_participant_member_id"))

    op.drop_table("shadow_participant")
    with op.batch_alter_table("standup_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standup_answer_member_id"))

    op.drop_table("standup_answer")
    op.drop_table("shadow_unpaired")
    with op.batch_alter_table("shadow_pairing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shadow_pairing_round_id"))

    op.drop_table("shadow_pairing")
    op.drop_table("standup_day")
    op.drop_table("shadow_round")
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occurrence_status"))

    op.drop_table("occurrence")
    op.drop_table("kudos_second")
    with op.batch_alter_table("kudos_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kudos_recipient_member_id"))

    op.drop_table("kudos_recipient")
    with op.batch_alter_table("team_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_team_membership_team_current")
        batch_op.drop_index(batch_op.f("ix_team_membership_member_id"))

    op.drop_table("team_membership")
    op.drop_table("team_holiday")
    with op.batch_alter_table("ritual", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ritual_partnership_id"))

    op.drop_table("ritual")
    op.drop_table("partnership_team")
    op.drop_table("partnership_leader")
    with op.batch_alter_table("kudos", schema=None) as batch_op:
        batch_op.drop_index("ix_kudos_giver_time")

    op.drop_table("kudos")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_provider_time")
        batch_op.drop_index("ix_interaction_partnership_time")
        batch_op.drop_index("ix_interaction_beneficiary_time")

    op.drop_table("interaction")
    op.drop_table("team")
    op.drop_table("partnership")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_parent_key"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("member")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("workspace")
    with op.batch_alter_table("slack_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slack_event_received_at"))

    op.drop_table("slack_event")
