"""Shadowing rounds as rows: who was paired with whom, what became of it, and what the matcher needs.

A round belongs to one shadowing ritual and is numbered 1, 2, 3… within it.
Each pairing has one host and one or two shadowers (shadow_participant.role)
and moves from `proposed` (or `rescheduled`) to one final status: `met`,
`skipped` or `partner_left`. Every status change is a guarded UPDATE on the
open statuses, so two clicks (or two replicas) can never both win.

Everyone in the round's two teams who was not paired gets a shadow_unpaired
row with the matcher's reason, so nobody is left out without a trace.

The matcher's inputs are read here with a few aggregate queries: how many
rounds ago two people were last paired, each person's last role, who sat out
their last round, who already has a cross-team tie, and last month's flows
between two teams.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from rituals.interactions import FLOW_KINDS, RitualKind
from storage.models import (
    Interaction,
    Member,
    Partnership,
    PartnershipTeam,
    Ritual,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
    ShadowUnpaired,
    TeamMembership,
)
from storage.upsert import insert_for, rowcount

# Two people are tied once they have this many interactions between them in
# the window (the architecture's definition of a tie, used for reach too).
TIE_MIN_INTERACTIONS = 2


class PairingStatus(StrEnum):
    PROPOSED = "proposed"
    RESCHEDULED = "rescheduled"  # still open; new times were suggested
    MET = "met"
    SKIPPED = "skipped"
    PARTNER_LEFT = "partner_left"  # someone left the team (or Slack) mid-round


OPEN_STATUSES: tuple[str, ...] = (PairingStatus.PROPOSED.value, PairingStatus.RESCHEDULED.value)


class Role(StrEnum):
    HOST = "host"
    SHADOWER = "shadower"


@dataclass(frozen=True, slots=True)
class NewPairing:
    host_id: int
    shadower_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Participant:
    member_id: int
    slack_user_id: str
    display_name: str
    tz: str | None
    role: str


@dataclass(frozen=True, slots=True)
class PairingRecord:
    """A pairing with its round, ritual and people, read in one go."""

    id: int
    status: str
    met_at: datetime | None
    reminder_due_at: datetime | None
    reflected_at: datetime | None
    round_id: int
    round_no: int
    round_date: date
    ritual_id: int
    partnership_id: int
    workspace_id: int
    participants: tuple[Participant, ...]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def host(self) -> Participant:
        return next(p for p in self.participants if p.role == Role.HOST.value)

    @property
    def shadowers(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.role == Role.SHADOWER.value)

    @property
    def slack_user_ids(self) -> tuple[str, ...]:
        return tuple(p.slack_user_id for p in self.participants)

    def participant(self, slack_user_id: str) -> Participant | None:
        return next((p for p in self.participants if p.slack_user_id == slack_user_id), None)


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    pairs: int
    met: int
    newly_connected: int  # people who met someone they had no interaction with before


@dataclass(frozen=True, slots=True)
class MemberRound:
    """Where one member stands in the latest round of one shadowing ritual."""

    ritual_id: int
    partnership_id: int
    partnership_name: str
    round_id: int | None  # None: the ritual has had no round yet
    round_no: int | None
    round_date: date | None
    pairing: PairingRecord | None
    unpaired_reason: str | None  # set when the member was in the round but not paired


@dataclass(frozen=True, slots=True)
class Departure:
    """A participant of an open pairing who is no longer in the partnership (or in Slack)."""

    pairing_id: int
    member_id: int


# --- writing a round ------------------------------------------------------------------


def next_round_no(session: Session, ritual_id: int) -> int:
    latest = session.scalar(
        select(func.max(ShadowRound.round_no)).where(ShadowRound.ritual_id == ritual_id)
    )
    return int(latest or 0) + 1


def create_round(
    session: Session, ritual_id: int, round_no: int, round_date: date, now: datetime
) -> int:
    round_ = ShadowRound(
        ritual_id=ritual_id, round_no=round_no, round_date=round_date, created_at=now
    )
    session.add(round_)
    session.flush()
    return round_.id


def add_pairings(
    session: Session,
    round_id: int,
    pairings: Sequence[NewPairing],
    reminder_due_at: datetime | None,
) -> list[int]:
    """Insert pairings with their participants; returns their ids in the same order."""
    if not pairings:
        return []
    rows = [
        {
            "round_id": round_id,
            "status": PairingStatus.PROPOSED.value,
            "reminder_due_at": reminder_due_at,
        }
        for _ in pairings
    ]
    ids = [
        int(row_id)
        for row_id in session.scalars(
            insert(ShadowPairing).returning(ShadowPairing.id, sort_by_parameter_order=True), rows
        )
    ]
    participants: list[dict[str, Any]] = []
    for pairing_id, pairing in zip(ids, pairings, strict=True):
        participants.append(
            {"pairing_id": pairing_id, "member_id": pairing.host_id, "role": Role.HOST.value}
        )
        participants += [
            {"pairing_id": pairing_id, "member_id": m, "role": Role.SHADOWER.value}
            for m in pairing.shadower_ids
        ]
    session.execute(insert(ShadowParticipant), participants)
    return ids


def add_unpaired(session: Session, round_id: int, entries: Iterable[tuple[int, str]]) -> int:
    """Record (member id, reason) for everyone in the round who was not paired."""
    rows = [{"round_id": round_id, "member_id": m, "reason": r} for m, r in entries]
    if not rows:
        return 0
    session.execute(
        insert_for(session, ShadowUnpaired).on_conflict_do_nothing(
            index_elements=["round_id", "member_id"]
        ),
        rows,
    )
    return len(rows)


# --- what the matcher needs -------------------------------------------------------------


def recent_history(
    session: Session, ritual_id: int, round_no: int, window: int, rotation: int = 1
) -> dict[frozenset[int], int]:
    """frozenset({a, b}) -> rounds ago (1 = last time) for pairs matched within `window` rounds.

    With `rotation` team pairs taking turns (a partnership of three teams has
    three), a pair of people can only meet every `rotation` ritual rounds, so
    rounds are counted in turns of their own pair of teams.
    """
    if window <= 0:
        return {}
    step = max(1, rotation)
    other = aliased(ShadowParticipant)
    rows = session.execute(
        select(ShadowParticipant.member_id, other.member_id, func.max(ShadowRound.round_no))
        .join(other, other.pairing_id == ShadowParticipant.pairing_id)
        .join(ShadowPairing, ShadowPairing.id == ShadowParticipant.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .where(
            ShadowRound.ritual_id == ritual_id,
            ShadowRound.round_no < round_no,
            ShadowRound.round_no >= round_no - window * step,
            ShadowParticipant.member_id < other.member_id,
        )
        .group_by(ShadowParticipant.member_id, other.member_id)
    )
    return {
        frozenset((a, b)): -(-(round_no - int(last)) // step)  # ceiling division
        for a, b, last in rows
    }


def last_roles(session: Session, ritual_id: int) -> dict[int, str]:
    """member id -> the role they had in their latest pairing of this ritual."""
    # A window function, not a join on per-member maxima: PostgreSQL planned
    # that join as a nested loop and took over a minute at 10,000 members.
    latest_first = (
        func.row_number()
        .over(partition_by=ShadowParticipant.member_id, order_by=ShadowRound.round_no.desc())
        .label("n")
    )
    ranked = (
        select(ShadowParticipant.member_id, ShadowParticipant.role, latest_first)
        .join(ShadowPairing, ShadowPairing.id == ShadowParticipant.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .where(ShadowRound.ritual_id == ritual_id)
        .subquery()
    )
    rows = session.execute(select(ranked.c.member_id, ranked.c.role).where(ranked.c.n == 1))
    return {int(member_id): str(role) for member_id, role in rows}


def sat_out_last(session: Session, ritual_id: int, reasons: Collection[str]) -> set[int]:
    """Members whose latest round in this ritual left them out for one of `reasons`.

    A member who was left out and has not been paired since still counts, even
    if a round in between skipped them for another reason (away, say).
    """
    if not reasons:
        return set()
    left_out = (
        select(
            ShadowUnpaired.member_id.label("member_id"),
            func.max(ShadowRound.round_no).label("round_no"),
        )
        .join(ShadowRound, ShadowRound.id == ShadowUnpaired.round_id)
        .where(ShadowRound.ritual_id == ritual_id, ShadowUnpaired.reason.in_(list(reasons)))
        .group_by(ShadowUnpaired.member_id)
        .subquery()
    )
    paired = (
        select(
            ShadowParticipant.member_id.label("member_id"),
            func.max(ShadowRound.round_no).label("round_no"),
        )
        .join(ShadowPairing, ShadowPairing.id == ShadowParticipant.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .where(ShadowRound.ritual_id == ritual_id)
        .group_by(ShadowParticipant.member_id)
        .subquery()
    )
    rows = session.scalars(
        select(left_out.c.member_id)
        .outerjoin(paired, paired.c.member_id == left_out.c.member_id)
        .where(or_(paired.c.round_no.is_(None), paired.c.round_no < left_out.c.round_no))
    )
    return set(rows)


def cross_team_tied(
    session: Session, team_ids: Collection[int], since: datetime, until: datetime
) -> set[int]:
    """Members with a tie (TIE_MIN_INTERACTIONS or more, either way) to someone of another of `team_ids`."""
    teams = list(team_ids)
    if len(teams) < 2:
        return set()
    low = case(
        (
            Interaction.provider_member_id < Interaction.beneficiary_member_id,
            Interaction.provider_member_id,
        ),
        else_=Interaction.beneficiary_member_id,
    )
    high = case(
        (
            Interaction.provider_member_id < Interaction.beneficiary_member_id,
            Interaction.beneficiary_member_id,
        ),
        else_=Interaction.provider_member_id,
    )
    rows = session.execute(
        select(low, high)
        .where(
            Interaction.occurred_at >= since,
            Interaction.occurred_at < until,
            Interaction.beneficiary_member_id.is_not(None),
            Interaction.provider_member_id != Interaction.beneficiary_member_id,
            Interaction.provider_team_id.in_(teams),
            Interaction.beneficiary_team_id.in_(teams),
            Interaction.provider_team_id != Interaction.beneficiary_team_id,
        )
        .group_by(low, high)
        .having(func.count() >= TIE_MIN_INTERACTIONS)
    )
    tied: set[int] = set()
    for a, b in rows:
        tied.update((int(a), int(b)))
    return tied


def team_flows(
    session: Session, team_a: int, team_b: int, start: datetime, end: datetime
) -> tuple[int, int]:
    """(flows A -> B, flows B -> A) in [start, end): what each team gave the other."""
    rows = session.execute(
        select(Interaction.provider_team_id, func.count())
        .where(
            Interaction.kind.in_([k.value for k in FLOW_KINDS]),
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
            Interaction.beneficiary_member_id.is_not(None),
            Interaction.provider_member_id != Interaction.beneficiary_member_id,
            or_(
                and_(
                    Interaction.provider_team_id == team_a,
                    Interaction.beneficiary_team_id == team_b,
                ),
                and_(
                    Interaction.provider_team_id == team_b,
                    Interaction.beneficiary_team_id == team_a,
                ),
            ),
        )
        .group_by(Interaction.provider_team_id)
    )
    given = {int(team): int(n) for team, n in rows if team is not None}
    return given.get(team_a, 0), given.get(team_b, 0)


# --- reading and changing a pairing ------------------------------------------------------


def get_pairing(session: Session, pairing_id: int) -> PairingRecord | None:
    head = session.execute(
        select(
            ShadowPairing.id,
            ShadowPairing.status,
            ShadowPairing.met_at,
            ShadowPairing.reminder_due_at,
            ShadowPairing.reflected_at,
            ShadowRound.id,
            ShadowRound.round_no,
            ShadowRound.round_date,
            Ritual.id,
            Ritual.partnership_id,
            Partnership.workspace_id,
        )
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .join(Ritual, Ritual.id == ShadowRound.ritual_id)
        .join(Partnership, Partnership.id == Ritual.partnership_id)
        .where(ShadowPairing.id == pairing_id)
    ).one_or_none()
    if head is None:
        return None
    return _record(head, _participants(session, [pairing_id]).get(pairing_id, ()))


def _participants(
    session: Session, pairing_ids: Collection[int]
) -> dict[int, tuple[Participant, ...]]:
    rows = session.execute(
        select(
            ShadowParticipant.pairing_id,
            ShadowParticipant.member_id,
            Member.slack_user_id,
            Member.display_name,
            Member.tz,
            ShadowParticipant.role,
        )
        .join(Member, Member.id == ShadowParticipant.member_id)
        .where(ShadowParticipant.pairing_id.in_(list(pairing_ids)))
        # Host first ("host" sorts before "shadower"), then shadowers by member id.
        .order_by(ShadowParticipant.pairing_id, ShadowParticipant.role, Member.id)
    )
    found: dict[int, list[Participant]] = {}
    for pairing_id, member_id, slack_id, name, tz, role in rows:
        found.setdefault(pairing_id, []).append(
            Participant(member_id, slack_id, name or "", tz, role)
        )
    return {k: tuple(v) for k, v in found.items()}


def _record(head: Any, participants: tuple[Participant, ...]) -> PairingRecord:
    (pid, status, met_at, reminder, reflected, round_id, round_no, round_date, ritual_id,
     partnership_id, workspace_id) = head  # fmt: skip
    return PairingRecord(
        id=pid,
        status=status,
        met_at=met_at,
        reminder_due_at=reminder,
        reflected_at=reflected,
        round_id=round_id,
        round_no=round_no,
        round_date=round_date,
        ritual_id=ritual_id,
        partnership_id=partnership_id,
        workspace_id=workspace_id,
        participants=participants,
    )


def close(
    session: Session,
    pairing_id: int,
    status: PairingStatus,
    *,
    met_at: datetime | None = None,
) -> bool:
    """Move an open pairing to a final status; False if it was no longer open (someone was first)."""
    values: dict[str, Any] = {"status": status.value, "reminder_due_at": None}
    if met_at is not None:
        values["met_at"] = met_at
    return _guarded(session, pairing_id, values)


def reschedule(session: Session, pairing_id: int, reminder_due_at: datetime | None) -> bool:
    """Mark an open pairing as rescheduled with its new reminder time; False if not open."""
    values = {"status": PairingStatus.RESCHEDULED.value, "reminder_due_at": reminder_due_at}
    return _guarded(session, pairing_id, values)


def _guarded(session: Session, pairing_id: int, values: dict[str, Any]) -> bool:
    done = session.execute(
        update(ShadowPairing)
        .where(ShadowPairing.id == pairing_id, ShadowPairing.status.in_(OPEN_STATUSES))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


def save_reflection(
    session: Session, pairing_id: int, learned: str, handoff: str, now: datetime
) -> bool:
    """Store the reflection of a pairing that met; False if it has one already (or did not meet)."""
    done = session.execute(
        update(ShadowPairing)
        .where(
            ShadowPairing.id == pairing_id,
            ShadowPairing.status == PairingStatus.MET.value,
            ShadowPairing.reflected_at.is_(None),
        )
        .values(reflection_learned=learned, reflection_handoff=handoff, reflected_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


# --- rounds -----------------------------------------------------------------------------


def previous_round_id(session: Session, ritual_id: int, round_no: int) -> int | None:
    found = session.scalar(
        select(ShadowRound.id).where(
            ShadowRound.ritual_id == ritual_id, ShadowRound.round_no == round_no - 1
        )
    )
    return None if found is None else int(found)


def open_pairings(session: Session, round_id: int) -> list[tuple[int, datetime | None]]:
    """(pairing id, reminder due) of the round's pairings that are still open."""
    rows = session.execute(
        select(ShadowPairing.id, ShadowPairing.reminder_due_at).where(
            ShadowPairing.round_id == round_id, ShadowPairing.status.in_(OPEN_STATUSES)
        )
    )
    return [(int(pid), due) for pid, due in rows]


def round_outcome(session: Session, round_id: int) -> RoundOutcome:
    """How a round went: pairs made, pairs that met, people who met someone new to them."""
    counts = session.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((ShadowPairing.status == PairingStatus.MET.value, 1), else_=0)), 0
            ),
        ).where(ShadowPairing.round_id == round_id)
    ).one()
    host = aliased(ShadowParticipant)
    guest = aliased(ShadowParticipant)
    # Two EXISTS rather than one with OR, so each can use its (member, time) index.
    gave = exists().where(
        Interaction.provider_member_id == host.member_id,
        Interaction.beneficiary_member_id == guest.member_id,
        Interaction.occurred_at < ShadowRound.created_at,
    )
    took = exists().where(
        Interaction.provider_member_id == guest.member_id,
        Interaction.beneficiary_member_id == host.member_id,
        Interaction.occurred_at < ShadowRound.created_at,
    )
    new_pairs = session.execute(
        select(host.member_id, guest.member_id)
        .join(ShadowPairing, ShadowPairing.id == host.pairing_id)
        .join(guest, guest.pairing_id == host.pairing_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .where(
            ShadowPairing.round_id == round_id,
            ShadowPairing.status == PairingStatus.MET.value,
            host.role == Role.HOST.value,
            guest.role == Role.SHADOWER.value,
            ~gave,
            ~took,
        )
    ).all()
    people = {m for pair in new_pairs for m in pair}
    return RoundOutcome(pairs=int(counts[0]), met=int(counts[1]), newly_connected=len(people))


def member_rounds(session: Session, member_id: int) -> list[MemberRound]:
    """The member's place in the latest round of each shadowing ritual they take part in.

    Rituals count when the member is in one of the partnership's teams now,
    or when they were in the ritual's latest round.
    """
    current_partnerships = (
        select(PartnershipTeam.partnership_id)
        .join(TeamMembership, TeamMembership.team_id == PartnershipTeam.team_id)
        .where(TeamMembership.member_id == member_id, TeamMembership.left_at.is_(None))
    )
    latest = (
        select(ShadowRound.ritual_id, func.max(ShadowRound.round_no).label("round_no"))
        .group_by(ShadowRound.ritual_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Ritual.id,
            Ritual.partnership_id,
            Partnership.name,
            ShadowRound.id,
            ShadowRound.round_no,
            ShadowRound.round_date,
        )
        .join(Partnership, Partnership.id == Ritual.partnership_id)
        .outerjoin(latest, latest.c.ritual_id == Ritual.id)
        .outerjoin(
            ShadowRound,
            and_(ShadowRound.ritual_id == Ritual.id, ShadowRound.round_no == latest.c.round_no),
        )
        .where(Ritual.kind == RitualKind.SHADOWING.value)
        .order_by(Ritual.id)
    ).all()
    member_partnerships = set(session.scalars(current_partnerships))
    round_ids = [r[3] for r in rows if r[3] is not None]
    pairing_of: dict[int, int] = {}
    reason_of: dict[int, str] = {}
    if round_ids:
        pairing_of = {
            int(round_id): int(pairing_id)
            for round_id, pairing_id in session.execute(
                select(ShadowPairing.round_id, ShadowPairing.id)
                .join(ShadowParticipant, ShadowParticipant.pairing_id == ShadowPairing.id)
                .where(
                    ShadowPairing.round_id.in_(round_ids), ShadowParticipant.member_id == member_id
                )
            )
        }
        reason_of = {
            int(round_id): str(reason)
            for round_id, reason in session.execute(
                select(ShadowUnpaired.round_id, ShadowUnpaired.reason).where(
                    ShadowUnpaired.round_id.in_(round_ids), ShadowUnpaired.member_id == member_id
                )
            )
        }
    found: list[MemberRound] = []
    for ritual_id, partnership_id, name, round_id, round_no, round_date in rows:
        in_round = round_id is not None and (round_id in pairing_of or round_id in reason_of)
        if partnership_id not in member_partnerships and not in_round:
            continue
        pairing = get_pairing(session, pairing_of[round_id]) if round_id in pairing_of else None
        found.append(
            MemberRound(
                ritual_id=ritual_id,
                partnership_id=partnership_id,
                partnership_name=name,
                round_id=round_id,
                round_no=round_no,
                round_date=round_date,
                pairing=pairing,
                unpaired_reason=reason_of.get(round_id) if round_id is not None else None,
            )
        )
    return found


def departures(session: Session, ritual_id: int | None = None) -> list[Departure]:
    """Participants of open pairings in each ritual's latest round who left the partnership.

    Left means: no current membership in any of the partnership's teams, or
    deactivated in Slack (both come from team sync).
    """
    latest = (
        select(ShadowRound.ritual_id, func.max(ShadowRound.round_no).label("round_no"))
        .group_by(ShadowRound.ritual_id)
        .subquery()
    )
    still_in = exists().where(
        TeamMembership.member_id == ShadowParticipant.member_id,
        TeamMembership.left_at.is_(None),
        TeamMembership.team_id == PartnershipTeam.team_id,
        PartnershipTeam.partnership_id == Ritual.partnership_id,
    )
    query = (
        select(ShadowPairing.id, ShadowParticipant.member_id)
        .join(ShadowParticipant, ShadowParticipant.pairing_id == ShadowPairing.id)
        .join(Member, Member.id == ShadowParticipant.member_id)
        .join(ShadowRound, ShadowRound.id == ShadowPairing.round_id)
        .join(
            latest,
            and_(
                latest.c.ritual_id == ShadowRound.ritual_id,
                latest.c.round_no == ShadowRound.round_no,
            ),
        )
        .join(Ritual, Ritual.id == ShadowRound.ritual_id)
        .where(
            ShadowPairing.status.in_(OPEN_STATUSES),
            or_(Member.is_deleted.is_(True), ~still_in),
        )
        .order_by(ShadowPairing.id, ShadowParticipant.member_id)
    )
    if ritual_id is not None:
        query = query.where(ShadowRound.ritual_id == ritual_id)
    return [Departure(int(p), int(m)) for p, m in session.execute(query)]
