"""The schema. Every change here ships with an Alembic migration.

Invariants the database enforces, so that no replica can break them:
one occurrence per (ritual, subject, fire_key); one outbox row per
idempotency key; one slack_event per Slack event id; one interaction per
source (when a source is given).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import BigId, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# --- organisation -----------------------------------------------------------


class Workspace(Base):
    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime]


class Team(Base):
    """A department, defined by a Slack user group or a channel."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    source_kind: Mapped[str] = mapped_column(String(16))  # "usergroup" | "channel"
    source_id: Mapped[str] = mapped_column(String(32))
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    tz: Mapped[str | None] = mapped_column(String(64))
    is_bot: Mapped[bool] = mapped_column(default=False)
    is_deleted: Mapped[bool] = mapped_column(default=False)
    is_guest: Mapped[bool] = mapped_column(default=False)
    is_workspace_admin: Mapped[bool] = mapped_column(default=False)
    away_until: Mapped[date | None] = mapped_column(Date)
    opted_out: Mapped[list[Any]] = mapped_column(default=list)  # ritual kinds
    updated_at: Mapped[datetime]


class ForgottenMember(Base):
    """Someone who asked Tandem to forget them, known only by a hash of their Slack id.

    Team sync skips anyone with a marker, so a person still in a team's Slack
    group is not brought back as a newcomer (storage.member_data).
    """

    __tablename__ = "forgotten_member"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    forgotten_at: Mapped[datetime]


class TeamMembership(Base):
    """Who was in which team when; left_at is NULL while they still are."""

    __tablename__ = "team_membership"
    __table_args__ = (Index("ix_team_membership_team_current", "team_id", "left_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]


class Partnership(Base):
    __tablename__ = "partnership"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(160))
    channel_id: Mapped[str] = mapped_column(String(32))
    interdependence_type: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]

    teams: Mapped[list[PartnershipTeam]] = relationship(
        cascade="all, delete-orphan", order_by="PartnershipTeam.position"
    )
    leaders: Mapped[list[PartnershipLeader]] = relationship(cascade="all, delete-orphan")


class PartnershipTeam(Base):
    __tablename__ = "partnership_team"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)


class PartnershipLeader(Base):
    __tablename__ = "partnership_leader"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)


# --- the log ----------------------------------------------------------------


class Interaction(Base):
    """One thing someone gave someone else, provider -> beneficiary.

    Team ids are the teams at the time, so a member who moves mid-month is
    counted where they were when it happened.
    """

    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_partnership_time", "partnership_id", "occurred_at"),
        Index("ix_interaction_provider_time", "provider_member_id", "occurred_at"),
        Index("ix_interaction_beneficiary_time", "beneficiary_member_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    provider_member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    beneficiary_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE")
    )
    provider_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    beneficiary_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL")
    )
    occurred_at: Mapped[datetime]
    source: Mapped[str | None] = mapped_column(String(160), unique=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)


class BalanceSnapshot(Base):
    """A closed month's balance figures for a partnership, kept once computed.

    A month never changes once it is over, so its figures are computed once
    (storage/balance_snapshots.py) and replaced only by an explicit recompute.
    They hold metrics per pair of teams, never a person.
    """

    __tablename__ = "balance_snapshot"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    # What the figures were computed for: the zone the month was cut in, the
    # partnership's teams in its order, and the layout of `figures`.
    timezone: Mapped[str] = mapped_column(String(64))
    teams: Mapped[list[Any]] = mapped_column()
    version: Mapped[int] = mapped_column(Integer)
    figures: Mapped[dict[str, Any]] = mapped_column()
    computed_at: Mapped[datetime]


class SlackEvent(Base):
    """Event ids already handled, so Slack's retried deliveries run once."""

    __tablename__ = "slack_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    actor_user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(160))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(index=True)


# --- scheduling and delivery ------------------------------------------------


class Ritual(Base):
    """A recurring ritual of a partnership; admins edit these rows, not code."""

    __tablename__ = "ritual"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name or "member-local"
    channel_id: Mapped[str | None] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    scheduled_through: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Occurrence(Base):
    """One firing of a ritual for one subject; the unique key makes it happen once."""

    __tablename__ = "occurrence"
    __table_args__ = (
        UniqueConstraint("ritual_id", "subject", "fire_key"),
        # A ritual's latest firings (Home, status) and housekeeping by age.
        Index("ix_occurrence_ritual_fire", "ritual_id", "fire_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("ritual.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(64))
    fire_key: Mapped[str] = mapped_column(String(64))
    fire_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)  # done | skipped | failed
    tz_fallback: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class Outbox(Base):
    """Every outbound Slack call that is not the direct answer to a request."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_ritual", "ritual_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # The ritual that queued it: pausing or deleting the ritual withdraws it while unsent.
    ritual_id: Mapped[int | None] = mapped_column(ForeignKey("ritual.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(64))
    channel_key: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]]
    parent_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Job(Base):
    """Follow-up work a request or a ritual queued, finished by a worker with a lease.

    Written in the same transaction as the change that asked for it, so work
    that was acknowledged survives any crash; the key makes queueing it twice
    a no-op.
    """

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_due", "state", "run_after"),
        Index("ix_job_ritual", "ritual_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    ritual_id: Mapped[int | None] = mapped_column(ForeignKey("ritual.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


# --- shadowing --------------------------------------------------------------


class ShadowRound(Base):
    __tablename__ = "shadow_round"
    __table_args__ = (UniqueConstraint("ritual_id", "round_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("ritual.id", ondelete="CASCADE"))
    round_no: Mapped[int]
    round_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class ShadowPairing(Base):
    __tablename__ = "shadow_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_round.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    met_at: Mapped[datetime | None]
    reminder_due_at: Mapped[datetime | None]
    reflection_learned: Mapped[str | None] = mapped_column(Text)
    reflection_handoff: Mapped[str | None] = mapped_column(Text)
    reflected_at: Mapped[datetime | None]


class ShadowParticipant(Base):
    __tablename__ = "shadow_participant"

    pairing_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_pairing.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # host | shadower


class ShadowUnpaired(Base):
    __tablename__ = "shadow_unpaired"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_round.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(32))


# --- standups ---------------------------------------------------------------


class StandupDay(Base):
    """One summary thread per ritual and local date."""

    __tablename__ = "standup_day"
    __table_args__ = (UniqueConstraint("ritual_id", "local_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ritual_id: Mapped[int] = mapped_column(ForeignKey("ritual.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    cutoff_at: Mapped[datetime]
    summary_key: Mapped[str | None] = mapped_column(String(200))
    # Versions of the summary queued after the first (0: only the first post).
    summary_revision: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]


class StandupAnswer(Base):
    __tablename__ = "standup_answer"
    __table_args__ = (UniqueConstraint("standup_day_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standup_day_id: Mapped[int] = mapped_column(ForeignKey("standup_day.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prompted_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(default=False)
    message_key: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(default=0)


class StandupAsk(Base):
    """A cross-team ask from a standup answer, open until the requester resolves it."""

    __tablename__ = "standup_ask"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("standup_answer.id", ondelete="CASCADE"))
    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), index=True
    )
    requester_member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    requester_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL")
    )
    helper_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    helper_team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    first_offer_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class TeamHoliday(Base):
    __tablename__ = "team_holiday"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


# --- kudos ------------------------------------------------------------------


class Kudos(Base):
    __tablename__ = "kudos"
    __table_args__ = (Index("ix_kudos_giver_time", "giver_member_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id", ondelete="CASCADE"))
    giver_member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    values: Mapped[list[Any]] = mapped_column(default=list)
    cross_team: Mapped[bool] = mapped_column(default=False)
    source_link: Mapped[str | None] = mapped_column(String(500))
    post_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class KudosRecipient(Base):
    __tablename__ = "kudos_recipient"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class KudosSecond(Base):
    __tablename__ = "kudos_second"

    kudos_id: Mapped[int] = mapped_column(
        ForeignKey("kudos.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


# --- app home ---------------------------------------------------------------


class HomeView(Base):
    """The App Home last queued for each person: an unchanged Home is not sent again."""

    __tablename__ = "home_view"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    published_at: Mapped[datetime]


# --- joint KPIs -------------------------------------------------------------


class Kpi(Base):
    """A goal two teams own together (rituals/kpi.py holds the progress rule)."""

    __tablename__ = "kpi"
    __table_args__ = (UniqueConstraint("partnership_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(20), default="")
    direction: Mapped[str] = mapped_column(String(8))
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    target_date: Mapped[date] = mapped_column(Date)
    cadence: Mapped[str] = mapped_column(String(8))
    celebrated: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    # Removed KPIs keep their check-ins, so a removal can be undone and past digests stay.
    removed_at: Mapped[datetime | None]


class KpiVersion(Base):
    """A KPI's goal as it was until an edit replaced it, so a closed month's digest keeps it."""

    __tablename__ = "kpi_version"
    __table_args__ = (Index("ix_kpi_version_kpi_until", "kpi_id", "until"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id", ondelete="CASCADE"))
    until: Mapped[datetime]
    name: Mapped[str] = mapped_column(String(60))
    unit: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(8))
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    target_date: Mapped[date] = mapped_column(Date)
    cadence: Mapped[str] = mapped_column(String(8))


class KpiOwner(Base):
    __tablename__ = "kpi_owner"

    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))


class KpiCheckin(Base):
    """One owner's reading; the latest in a period is the KPI's value for it."""

    __tablename__ = "kpi_checkin"
    __table_args__ = (Index("ix_kpi_checkin_kpi_time", "kpi_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class KpiBoard(Base):
    """The partnership's one board message: its revision, so each update has its own key."""

    __tablename__ = "kpi_board"

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")


# --- collaboration pulse ----------------------------------------------------


class PulseRound(Base):
    """One month's pulse for a partnership; `asked` is team id -> members asked."""

    __tablename__ = "pulse_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnership.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    asked: Mapped[dict[str, Any]] = mapped_column(default=dict)
    closed_at: Mapped[datetime | None]
    # When the month is over in the partnership's time zone: answers stop, the close job runs.
    closes_at: Mapped[datetime | None]
    # Written once at close: per team, score counts and the comments leaders may read.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    __table_args__ = (UniqueConstraint("partnership_id", "month"),)


class PulseAnswer(Base):
    """An answer: team and month only, never the member (see PulseRespondent)."""

    __tablename__ = "pulse_answer"
    # Covers the close's count per team and score: no table lookups for 10,000 answers.
    __table_args__ = (Index("ix_pulse_answer_round_team", "round_id", "team_id", "score"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("pulse_round.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class PulseRespondent(Base):
    """Who answered, for reminders, the response rate and editing; deleted on close."""

    __tablename__ = "pulse_respondent"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("pulse_round.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    answer_id: Mapped[int] = mapped_column(ForeignKey("pulse_answer.id", ondelete="CASCADE"))
