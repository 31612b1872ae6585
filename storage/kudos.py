"""Kudos as rows: who thanked whom, the +1s, and the counts the limits and stats need.

A kudos is written in one go with its recipients and one interaction per
receiver (receiver -> giver: the receiver gave what is being recognised),
so the balance sees exactly the kudos that exist. The interaction carries
each receiver's team at the time, which is also how the daily allowance
tells a cross-team recipient from a same-team one.

Kudos settings are partnership settings, because kudos exist whether or not
the weekly prompt ritual is set up: `kudos_values` (value tags, e.g.
["customer-first", "ownership"]), `kudos_daily_limit` (recipients a giver may
thank per local day, default 5), `kudos_cross_team_exempt` (cross-team
recipients do not count against that limit, default false),
`kudos_leaderboard` (post last month's most thanked people in the joint
channel with the monthly digest, default false: by default only team totals
reach the monthly summary).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from rituals.interactions import InteractionKind
from rituals.kudos import WorkTie
from storage.batching import batches
from storage.db import take_sqlite_write_lock
from storage.interactions import NewInteraction, log
from storage.models import (
    Interaction,
    Kudos,
    KudosRecipient,
    KudosSecond,
    Member,
    Partnership,
    PartnershipTeam,
    Ritual,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
    StandupAsk,
    TeamMembership,
)
from storage.org import member_teams
from storage.upsert import insert_for, inserted

DEFAULT_DAILY_LIMIT = 5


@dataclass(frozen=True, slots=True)
class KudosSettings:
    values: tuple[str, ...] = ()
    daily_limit: int = DEFAULT_DAILY_LIMIT
    cross_team_exempt: bool = False
    leaderboard: bool = False

    @classmethod
    def from_partnership(cls, settings: Mapping[str, Any] | None) -> KudosSettings:
        """Read the partnership's settings; a malformed value falls back to its default."""
        found = dict(settings or {})
        raw_values = found.get("kudos_values")
        values = (
            tuple(str(v) for v in raw_values if str(v).strip())
            if isinstance(raw_values, list | tuple)
            else ()
        )
        limit = found.get("kudos_daily_limit", DEFAULT_DAILY_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            limit = DEFAULT_DAILY_LIMIT
        return cls(
            values=values,
            daily_limit=limit,
            cross_team_exempt=bool(found.get("kudos_cross_team_exempt", False)),
            leaderboard=found.get("kudos_leaderboard") is True,
        )


@dataclass(frozen=True, slots=True)
class PartnershipRef:
    id: int
    workspace_id: int
    name: str
    channel_id: str
    settings: dict[str, Any]

    @property
    def kudos(self) -> KudosSettings:
        return KudosSettings.from_partnership(self.settings)


def member_partnerships(
    session: Session, workspace_id: int, slack_user_id: str
) -> list[PartnershipRef]:
    """Partnerships with a team the person is currently in, oldest partnership first."""
    theirs = (
        select(PartnershipTeam.partnership_id)
        .join(TeamMembership, TeamMembership.team_id == PartnershipTeam.team_id)
        .join(Member, Member.id == TeamMembership.member_id)
        .where(
            Member.workspace_id == workspace_id,
            Member.slack_user_id == slack_user_id,
            TeamMembership.left_at.is_(None),
        )
    )
    rows = session.execute(
        select(
            Partnership.id,
            Partnership.workspace_id,
            Partnership.name,
            Partnership.channel_id,
            Partnership.settings,
        )
        .where(Partnership.workspace_id == workspace_id, Partnership.id.in_(theirs))
        .order_by(Partnership.id)
    ).all()
    return [PartnershipRef(i, w, n, c, dict(s or {})) for i, w, n, c, s in rows]


def get_partnership(session: Session, partnership_id: int) -> PartnershipRef | None:
    found = session.get(Partnership, partnership_id)
    if found is None:
        return None
    return PartnershipRef(
        found.id, found.workspace_id, found.name, found.channel_id, dict(found.settings or {})
    )


@dataclass(frozen=True, slots=True)
class KnownPerson:
    """A workspace member as Tandem knows them, with their team in one partnership."""

    member_id: int
    slack_user_id: str
    display_name: str
    tz: str | None
    is_bot: bool
    is_deleted: bool
    team_id: int | None  # None: in no team of the partnership right now


def known_people(
    session: Session, workspace_id: int, partnership_id: int, slack_user_ids: Iterable[str]
) -> dict[str, KnownPerson]:
    """The people Tandem has seen among `slack_user_ids`, keyed by Slack id.

    Each counts for one team of the partnership at most, by the same rule as
    storage.org.partnership_roster (rituals.roster.assign_teams).
    """
    wanted = sorted(set(slack_user_ids))
    if not wanted:
        return {}
    members = [
        row
        for batch in batches(wanted)
        for row in session.execute(
            select(
                Member.id,
                Member.slack_user_id,
                Member.display_name,
                Member.tz,
                Member.is_bot,
                Member.is_deleted,
            ).where(Member.workspace_id == workspace_id, Member.slack_user_id.in_(batch))
        )
    ]
    teams = member_teams(session, partnership_id, [row[0] for row in members])
    return {
        slack_id: KnownPerson(
            member_id, slack_id, name or "", tz, bool(bot), bool(deleted), teams.get(member_id)
        )
        for member_id, slack_id, name, tz, bot, deleted in members
    }


# --- giving -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receiver:
    member_id: int
    team_id: int | None


@dataclass(frozen=True, slots=True)
class NewKudos:
    workspace_id: int
    partnership_id: int
    giver_member_id: int
    giver_team_id: int | None
    reason: str
    values: Sequence[str]
    receivers: Sequence[Receiver]
    created_at: datetime
    source_link: str | None = None


def interaction_source(kudos_id: int, receiver_member_id: int) -> str:
    return f"kudos:{kudos_id}:{receiver_member_id}"


def second_source(kudos_id: int, seconder_member_id: int, receiver_member_id: int) -> str:
    return f"kudos-second:{kudos_id}:{seconder_member_id}:{receiver_member_id}"


def add_kudos(session: Session, new: NewKudos) -> int:
    """The kudos, its recipients and their interactions; the caller's transaction commits them."""
    if not new.receivers:
        raise ValueError("a kudos needs at least one receiver")
    kudos = Kudos(
        partnership_id=new.partnership_id,
        giver_member_id=new.giver_member_id,
        reason=new.reason,
        values=list(new.values),
        cross_team=any(_crosses(new.giver_team_id, r.team_id) for r in new.receivers),
        source_link=new.source_link,
        created_at=new.created_at,
    )
    session.add(kudos)
    session.flush()
    session.add_all(KudosRecipient(kudos_id=kudos.id, member_id=r.member_id) for r in new.receivers)
    log(
        session,
        *(
            NewInteraction(
                workspace_id=new.workspace_id,
                partnership_id=new.partnership_id,
                kind=InteractionKind.KUDOS,
                provider_member_id=r.member_id,
                beneficiary_member_id=new.giver_member_id,
                provider_team_id=r.team_id,
                beneficiary_team_id=new.giver_team_id,
                occurred_at=new.created_at,
                source=interaction_source(kudos.id, r.member_id),
                tags=tuple(new.values),
            )
            for r in new.receivers
        ),
    )
    session.flush()
    return kudos.id


def set_post_key(session: Session, kudos_id: int, post_key: str) -> None:
    kudos = session.get(Kudos, kudos_id)
    if kudos is None:
        raise LookupError(kudos_id)
    kudos.post_key = post_key
    session.flush()


def _crosses(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and a != b


def hold_giver(session: Session, giver_member_id: int) -> None:
    """Make this transaction the giver's only one until it ends, before counting their day.

    Without it, simultaneous gifts each count the day before any of them is
    written, and all of them pass the daily limit. PostgreSQL locks the
    giver's member row (other givers go on in parallel); SQLite has one writer
    at a time, so its write lock is taken first thing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Member.id).where(Member.id == giver_member_id).with_for_update())
    else:
        take_sqlite_write_lock(session)


def counted_today(
    session: Session,
    giver_member_id: int,
    start: datetime,
    end: datetime,
    *,
    cross_team_exempt: bool,
) -> int:
    """Recipients the giver thanked in [start, end) that count against the daily limit.

    With `cross_team_exempt`, recipients from another team than the giver's
    (as they were when thanked) do not count.
    """
    query = select(func.count()).where(
        Interaction.kind == InteractionKind.KUDOS.value,
        Interaction.beneficiary_member_id == giver_member_id,
        Interaction.occurred_at >= start,
        Interaction.occurred_at < end,
    )
    if cross_team_exempt:
        query = query.where(
            or_(
                Interaction.provider_team_id.is_(None),
                Interaction.beneficiary_team_id.is_(None),
                Interaction.provider_team_id == Interaction.beneficiary_team_id,
            )
        )
    return int(session.scalar(query) or 0)


# --- reading one kudos, and seconding it -----------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiverRecord:
    member_id: int
    slack_user_id: str
    team_id: int | None


@dataclass(frozen=True, slots=True)
class KudosRecord:
    id: int
    workspace_id: int
    partnership_id: int
    channel_id: str
    giver_member_id: int
    giver_slack_user_id: str
    giver_team_id: int | None
    reason: str
    values: tuple[str, ...]
    cross_team: bool
    source_link: str | None
    post_key: str | None
    created_at: datetime
    receivers: tuple[ReceiverRecord, ...] = field(default_factory=tuple)


def get_kudos(session: Session, kudos_id: int, *, lock: bool = False) -> KudosRecord | None:
    """One kudos with its receivers and their teams at the time.

    `lock` holds the kudos row until the transaction ends (PostgreSQL), so
    concurrent +1s on one post are counted one after the other.
    """
    giver = aliased(Member)
    query = (
        select(Kudos, Partnership.workspace_id, Partnership.channel_id, giver.slack_user_id)
        .join(Partnership, Partnership.id == Kudos.partnership_id)
        .join(giver, giver.id == Kudos.giver_member_id)
        .where(Kudos.id == kudos_id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Kudos)
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    kudos, workspace_id, channel_id, giver_slack_id = row
    people = session.execute(
        select(KudosRecipient.member_id, Member.slack_user_id)
        .join(Member, Member.id == KudosRecipient.member_id)
        .where(KudosRecipient.kudos_id == kudos_id)
        .order_by(KudosRecipient.member_id)
    ).all()
    sources = [interaction_source(kudos_id, member_id) for member_id, _ in people]
    teams: dict[int, tuple[int | None, int | None]] = {
        provider: (provider_team, beneficiary_team)
        for batch in batches(sources)
        for provider, provider_team, beneficiary_team in session.execute(
            select(
                Interaction.provider_member_id,
                Interaction.provider_team_id,
                Interaction.beneficiary_team_id,
            ).where(Interaction.source.in_(batch))
        )
    }
    giver_team = next((b for _, b in teams.values() if b is not None), None)
    return KudosRecord(
        id=kudos.id,
        workspace_id=workspace_id,
        partnership_id=kudos.partnership_id,
        channel_id=channel_id,
        giver_member_id=kudos.giver_member_id,
        giver_slack_user_id=giver_slack_id,
        giver_team_id=giver_team,
        reason=kudos.reason,
        values=tuple(kudos.values or ()),
        cross_team=kudos.cross_team,
        source_link=kudos.source_link,
        post_key=kudos.post_key,
        created_at=kudos.created_at,
        receivers=tuple(
            ReceiverRecord(member_id, slack_id, teams.get(member_id, (None, None))[0])
            for member_id, slack_id in people
        ),
    )


def add_second(
    session: Session,
    record: KudosRecord,
    seconder_member_id: int,
    seconder_team_id: int | None,
    now: datetime,
) -> bool:
    """Log one +1 (and receiver -> seconder interactions); False if this person already had."""
    stmt = (
        insert_for(session, KudosSecond)
        .values(kudos_id=record.id, member_id=seconder_member_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["kudos_id", "member_id"])
    )
    if not inserted(session, stmt, KudosSecond.kudos_id):
        return False
    log(
        session,
        *(
            NewInteraction(
                workspace_id=record.workspace_id,
                partnership_id=record.partnership_id,
                kind=InteractionKind.KUDOS_SECOND,
                provider_member_id=r.member_id,
                beneficiary_member_id=seconder_member_id,
                provider_team_id=r.team_id,
                beneficiary_team_id=seconder_team_id,
                occurred_at=now,
                source=second_source(record.id, seconder_member_id, r.member_id),
                tags=record.values,
            )
            for r in record.receivers
        ),
    )
    return True


def has_seconded(session: Session, kudos_id: int, member_id: int) -> bool:
    found = session.scalar(
        select(KudosSecond.kudos_id).where(
            KudosSecond.kudos_id == kudos_id, KudosSecond.member_id == member_id
        )
    )
    return found is not None


def second_count(session: Session, kudos_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(KudosSecond).where(KudosSecond.kudos_id == kudos_id)
    )
    return int(count or 0)


# --- stats ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthStats:
    given: int  # kudos the member gave
    people_thanked: int  # distinct people in them
    received: int  # kudos the member was among the receivers of
    cross_team_given: int
    cross_team_received: int
    seconds_received: int  # +1s on kudos the member received


def month_stats(session: Session, member_id: int, start: datetime, end: datetime) -> MonthStats:
    """One member's own kudos in [start, end): only ever shown to that member."""
    given, cross_given = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_as_int(Kudos.cross_team)), 0),
        ).where(
            Kudos.giver_member_id == member_id, Kudos.created_at >= start, Kudos.created_at < end
        )
    ).one()
    people = session.scalar(
        select(func.count(func.distinct(KudosRecipient.member_id)))
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .where(
            Kudos.giver_member_id == member_id, Kudos.created_at >= start, Kudos.created_at < end
        )
    )
    received, cross_received = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(_as_int(Kudos.cross_team)), 0),
        )
        .select_from(KudosRecipient)
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .where(
            KudosRecipient.member_id == member_id,
            Kudos.created_at >= start,
            Kudos.created_at < end,
        )
    ).one()
    seconds = session.scalar(
        select(func.count())
        .select_from(KudosSecond)
        .join(KudosRecipient, KudosRecipient.kudos_id == KudosSecond.kudos_id)
        .join(Kudos, Kudos.id == KudosSecond.kudos_id)
        .where(
            KudosRecipient.member_id == member_id,
            Kudos.created_at >= start,
            Kudos.created_at < end,
        )
    )
    return MonthStats(
        given=int(given),
        people_thanked=int(people or 0),
        received=int(received),
        cross_team_given=int(cross_given),
        cross_team_received=int(cross_received),
        seconds_received=int(seconds or 0),
    )


@dataclass(frozen=True, slots=True)
class Leader:
    slack_user_id: str
    display_name: str
    received: int  # kudos the person was among the receivers of


@dataclass(frozen=True, slots=True)
class Leaderboard:
    top: tuple[Leader, ...]  # most kudos received first, ties by name
    kudos: int  # all kudos given in the partnership in the window
    cross_team: int  # those of them that crossed teams

    @property
    def is_empty(self) -> bool:
        return not self.top


def leaderboard(
    session: Session, partnership_id: int, start: datetime, end: datetime, limit: int = 5
) -> Leaderboard:
    """The partnership's most thanked people in [start, end), for the optional monthly board.

    Only kudos given in this partnership count, so only its people appear
    (receivers are checked to be in one of its teams when thanked);
    deactivated accounts and bots are left out.
    """
    in_window = (
        Kudos.partnership_id == partnership_id,
        Kudos.created_at >= start,
        Kudos.created_at < end,
    )
    received = func.count().label("received")
    name = func.lower(Member.display_name)
    rows = session.execute(
        select(Member.slack_user_id, Member.display_name, received)
        .select_from(KudosRecipient)
        .join(Kudos, Kudos.id == KudosRecipient.kudos_id)
        .join(Member, Member.id == KudosRecipient.member_id)
        .where(*in_window, Member.is_deleted.is_(False), Member.is_bot.is_(False))
        .group_by(Member.id, Member.slack_user_id, Member.display_name)
        .order_by(received.desc(), name, Member.slack_user_id)
        .limit(limit)
    ).all()
    total, cross = session.execute(
        select(func.count(), func.coalesce(func.sum(_as_int(Kudos.cross_team)), 0)).where(
            *in_window
        )
    ).one()
    return Leaderboard(
        top=tuple(Leader(user, display or "", int(count)) for user, display, count in rows),
        kudos=int(total),
        cross_team=int(cross),
    )


def _as_int(flag: Any) -> Any:
    return case((flag.is_(True), 1), else_=0)


# --- the weekly prompt ----------------------------------------------------------


def cross_team_givers_since(
    session: Session, partnership_id: int, since: datetime
) -> dict[int, datetime]:
    """Member id -> their latest cross-team kudos in the partnership at or after `since`."""
    rows = session.execute(
        select(Kudos.giver_member_id, func.max(Kudos.created_at))
        .where(
            Kudos.partnership_id == partnership_id,
            Kudos.cross_team.is_(True),
            Kudos.created_at >= since,
        )
        .group_by(Kudos.giver_member_id)
    )
    return {member_id: latest for member_id, latest in rows}


@dataclass(frozen=True, slots=True)
class WorkedWith:
    """`member_id` worked with `other_member_id` (a candidate to thank) at `at`."""

    member_id: int
    other_member_id: int
    tie: WorkTie
    at: datetime


_ANSWER_KINDS = (InteractionKind.HELP_GIVEN.value, InteractionKind.HELP_OFFERED.value)
_MENTION_KINDS = (InteractionKind.MENTION.value, InteractionKind.SHADOWING.value)


def worked_with_since(session: Session, partnership_id: int, since: datetime) -> list[WorkedWith]:
    """Who each member of the partnership worked with since `since`, in three cheap queries.

    Shadowing partners (both ways), whoever answered their standup asks, and
    whoever the interaction log says helped or was mentioned by them.
    """
    ties: list[WorkedWith] = []
    other = aliased(ShadowParticipant)
    shadowing = session.execute(
        select(ShadowParticipant.member_id, other.member_id, ShadowRound.created_at)
        .join(other, other.pairing_id == ShadowParticipant.pairing_id)
        .join(ShadowPairing, ShadowPairing.id == ShadowParticipant.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .join(Ritual, Ritual.id == ShadowRound.ritual_id)
        .where(
            Ritual.partnership_id == partnership_id,
            ShadowRound.created_at >= since,
            other.member_id != ShadowParticipant.member_id,
        )
    )
    ties += [WorkedWith(m, o, WorkTie.SHADOWING_PARTNER, at) for m, o, at in shadowing]
    asks = session.execute(
        select(
            StandupAsk.requester_member_id,
            StandupAsk.helper_member_id,
            func.coalesce(StandupAsk.first_offer_at, StandupAsk.created_at),
        ).where(
            StandupAsk.partnership_id == partnership_id,
            StandupAsk.helper_member_id.is_not(None),
            StandupAsk.created_at >= since,
        )
    )
    ties += [WorkedWith(m, o, WorkTie.ANSWERED_ASK, at) for m, o, at in asks if o is not None]
    logged = session.execute(
        select(
            Interaction.beneficiary_member_id,
            Interaction.provider_member_id,
            Interaction.kind,
            Interaction.occurred_at,
        ).where(
            Interaction.partnership_id == partnership_id,
            Interaction.occurred_at >= since,
            Interaction.beneficiary_member_id.is_not(None),
            Interaction.kind.in_(_ANSWER_KINDS + _MENTION_KINDS),
            Interaction.provider_member_id != Interaction.beneficiary_member_id,
        )
    )
    ties += [
        WorkedWith(m, o, WorkTie.ANSWERED_ASK if kind in _ANSWER_KINDS else WorkTie.MENTIONED, at)
        for m, o, kind, at in logged
        if m is not None
    ]
    return ties
