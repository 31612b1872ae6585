"""A member's own data: all of it for `/tandem mydata`, and erasing it for `/tandem forget me`.

Forgetting keeps the member's row and turns it into an anonymous placeholder
(a random `anon-…` id in place of the Slack id, no name, no zone, no
settings) instead of deleting it. The interaction log, the asks, pairings,
kudos and team memberships keep pointing at that row, so every figure the
leaders see (flows, reach, ties, Gini, give and take, team sizes) is exactly
what it was, while nothing left in the database names the person. What the
member wrote themselves (standup answers, shadowing reflections, the notes of
their KPI check-ins) is deleted; their memberships and KPI ownerships end now,
so the placeholder takes part in nothing after. A pulse answer still linked to
them (the month's round is open) stays, unlinked, as every answer is at close.

A forgotten person may still be in a team's Slack group. So that the next
team sync does not bring them back as a newcomer, forgetting leaves a marker
(`forgotten_member`) holding a hash of their Slack id, never the id itself;
sync skips anyone whose id hashes to a marker. The hash lets Tandem recognise
the id when Slack shows it again; it names nobody to a reader of the table
who does not already have the id.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage import outbox
from storage.batching import batches
from storage.models import (
    ForgottenMember,
    HomeView,
    Interaction,
    Kpi,
    KpiCheckin,
    KpiOwner,
    Kudos,
    KudosRecipient,
    KudosSecond,
    Member,
    Outbox,
    Partnership,
    PulseAnswer,
    PulseRespondent,
    PulseRound,
    Ritual,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
    StandupAnswer,
    StandupAsk,
    StandupDay,
    Team,
    TeamMembership,
)
from storage.upsert import insert_for, rowcount

ANONYMOUS_PREFIX = "anon-"
EXPORT_KEY_PREFIX = "mydata"


def is_anonymous(slack_user_id: str) -> bool:
    return slack_user_id.startswith(ANONYMOUS_PREFIX)


# --- the export -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    slack_user_id: str
    display_name: str
    time_zone: str | None
    is_guest: bool
    is_workspace_admin: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Settings:
    away_until: date | None
    opted_out: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TeamSeat:
    team: str
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class InteractionEntry:
    occurred_at: datetime
    kind: str
    role: str  # "provider" (gave) or "beneficiary" (received)
    partnership: str | None
    other_person: str | None  # their Slack id (or anonymous id)
    own_team: str | None
    other_team: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StandupEntry:
    partnership: str
    local_date: date
    prompted_at: datetime | None
    answered_at: datetime | None
    late: bool
    answers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AskEntry:
    partnership: str
    role: str  # "requester" or "helper"
    created_at: datetime
    first_offer_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class ShadowingEntry:
    partnership: str
    round_no: int
    round_date: date
    role: str
    status: str
    partners: tuple[str, ...]
    met_at: datetime | None
    reflection_learned: str | None
    reflection_handoff: str | None
    reflected_at: datetime | None


@dataclass(frozen=True, slots=True)
class KudosEntry:
    partnership: str
    role: str  # "given", "received" or "seconded"
    created_at: datetime
    giver: str
    receivers: tuple[str, ...]
    reason: str
    values: tuple[str, ...]
    source_link: str | None


@dataclass(frozen=True, slots=True)
class KpiCheckinEntry:
    partnership: str
    kpi: str
    period: str
    value: float
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PulseEntry:
    """An answer still linked to the member: only while its month's round is open."""

    partnership: str
    month: str
    score: int
    comment: str | None


@dataclass(frozen=True, slots=True)
class MemberData:
    profile: Profile
    settings: Settings
    teams: tuple[TeamSeat, ...]
    interactions: tuple[InteractionEntry, ...]
    standup_answers: tuple[StandupEntry, ...]
    asks: tuple[AskEntry, ...]
    shadowing: tuple[ShadowingEntry, ...]
    kudos: tuple[KudosEntry, ...]
    kpis_owned: tuple[str, ...] = ()
    kpi_checkins: tuple[KpiCheckinEntry, ...] = ()
    pulse_answers: tuple[PulseEntry, ...] = ()


def find_member_id(session: Session, workspace_id: int, slack_user_id: str) -> int | None:
    return session.scalar(
        select(Member.id).where(
            Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
        )
    )


def member_data(session: Session, member_id: int) -> MemberData | None:
    """Everything Tandem keeps about one member, in the order it happened."""
    member = session.get(Member, member_id)
    if member is None:
        return None
    return MemberData(
        profile=Profile(
            slack_user_id=member.slack_user_id,
            display_name=member.display_name,
            time_zone=member.tz,
            is_guest=member.is_guest,
            is_workspace_admin=member.is_workspace_admin,
            updated_at=member.updated_at,
        ),
        settings=Settings(
            away_until=member.away_until, opted_out=tuple(sorted(member.opted_out or ()))
        ),
        teams=_teams(session, member_id),
        interactions=_interactions(session, member_id),
        standup_answers=_standup_answers(session, member_id),
        asks=_asks(session, member_id),
        shadowing=_shadowing(session, member_id),
        kudos=_kudos(session, member_id),
        kpis_owned=tuple(
            session.scalars(
                select(Kpi.name)
                .select_from(KpiOwner)
                .join(Kpi, KpiOwner.kpi_id == Kpi.id)
                .where(KpiOwner.member_id == member_id)
                .order_by(Kpi.name)
            )
        ),
        kpi_checkins=tuple(
            KpiCheckinEntry(*row)
            for row in session.execute(
                select(
                    Partnership.name,
                    Kpi.name,
                    KpiCheckin.period,
                    KpiCheckin.value,
                    KpiCheckin.note,
                    KpiCheckin.at,
                )
                .select_from(KpiCheckin)
                .join(Kpi, Kpi.id == KpiCheckin.kpi_id)
                .join(Partnership, Partnership.id == Kpi.partnership_id)
                .where(KpiCheckin.member_id == member_id)
                .order_by(KpiCheckin.at, KpiCheckin.id)
            )
        ),
        pulse_answers=tuple(
            PulseEntry(*row)
            for row in session.execute(
                select(Partnership.name, PulseRound.month, PulseAnswer.score, PulseAnswer.comment)
                .select_from(PulseRespondent)
                .join(PulseAnswer, PulseAnswer.id == PulseRespondent.answer_id)
                .join(PulseRound, PulseRound.id == PulseRespondent.round_id)
                .join(Partnership, Partnership.id == PulseRound.partnership_id)
                .where(PulseRespondent.member_id == member_id)
                .order_by(PulseRound.month)
            )
        ),
    )


def _teams(session: Session, member_id: int) -> tuple[TeamSeat, ...]:
    rows = session.execute(
        select(Team.name, TeamMembership.joined_at, TeamMembership.left_at)
        .join(Team, Team.id == TeamMembership.team_id)
        .where(TeamMembership.member_id == member_id)
        .order_by(TeamMembership.joined_at, TeamMembership.id)
    )
    return tuple(TeamSeat(*row) for row in rows)


def _interactions(session: Session, member_id: int) -> tuple[InteractionEntry, ...]:
    i = Interaction
    provider, beneficiary = aliased(Member), aliased(Member)
    provider_team, beneficiary_team = aliased(Team), aliased(Team)
    rows = session.execute(
        select(
            i.occurred_at,
            i.kind,
            i.provider_member_id,
            Partnership.name,
            provider.slack_user_id,
            beneficiary.slack_user_id,
            provider_team.name,
            beneficiary_team.name,
            i.tags,
        )
        .outerjoin(Partnership, Partnership.id == i.partnership_id)
        .join(provider, provider.id == i.provider_member_id)
        .outerjoin(beneficiary, beneficiary.id == i.beneficiary_member_id)
        .outerjoin(provider_team, provider_team.id == i.provider_team_id)
        .outerjoin(beneficiary_team, beneficiary_team.id == i.beneficiary_team_id)
        .where(or_(i.provider_member_id == member_id, i.beneficiary_member_id == member_id))
        .order_by(i.occurred_at, i.id)
    )
    entries = []
    for at, kind, provider_id, partnership, p_slack, b_slack, p_team, b_team, tags in rows:
        gave = provider_id == member_id
        entries.append(
            InteractionEntry(
                occurred_at=at,
                kind=kind,
                role="provider" if gave else "beneficiary",
                partnership=partnership,
                other_person=b_slack if gave else p_slack,
                own_team=p_team if gave else b_team,
                other_team=b_team if gave else p_team,
                tags=tuple(str(t) for t in tags or ()),
            )
        )
    return tuple(entries)


def _standup_answers(session: Session, member_id: int) -> tuple[StandupEntry, ...]:
    rows = session.execute(
        select(
            Partnership.name,
            StandupDay.local_date,
            StandupAnswer.prompted_at,
            StandupAnswer.answered_at,
            StandupAnswer.late,
            StandupAnswer.answers,
        )
        .join(StandupDay, StandupDay.id == StandupAnswer.standup_day_id)
        .join(Ritual, Ritual.id == StandupDay.ritual_id)
        .join(Partnership, Partnership.id == Ritual.partnership_id)
        .where(StandupAnswer.member_id == member_id)
        .order_by(StandupDay.local_date, StandupAnswer.id)
    )
    return tuple(
        StandupEntry(name, day, prompted, answered, bool(late), dict(answers or {}))
        for name, day, prompted, answered, late, answers in rows
    )


def _asks(session: Session, member_id: int) -> tuple[AskEntry, ...]:
    ask = StandupAsk
    rows = session.execute(
        select(
            Partnership.name,
            ask.requester_member_id,
            ask.created_at,
            ask.first_offer_at,
            ask.resolved_at,
        )
        .join(Partnership, Partnership.id == ask.partnership_id)
        .where(or_(ask.requester_member_id == member_id, ask.helper_member_id == member_id))
        .order_by(ask.created_at, ask.id)
    )
    return tuple(
        AskEntry(name, "requester" if requester == member_id else "helper", at, offered, resolved)
        for name, requester, at, offered, resolved in rows
    )


def _shadowing(session: Session, member_id: int) -> tuple[ShadowingEntry, ...]:
    own = aliased(ShadowParticipant)
    rows = session.execute(
        select(
            ShadowPairing.id,
            Partnership.name,
            ShadowRound.round_no,
            ShadowRound.round_date,
            own.role,
            ShadowPairing.status,
            ShadowPairing.met_at,
            ShadowPairing.reflection_learned,
            ShadowPairing.reflection_handoff,
            ShadowPairing.reflected_at,
        )
        .join(ShadowPairing, ShadowPairing.id == own.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .join(Ritual, Ritual.id == ShadowRound.ritual_id)
        .join(Partnership, Partnership.id == Ritual.partnership_id)
        .where(own.member_id == member_id)
        .order_by(ShadowRound.round_date, ShadowPairing.id)
    ).all()
    partners: dict[int, list[str]] = {}
    if rows:
        for pairing_id, slack_id in session.execute(
            select(ShadowParticipant.pairing_id, Member.slack_user_id)
            .join(Member, Member.id == ShadowParticipant.member_id)
            .join(own, own.pairing_id == ShadowParticipant.pairing_id)
            .where(own.member_id == member_id, ShadowParticipant.member_id != member_id)
            .order_by(Member.slack_user_id)
        ):
            partners.setdefault(pairing_id, []).append(slack_id)
    return tuple(
        ShadowingEntry(
            partnership=name,
            round_no=round_no,
            round_date=round_date,
            role=role,
            status=status,
            partners=tuple(partners.get(pairing_id, ())),
            met_at=met_at,
            reflection_learned=learned,
            reflection_handoff=handoff,
            reflected_at=reflected_at,
        )
        for (
            pairing_id,
            name,
            round_no,
            round_date,
            role,
            status,
            met_at,
            learned,
            handoff,
            reflected_at,
        ) in rows
    )


def _kudos(session: Session, member_id: int) -> tuple[KudosEntry, ...]:
    received = select(KudosRecipient.kudos_id).where(KudosRecipient.member_id == member_id)
    seconded = select(KudosSecond.kudos_id).where(KudosSecond.member_id == member_id)
    giver = aliased(Member)
    rows = session.execute(
        select(
            Kudos.id,
            Partnership.name,
            Kudos.giver_member_id,
            giver.slack_user_id,
            Kudos.created_at,
            Kudos.reason,
            Kudos.values,
            Kudos.source_link,
            Kudos.id.in_(received),
        )
        .join(Partnership, Partnership.id == Kudos.partnership_id)
        .join(giver, giver.id == Kudos.giver_member_id)
        .where(
            or_(
                Kudos.giver_member_id == member_id,
                Kudos.id.in_(received),
                Kudos.id.in_(seconded),
            )
        )
        .order_by(Kudos.created_at, Kudos.id)
    ).all()
    receivers: dict[int, list[str]] = {}
    if rows:
        mine = select(Kudos.id).where(
            or_(
                Kudos.giver_member_id == member_id,
                Kudos.id.in_(received),
                Kudos.id.in_(seconded),
            )
        )
        for kudos_id, slack_id in session.execute(
            select(KudosRecipient.kudos_id, Member.slack_user_id)
            .join(Member, Member.id == KudosRecipient.member_id)
            .where(KudosRecipient.kudos_id.in_(mine))
            .order_by(Member.slack_user_id)
        ):
            receivers.setdefault(kudos_id, []).append(slack_id)
    entries = []
    for kudos_id, name, giver_id, giver_slack, at, reason, values, link, got in rows:
        role = "given" if giver_id == member_id else "received" if got else "seconded"
        entries.append(
            KudosEntry(
                partnership=name,
                role=role,
                created_at=at,
                giver=giver_slack,
                receivers=tuple(receivers.get(kudos_id, ())),
                reason=reason,
                values=tuple(str(v) for v in values or ()),
                source_link=link,
            )
        )
    return tuple(entries)


# --- exports in the outbox ----------------------------------------------------------


def export_key_prefix(workspace_id: int, slack_user_id: str) -> str:
    return f"{EXPORT_KEY_PREFIX}:{workspace_id}:{slack_user_id}:"


def _export_rows(workspace_id: int, slack_user_id: str) -> Any:
    return Outbox.idempotency_key.startswith(
        export_key_prefix(workspace_id, slack_user_id), autoescape=True
    )


def last_export_at(session: Session, workspace_id: int, slack_user_id: str) -> datetime | None:
    """When the member's latest export was queued (None if none is kept)."""
    return session.scalar(
        select(func.max(Outbox.created_at)).where(_export_rows(workspace_id, slack_user_id))
    )


def drop_finished_exports(session: Session, workspace_id: int, slack_user_id: str) -> int:
    """Delete the member's earlier export rows that are done with: they hold a copy of the data."""
    return rowcount(
        session.execute(
            delete(Outbox)
            .where(
                _export_rows(workspace_id, slack_user_id),
                Outbox.status != outbox.OutboxStatus.PENDING,
            )
            .execution_options(synchronize_session=False)
        )
    )


# --- forgetting ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forgotten:
    anonymous_id: str
    answers: int  # standup answers emptied
    reflections: int  # shadowing reflections deleted
    teams_left: int
    cancelled: int  # messages to the member not sent yet, withdrawn


def forgotten_hash(slack_user_id: str) -> str:
    """What the forget marker keeps instead of the Slack id."""
    return hashlib.sha256(f"tandem-forgotten:{slack_user_id}".encode()).hexdigest()


def mark_forgotten(session: Session, workspace_id: int, slack_user_id: str, now: datetime) -> None:
    session.execute(
        insert_for(session, ForgottenMember)
        .values(workspace_id=workspace_id, id_hash=forgotten_hash(slack_user_id), forgotten_at=now)
        .on_conflict_do_nothing(index_elements=["workspace_id", "id_hash"])
    )


def forgotten_among(
    session: Session, workspace_id: int, slack_user_ids: Collection[str]
) -> set[str]:
    """The ids in `slack_user_ids` whose owners asked to be forgotten (sync skips them)."""
    by_hash = {forgotten_hash(uid): uid for uid in slack_user_ids}
    found: set[str] = set()
    for batch in batches(sorted(by_hash)):
        found.update(
            by_hash[h]
            for h in session.scalars(
                select(ForgottenMember.id_hash).where(
                    ForgottenMember.workspace_id == workspace_id,
                    ForgottenMember.id_hash.in_(batch),
                )
            )
        )
    return found


def leave_all_teams(session: Session, member_id: int, now: datetime) -> int:
    """End the member's current memberships (their history stays); returns how many ended."""
    return rowcount(
        session.execute(
            update(TeamMembership)
            .where(TeamMembership.member_id == member_id, TeamMembership.left_at.is_(None))
            .values(left_at=now)
            .execution_options(synchronize_session=False)
        )
    )


def forget_member(
    session: Session, workspace_id: int, slack_user_id: str, now: datetime
) -> Forgotten | None:
    """Erase what identifies the member and what they wrote; None if Tandem does not know them.

    Reflections belong to a pairing, not to whoever typed them, so every
    reflection of a pairing the member was in goes: it is about them either way.
    """
    member_id = session.scalar(
        select(Member.id)
        .where(Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id)
        .with_for_update()
    )
    if member_id is None:
        return None
    anonymous_id = ANONYMOUS_PREFIX + secrets.token_hex(8)
    answers = rowcount(
        session.execute(
            update(StandupAnswer)
            .where(StandupAnswer.member_id == member_id, StandupAnswer.answered_at.is_not(None))
            # The row stays (asks hang from it); a day's summary no longer counts it.
            .values(answers={}, answered_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    their_pairings = select(ShadowParticipant.pairing_id).where(
        ShadowParticipant.member_id == member_id
    )
    reflections = rowcount(
        session.execute(
            update(ShadowPairing)
            .where(
                ShadowPairing.id.in_(their_pairings),
                or_(
                    ShadowPairing.reflection_learned.is_not(None),
                    ShadowPairing.reflection_handoff.is_not(None),
                ),
            )
            .values(reflection_learned=None, reflection_handoff=None)
            .execution_options(synchronize_session=False)
        )
    )
    # A check-in's value stays in its KPI's history; who entered it and their note go.
    session.execute(
        update(KpiCheckin)
        .where(KpiCheckin.member_id == member_id)
        .values(member_id=None, note="")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(KpiOwner).where(KpiOwner.member_id == member_id))
    session.execute(delete(PulseRespondent).where(PulseRespondent.member_id == member_id))
    teams_left = leave_all_teams(session, member_id, now)
    mark_forgotten(session, workspace_id, slack_user_id, now)
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(
            slack_user_id=anonymous_id,
            display_name="",
            tz=None,
            is_deleted=True,
            is_guest=False,
            is_workspace_admin=False,
            away_until=None,
            opted_out=[],
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(HomeView).where(
            HomeView.workspace_id == workspace_id, HomeView.slack_user_id == slack_user_id
        )
    )
    session.execute(delete(Outbox).where(_export_rows(workspace_id, slack_user_id)))
    waiting = session.scalars(
        select(Outbox.idempotency_key).where(
            Outbox.workspace_id == workspace_id,
            Outbox.channel_key == slack_user_id,
            Outbox.status == outbox.OutboxStatus.PENDING,
        )
    ).all()
    cancelled = outbox.cancel(session, waiting, "the member asked Tandem to forget them")
    return Forgotten(anonymous_id, answers, reflections, teams_left, cancelled)
