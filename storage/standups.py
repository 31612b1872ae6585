"""Standup days, answers and cross-team asks as rows.

A day (ritual, local date) owns the summary thread. Everything that changes
a day's thread first takes the day's row lock: an answer or an edit with
`lock_day`, new prompts with `ensure_days`. Concurrent answers then queue up
instead of overwriting each other's summary, and prompts never miss an
answer saved at the same moment. Make `lock_day` the transaction's first
statement (SQLite cannot upgrade a read snapshot another writer has moved past).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from rituals.interactions import InteractionKind, RitualKind
from rituals.standup import ASK
from storage.batching import batches
from storage.models import (
    AuditLog,
    Interaction,
    Member,
    Outbox,
    Partnership,
    PartnershipTeam,
    Ritual,
    StandupAnswer,
    StandupAsk,
    StandupDay,
    Team,
    TeamMembership,
)
from storage.org import RosterEntry, partnership_roster
from storage.upsert import insert_for, rowcount

ANSWER_SOURCE = "standup:answer:"
ASK_SOURCE = "standup:ask:"


def answer_source(answer_id: int, *parts: object) -> str:
    """The interaction source key of something an answer says, e.g. its mention of someone."""
    return ":".join([f"{ANSWER_SOURCE}{answer_id}", *map(str, parts)])


def ask_source(ask_id: int, *parts: object) -> str:
    return ":".join([f"{ASK_SOURCE}{ask_id}", *map(str, parts)])


# --- days ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRow:
    id: int
    ritual_id: int
    local_date: date
    cutoff_at: datetime  # the latest cutoff of anyone prompted that day
    summary_key: str | None  # the outbox key of the summary's newest version
    summary_revision: int  # how many versions followed the first post


_DAY_COLUMNS = (
    StandupDay.id,
    StandupDay.ritual_id,
    StandupDay.local_date,
    StandupDay.cutoff_at,
    StandupDay.summary_key,
    StandupDay.summary_revision,
)


def ensure_days(
    session: Session, ritual_id: int, cutoffs: Mapping[date, datetime], now: datetime
) -> dict[date, int]:
    """The day rows for these local dates (created as needed), by date, locked like `lock_day`.

    A day's cutoff only ever moves later, to the latest cutoff given for it.
    Holding the lock means the caller sees every answer committed before it
    and no answer can be saved for these days until the caller commits.
    """
    if not cutoffs:
        return {}
    rows = [
        {"ritual_id": ritual_id, "local_date": day, "cutoff_at": cutoff, "created_at": now}
        for day, cutoff in sorted(cutoffs.items())
    ]
    stmt = insert_for(session, StandupDay).on_conflict_do_nothing(
        index_elements=["ritual_id", "local_date"]
    )
    for batch in batches(rows, per_item=len(rows[0])):
        session.execute(stmt, batch)
    ids: dict[date, int] = {}
    for day, cutoff in sorted(cutoffs.items()):
        day_id = session.execute(
            update(StandupDay)
            .where(StandupDay.ritual_id == ritual_id, StandupDay.local_date == day)
            .values(
                cutoff_at=case((StandupDay.cutoff_at < cutoff, cutoff), else_=StandupDay.cutoff_at)
            )
            .returning(StandupDay.id)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        ids[day] = day_id
    return ids


def lock_day(session: Session, day_id: int) -> DayRow | None:
    """The day, locked until the transaction ends (None if it does not exist)."""
    row = session.execute(
        update(StandupDay)
        .where(StandupDay.id == day_id)
        .values(summary_key=StandupDay.summary_key)
        .returning(*_DAY_COLUMNS)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return None if row is None else DayRow(*row)


def get_day(session: Session, day_id: int) -> DayRow | None:
    row = session.execute(select(*_DAY_COLUMNS).where(StandupDay.id == day_id)).one_or_none()
    return None if row is None else DayRow(*row)


def find_day(session: Session, ritual_id: int, local_date: date) -> DayRow | None:
    row = session.execute(
        select(*_DAY_COLUMNS).where(
            StandupDay.ritual_id == ritual_id, StandupDay.local_date == local_date
        )
    ).one_or_none()
    return None if row is None else DayRow(*row)


def set_summary_key(session: Session, day_id: int, key: str, revision: int = 0) -> None:
    """The summary's newest version: its outbox key and how many versions came before it."""
    session.execute(
        update(StandupDay)
        .where(StandupDay.id == day_id)
        .values(summary_key=key, summary_revision=revision)
        .execution_options(synchronize_session=False)
    )


# --- prompts and answers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prompt:
    member_id: int
    team_id: int
    prompted_at: datetime


def record_prompts(session: Session, day_id: int, prompts: Sequence[Prompt]) -> set[int]:
    """Note who was prompted on a day; returns those of them who have already answered.

    A member prompted twice the same day (an admin's "run now") keeps the first time.
    """
    if not prompts:
        return set()
    rows = [
        {
            "standup_day_id": day_id,
            "member_id": p.member_id,
            "team_id": p.team_id,
            "answers": {},
            "prompted_at": p.prompted_at,
            "late": False,
            "revision": 0,
        }
        for p in prompts
    ]
    stmt = insert_for(session, StandupAnswer).on_conflict_do_nothing(
        index_elements=["standup_day_id", "member_id"]
    )
    for batch in batches(rows, per_item=len(rows[0])):
        session.execute(stmt, batch)
    answered: set[int] = set()
    for member_ids in batches(sorted({p.member_id for p in prompts})):
        answered.update(
            session.scalars(
                select(StandupAnswer.member_id).where(
                    StandupAnswer.standup_day_id == day_id,
                    StandupAnswer.member_id.in_(member_ids),
                    StandupAnswer.answered_at.is_not(None),
                )
            )
        )
    return answered


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    id: int
    day_id: int
    member_id: int
    team_id: int | None
    answers: dict[str, str]
    prompted_at: datetime | None
    answered_at: datetime | None
    late: bool  # its thread message was posted after the member's cutoff
    message_key: str | None  # outbox key of the thread message's newest version
    revision: int  # how many times it was saved


_ANSWER_COLUMNS = (
    StandupAnswer.id,
    StandupAnswer.standup_day_id,
    StandupAnswer.member_id,
    StandupAnswer.team_id,
    StandupAnswer.answers,
    StandupAnswer.prompted_at,
    StandupAnswer.answered_at,
    StandupAnswer.late,
    StandupAnswer.message_key,
    StandupAnswer.revision,
)


def _answer(row: Any) -> AnswerRecord:
    values = list(row)
    values[4] = {str(k): str(v) for k, v in (values[4] or {}).items()}
    return AnswerRecord(*values)


def get_answer(session: Session, day_id: int, member_id: int) -> AnswerRecord | None:
    row = session.execute(
        select(*_ANSWER_COLUMNS).where(
            StandupAnswer.standup_day_id == day_id, StandupAnswer.member_id == member_id
        )
    ).one_or_none()
    return None if row is None else _answer(row)


def save_answer(
    session: Session,
    *,
    day_id: int,
    member_id: int,
    team_id: int,
    answers: Mapping[str, str],
    answered_at: datetime,
    late: bool,
    message_key: str | None,
) -> AnswerRecord:
    """Store a member's answers for a day (the first time, or again), bumping its revision.

    The caller holds the day's lock, so the read and the write cannot race.
    """
    current = get_answer(session, day_id, member_id)
    if current is None:
        session.execute(
            insert_for(session, StandupAnswer).values(
                standup_day_id=day_id,
                member_id=member_id,
                team_id=team_id,
                answers=dict(answers),
                prompted_at=None,
                answered_at=answered_at,
                late=late,
                message_key=message_key,
                revision=1,
            )
        )
    else:
        session.execute(
            update(StandupAnswer)
            .where(StandupAnswer.id == current.id)
            .values(
                team_id=team_id,
                answers=dict(answers),
                answered_at=answered_at,
                late=late,
                message_key=message_key,
                revision=current.revision + 1,
            )
            .execution_options(synchronize_session=False)
        )
    saved = get_answer(session, day_id, member_id)
    assert saved is not None
    return saved


def latest_answers(
    session: Session, ritual_id: int, member_id: int, before: date
) -> dict[str, str] | None:
    """The member's answers on their last answered day before `before`."""
    row = session.execute(
        select(StandupAnswer.answers)
        .join(StandupDay, StandupDay.id == StandupAnswer.standup_day_id)
        .where(
            StandupDay.ritual_id == ritual_id,
            StandupDay.local_date < before,
            StandupAnswer.member_id == member_id,
            StandupAnswer.answered_at.is_not(None),
        )
        .order_by(StandupDay.local_date.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return {str(k): str(v) for k, v in (row[0] or {}).items()}


@dataclass(frozen=True, slots=True)
class DayAnswer:
    """An answer as the summary shows it."""

    answer_id: int
    member_id: int
    slack_user_id: str
    display_name: str
    team_id: int | None
    answers: dict[str, str]
    answered_at: datetime
    late: bool


def day_answers(session: Session, day_id: int) -> list[DayAnswer]:
    """The day's answers (not the prompts still unanswered), in answering order."""
    rows = session.execute(
        select(
            StandupAnswer.id,
            StandupAnswer.member_id,
            Member.slack_user_id,
            Member.display_name,
            StandupAnswer.team_id,
            StandupAnswer.answers,
            StandupAnswer.answered_at,
            StandupAnswer.late,
        )
        .join(Member, Member.id == StandupAnswer.member_id)
        .where(StandupAnswer.standup_day_id == day_id, StandupAnswer.answered_at.is_not(None))
        .order_by(StandupAnswer.answered_at, StandupAnswer.id)
    )
    return [
        DayAnswer(
            answer_id,
            member_id,
            slack_id,
            name or slack_id,
            team_id,
            {str(k): str(v) for k, v in (answers or {}).items()},
            answered_at,
            late,
        )
        for answer_id, member_id, slack_id, name, team_id, answers, answered_at, late in rows
    ]


def prompted_by_team(session: Session, day_id: int) -> dict[int, int]:
    """How many members of each team were prompted on the day."""
    rows = session.execute(
        select(StandupAnswer.team_id, func.count())
        .where(
            StandupAnswer.standup_day_id == day_id,
            StandupAnswer.prompted_at.is_not(None),
            StandupAnswer.team_id.is_not(None),
        )
        .group_by(StandupAnswer.team_id)
    )
    return {int(team_id): int(count) for team_id, count in rows if team_id is not None}


@dataclass(frozen=True, slots=True)
class PromptedDay:
    day_id: int
    ritual_id: int
    local_date: date
    prompted_at: datetime | None
    answered_at: datetime | None


def latest_prompt(
    session: Session, member_id: int, ritual_ids: Collection[int], since: datetime
) -> PromptedDay | None:
    """The member's most recent prompt (or answer) in these rituals since `since`."""
    if not ritual_ids:
        return None
    row = session.execute(
        select(
            StandupDay.id,
            StandupDay.ritual_id,
            StandupDay.local_date,
            StandupAnswer.prompted_at,
            StandupAnswer.answered_at,
        )
        .join(StandupDay, StandupDay.id == StandupAnswer.standup_day_id)
        .where(
            StandupAnswer.member_id == member_id,
            StandupDay.ritual_id.in_(list(ritual_ids)),
            or_(StandupAnswer.prompted_at >= since, StandupAnswer.answered_at >= since),
        )
        .order_by(StandupDay.local_date.desc(), StandupDay.id.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else PromptedDay(*row)


def unanswered_days(
    session: Session, member_id: int, from_day: date, through: date
) -> list[tuple[int, int, date]]:
    """(ritual id, day id, local date) of days in a range the member was prompted and has not answered."""
    rows = session.execute(
        select(StandupDay.ritual_id, StandupDay.id, StandupDay.local_date)
        .join(StandupAnswer, StandupAnswer.standup_day_id == StandupDay.id)
        .where(
            StandupAnswer.member_id == member_id,
            StandupAnswer.answered_at.is_(None),
            StandupDay.local_date >= from_day,
            StandupDay.local_date <= through,
        )
    )
    return [(ritual_id, day_id, day) for ritual_id, day_id, day in rows]


def standup_rituals_of(session: Session, member_id: int) -> list[int]:
    """Ids of the standup rituals (paused or not) of partnerships the member is currently in."""
    rows = session.scalars(
        select(Ritual.id)
        .join(PartnershipTeam, PartnershipTeam.partnership_id == Ritual.partnership_id)
        .join(TeamMembership, TeamMembership.team_id == PartnershipTeam.team_id)
        .where(
            Ritual.kind == RitualKind.STANDUP.value,
            TeamMembership.member_id == member_id,
            TeamMembership.left_at.is_(None),
        )
        .distinct()
        .order_by(Ritual.id)
    )
    return list(rows)


def forget_answer_interactions(session: Session, answer_id: int, keep: Iterable[str]) -> int:
    """Remove what an earlier version of an answer logged and the new one no longer says.

    The answer's participation itself (its bare source key) always stays.
    """
    kept = set(keep) | {answer_source(answer_id)}
    done = session.execute(
        delete(Interaction).where(
            Interaction.source.like(f"{answer_source(answer_id)}:%"),
            Interaction.source.not_in(kept),
        )
    )
    return rowcount(done)


# --- cross-team asks -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AskRecord:
    id: int
    answer_id: int
    partnership_id: int
    requester_member_id: int
    requester_team_id: int | None
    helper_member_id: int | None
    created_at: datetime
    first_offer_at: datetime | None
    resolved_at: datetime | None


_ASK_COLUMNS = (
    StandupAsk.id,
    StandupAsk.answer_id,
    StandupAsk.partnership_id,
    StandupAsk.requester_member_id,
    StandupAsk.requester_team_id,
    StandupAsk.helper_member_id,
    StandupAsk.created_at,
    StandupAsk.first_offer_at,
    StandupAsk.resolved_at,
)


def ask_for_answer(session: Session, answer_id: int) -> AskRecord | None:
    row = session.execute(
        select(*_ASK_COLUMNS).where(StandupAsk.answer_id == answer_id).order_by(StandupAsk.id)
    ).first()
    return None if row is None else AskRecord(*row)


def get_ask(session: Session, ask_id: int) -> AskRecord | None:
    row = session.execute(select(*_ASK_COLUMNS).where(StandupAsk.id == ask_id)).one_or_none()
    return None if row is None else AskRecord(*row)


def open_ask(
    session: Session,
    *,
    answer_id: int,
    partnership_id: int,
    requester_member_id: int,
    requester_team_id: int | None,
    now: datetime,
) -> AskRecord:
    """The answer's ask, created on first sight."""
    found = ask_for_answer(session, answer_id)
    if found is not None:
        return found
    ask = StandupAsk(
        answer_id=answer_id,
        partnership_id=partnership_id,
        requester_member_id=requester_member_id,
        requester_team_id=requester_team_id,
        created_at=now,
    )
    session.add(ask)
    session.flush()
    created = get_ask(session, ask.id)
    assert created is not None
    return created


def withdraw_ask(session: Session, ask_id: int) -> bool:
    """Drop an ask its author took back, unless someone already offered help."""
    done = session.execute(
        delete(StandupAsk).where(StandupAsk.id == ask_id, StandupAsk.helper_member_id.is_(None))
    )
    return rowcount(done) == 1


def record_offer(
    session: Session, ask_id: int, helper_member_id: int, helper_team_id: int | None, now: datetime
) -> None:
    """Remember the first helper and when help was first offered."""
    session.execute(
        update(StandupAsk)
        .where(StandupAsk.id == ask_id, StandupAsk.helper_member_id.is_(None))
        .values(helper_member_id=helper_member_id, helper_team_id=helper_team_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(StandupAsk)
        .where(StandupAsk.id == ask_id, StandupAsk.first_offer_at.is_(None))
        .values(first_offer_at=now)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Offer:
    """Someone's recorded "I can help" on an ask, with their team when they offered."""

    helper_member_id: int
    helper_team_id: int | None


def find_offer(session: Session, ask_id: int, helper_member_id: int) -> Offer | None:
    """The helper's offer on this ask, if they made one (its help_offered interaction)."""
    row = session.execute(
        select(Interaction.provider_member_id, Interaction.provider_team_id).where(
            Interaction.source == ask_source(ask_id, "offered", helper_member_id),
            Interaction.kind == InteractionKind.HELP_OFFERED.value,
        )
    ).first()
    return None if row is None or row[0] is None else Offer(int(row[0]), row[1])


def resolve_ask(session: Session, ask_id: int, now: datetime) -> bool:
    """Close an ask; False when it was already closed."""
    done = session.execute(
        update(StandupAsk)
        .where(StandupAsk.id == ask_id, StandupAsk.resolved_at.is_(None))
        .values(resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


@dataclass(frozen=True, slots=True)
class OpenAskRow:
    ask_id: int
    requester_name: str
    requester_team_id: int | None
    text: str
    asked_on: date


def open_asks(
    session: Session, partnership_id: int, before: date, limit: int = 200
) -> list[OpenAskRow]:
    """Unresolved asks of a partnership from standup days before `before`, oldest first."""
    rows = session.execute(
        select(
            StandupAsk.id,
            Member.display_name,
            Member.slack_user_id,
            StandupAsk.requester_team_id,
            StandupAnswer.answers,
            StandupDay.local_date,
        )
        .join(StandupAnswer, StandupAnswer.id == StandupAsk.answer_id)
        .join(StandupDay, StandupDay.id == StandupAnswer.standup_day_id)
        .join(Member, Member.id == StandupAsk.requester_member_id)
        .where(
            and_(
                StandupAsk.partnership_id == partnership_id,
                StandupAsk.resolved_at.is_(None),
                StandupDay.local_date < before,
            )
        )
        .order_by(StandupDay.local_date, StandupAsk.id)
        .limit(limit)
    )
    found: list[OpenAskRow] = []
    for ask_id, name, slack_id, team_id, answers, asked_on in rows:
        text = str((answers or {}).get(ASK) or "").strip()
        if text:
            found.append(OpenAskRow(ask_id, name or slack_id, team_id, text, asked_on))
    return found


@dataclass(frozen=True, slots=True)
class AskContext:
    """An ask with what a click on it needs: its text, its author and the day's ritual."""

    ask: AskRecord
    text: str
    requester_slack_id: str
    requester_name: str
    ritual_id: int
    local_date: date


def ask_context(session: Session, ask_id: int) -> AskContext | None:
    ask = get_ask(session, ask_id)
    if ask is None:
        return None
    row = session.execute(
        select(
            StandupAnswer.answers,
            Member.slack_user_id,
            Member.display_name,
            StandupDay.ritual_id,
            StandupDay.local_date,
        )
        .join(StandupDay, StandupDay.id == StandupAnswer.standup_day_id)
        .join(Member, Member.id == StandupAnswer.member_id)
        .where(StandupAnswer.id == ask.answer_id)
    ).one()
    answers, slack_id, name, ritual_id, local_date = row
    text = str((answers or {}).get(ASK) or "")
    return AskContext(ask, text, slack_id, name or slack_id, ritual_id, local_date)


# --- what a standup needs to know about its partnership --------------------------


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    name: str
    aliases: tuple[str, ...]
    usergroup_id: str | None  # when the team is defined by a user group


@dataclass(frozen=True, slots=True)
class PartnershipInfo:
    id: int
    workspace_id: int
    name: str
    channel_id: str
    teams: tuple[TeamInfo, ...]  # in the partnership's order


def partnership_info(session: Session, partnership_id: int) -> PartnershipInfo | None:
    found = session.execute(
        select(Partnership.workspace_id, Partnership.name, Partnership.channel_id).where(
            Partnership.id == partnership_id
        )
    ).one_or_none()
    if found is None:
        return None
    teams = session.execute(
        select(Team.id, Team.name, Team.aliases, Team.source_kind, Team.source_id)
        .join(PartnershipTeam, PartnershipTeam.team_id == Team.id)
        .where(PartnershipTeam.partnership_id == partnership_id)
        .order_by(PartnershipTeam.position, Team.id)
    )
    workspace_id, name, channel_id = found
    return PartnershipInfo(
        partnership_id,
        workspace_id,
        name,
        channel_id,
        tuple(
            TeamInfo(
                team_id,
                team_name,
                tuple(str(alias) for alias in aliases or ()),
                source_id if kind == "usergroup" else None,
            )
            for team_id, team_name, aliases, kind, source_id in teams
        ),
    )


def outbox_status(session: Session, keys: Collection[str]) -> dict[str, str]:
    """The status of the outbox rows with these keys (missing keys were never queued)."""
    found: dict[str, str] = {}
    for batch in batches(sorted(set(keys))):
        rows = session.execute(
            select(Outbox.idempotency_key, Outbox.status).where(Outbox.idempotency_key.in_(batch))
        )
        found.update({key: status for key, status in rows})
    return found


def already_noted(
    session: Session, workspace_id: int, action: str, targets: Collection[str]
) -> set[str]:
    """Which of these audit targets already have an entry for `action` (to tell admins once)."""
    noted: set[str] = set()
    for batch in batches(sorted(set(targets))):
        noted.update(
            session.scalars(
                select(AuditLog.target).where(
                    AuditLog.workspace_id == workspace_id,
                    AuditLog.action == action,
                    AuditLog.target.in_(batch),
                )
            )
        )
    return noted


def roster(session: Session, partnership_id: int) -> list[RosterEntry]:
    """The partnership's current, active members, each counted for one team."""
    return partnership_roster(session, partnership_id, active_only=True)
