"""Joint standups: the tick's builder, answering, and help offered between the teams.

Timing. Each member is prompted at the standup's local time in their own
zone; the day a prompt belongs to is the member's local date, so Tokyo's
Tuesday and New York's Tuesday share one summary. A member's answer is on
time until `cutoff_for(their prompt)`; the day's row keeps the latest cutoff.

Prompts are never sent outside 06:00-21:00 in the member's resolved zone
(their own, or the default zone when theirs is missing or unknown). Such a
prompt is recorded as a skipped occurrence whose detail says why, and admins
are told once per member and zone with an audit log entry
(`standup.prompt_outside_hours`, `standup.tz_fallback`), which
`/tandem admin status` and the audit listing show.

Messages. Every Slack call except opening the modal goes through the outbox
in the same transaction as the answer. The day's summary is posted with the
first answer and updated in place (chat.update, child of the post so its ts
is known) after every later one; an update still queued when a newer one is
written is cancelled, so a burst of answers costs about one update. Each
answer is its own thread reply, edited in place until the member's cutoff.
An edit after the cutoff is added to the thread as a new, late reply; a
late reply is edited in place from then on. The reminder is queued with the
prompt (`not_before` an hour before the cutoff) and cancelled on answering.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import payloads
from bot.services import Services
from bot.views.rich_text import input_to_mrkdwn
from bot.views.standup import (
    ANSWER_INPUT,
    ModalQuestion,
    answer_message,
    answer_modal,
    day_from_metadata,
    help_offer_message,
    help_resolved_message,
    no_blocker_ticked,
    prompt_message,
    summary_message,
)
from rituals.interactions import InteractionKind, RitualKind
from rituals.refusal import Refusal
from rituals.run_report import RunReport
from rituals.schedule import MEMBER_LOCAL, validate_timezone
from rituals.slack_text import user_ids
from rituals.standup import (
    ASK,
    DONE,
    NO_BLOCKER,
    TODAY,
    AnswerSection,
    AnswerView,
    InvalidAnswers,
    OpenAsk,
    SkipReason,
    StandupSettings,
    StandupSettingsError,
    StandupSummary,
    TeamProfile,
    blocker_names_other_team,
    blocker_of,
    build_summary,
    cutoff_for,
    is_late,
    prompt_at,
    render_answer,
    should_prompt,
    validate_answers,
)
from rituals.text_chunks import split_text
from rituals.zones import zone_or_default
from storage import audit, holidays, org, outbox
from storage import occurrences as occurrence_store
from storage import rituals as ritual_store
from storage import standups as store
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.occurrences import Status, WonOccurrence
from storage.org import RosterEntry
from storage.outbox import OutboundCall, OutboxStatus, enqueue, from_parent
from storage.rituals import RitualSnapshot

_log = logging.getLogger(__name__)  # `log` is the interaction log here

CHANNEL_TZ_KEY = "channel_timezone"  # where a fixed cutoff ("at": "17:00") is read
# Ritual settings that belong to the schedule, not to StandupSettings.
SCHEDULE_KEYS = frozenset(
    {"every_n_weeks", "anchor_date", "first_working_day_only", "grace_minutes", CHANNEL_TZ_KEY}
)
PROMPT_WINDOW = (time(6, 0), time(21, 0))  # local hours in which a prompt may be sent
REMINDER_LEAD = timedelta(hours=1)
RECENT_PROMPT = timedelta(hours=20)  # `/tandem standup` answers a prompt this recent
AUDIT_ACTOR = "tandem"
NOTE_OUTSIDE_HOURS = "standup.prompt_outside_hours"
NOTE_TZ_FALLBACK = "standup.tz_fallback"
FALLBACK_ZONE = "UTC"


# --- configuration --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StandupConfig:
    settings: StandupSettings
    channel_tz: ZoneInfo


def config_of(ritual_settings: Mapping[str, Any]) -> StandupConfig:
    """The standup's settings from a ritual's settings (schedule keys left aside).

    Raises StandupSettingsError, naming each bad setting.
    """
    settings = StandupSettings.from_dict(
        {k: v for k, v in ritual_settings.items() if k not in SCHEDULE_KEYS}
    )
    zone_name = str(ritual_settings.get(CHANNEL_TZ_KEY) or FALLBACK_ZONE)
    problem = validate_timezone(zone_name)
    if problem:
        raise StandupSettingsError({CHANNEL_TZ_KEY: problem})
    return StandupConfig(settings, ZoneInfo(zone_name))


def standup_cron(settings: StandupSettings) -> str:
    """The crontab line that fires at the standup's local time on its days."""
    cron_days = ",".join(str((day + 1) % 7) for day in sorted(settings.days))
    return f"{settings.local_time.minute} {settings.local_time.hour} * * {cron_days}"


def create_standup(
    session: Session,
    partnership_id: int,
    now: datetime,
    *,
    settings: StandupSettings | None = None,
    channel_timezone: str = FALLBACK_ZONE,
    channel_id: str | None = None,
) -> RitualSnapshot:
    """A member-local standup ritual whose schedule follows its settings' days and time."""
    chosen = settings or StandupSettings()
    problem = validate_timezone(channel_timezone)
    if problem:
        raise ritual_store.InvalidRitual(problem)
    return ritual_store.create(
        session,
        partnership_id=partnership_id,
        kind=RitualKind.STANDUP,
        cron=standup_cron(chosen),
        timezone=MEMBER_LOCAL,
        now=now,
        channel_id=channel_id,
        settings={**chosen.to_dict(), CHANNEL_TZ_KEY: channel_timezone},
    )


def zone_of(name: str | None, default: str) -> tuple[ZoneInfo, bool]:
    """A member's zone, or the default one (and True) when theirs is missing or unknown."""
    return zone_or_default(name, default)


def within_prompt_hours(moment: datetime, zone: tzinfo) -> bool:
    """Whether a prompt may go out at `moment` to someone in `zone` (never at 3 a.m.)."""
    local = moment.astimezone(zone).time()
    return PROMPT_WINDOW[0] <= local <= PROMPT_WINDOW[1]


# --- the people of one standup -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Circle:
    """A partnership's teams and current members, as a standup sees them."""

    info: store.PartnershipInfo
    roster: dict[int, RosterEntry]  # member id -> entry (active members only)
    by_slack_id: dict[str, RosterEntry]
    profiles: tuple[TeamProfile, ...]  # what names each team in text, in partnership order

    def team_name(self, team_id: int | None) -> str:
        for team in self.info.teams:
            if team.id == team_id:
                return team.name
        return "another team"

    def other_teams_name(self, team_id: int | None) -> str:
        others = [team.name for team in self.info.teams if team.id != team_id]
        return " and ".join(others) or "the other team"


def load_circle(session: Session, partnership_id: int) -> Circle | None:
    info = store.partnership_info(session, partnership_id)
    if info is None:
        return None
    roster = {entry.member_id: entry for entry in store.roster(session, partnership_id)}
    members: dict[int, set[str]] = {team.id: set() for team in info.teams}
    for entry in roster.values():
        members.setdefault(entry.team_id, set()).add(entry.slack_user_id)
    profiles = tuple(
        TeamProfile(
            str(team.id),
            team.name,
            team.aliases,
            frozenset(members.get(team.id, ())),
            frozenset({team.usergroup_id} if team.usergroup_id else ()),
        )
        for team in info.teams
    )
    by_slack = {entry.slack_user_id: entry for entry in roster.values()}
    return Circle(info, roster, by_slack, profiles)


# --- outbox keys ---------------------------------------------------------------------


def prompt_key(ritual_id: int, day: date, slack_id: str) -> str:
    return f"standup:{ritual_id}:{day.isoformat()}:prompt:{slack_id}"


def reminder_key(ritual_id: int, day: date, slack_id: str) -> str:
    return f"standup:{ritual_id}:{day.isoformat()}:reminder:{slack_id}"


def summary_key(day_id: int, revision: int = 0) -> str:
    base = f"standup:day:{day_id}:summary"
    return base if revision == 0 else f"{base}:r{revision}"


def answer_key(day_id: int, member_id: int, what: str) -> str:
    return f"standup:day:{day_id}:answer:{member_id}:{what}"


# --- the builder the tick calls --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    occurrence_id: int | None  # None: one member of a whole-ritual ("run now") occurrence
    entry: RosterEntry
    fire_at: datetime
    zone: ZoneInfo
    zone_name: str
    fallback: bool


def build_standup(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> RunReport:
    """Prompt the members whose local standup time has come (one call per tick and ritual).

    Writes the day rows, the prompt records, the prompt DMs and their
    reminders; occurrences that must not prompt (away, holiday, opted out,
    not a standup day, outside 06:00-21:00 local) are marked skipped with why.
    Returns how many members were prompted and how many were skipped, by reason.
    """
    report = RunReport()
    try:
        config = config_of(ritual.settings)
    except StandupSettingsError as problem:
        occurrence_store.mark(
            session,
            [o.id for o in occurrences],
            Status.FAILED,
            f"The standup's settings are invalid ({problem}); nothing was sent.",
        )
        report.skip("everyone: the standup's settings are invalid")
        return report
    circle = load_circle(session, ritual.partnership_id)
    if circle is None or len(circle.info.teams) < 2:
        occurrence_store.mark(
            session,
            [o.id for o in occurrences],
            Status.FAILED,
            "A joint standup needs a partnership of at least two teams.",
        )
        report.skip("everyone: the partnership needs at least two teams")
        return report
    settings = config.settings

    skipped: dict[str, list[int]] = {}
    targets: list[_Target] = []
    for occurrence in occurrences:
        if occurrence.member_id is None:
            for entry in circle.roster.values():
                zone, fallback = zone_of(entry.tz, occurrence.tz)
                targets.append(
                    _Target(
                        None, entry, now, zone, str(zone.key), fallback or occurrence.tz_fallback
                    )
                )
            continue
        member = circle.roster.get(occurrence.member_id)
        if member is None:
            skipped.setdefault("No longer a member of the partnership's teams.", []).append(
                occurrence.id
            )
            report.skip(SKIP_WORDS_LEFT)
            continue
        zone = ZoneInfo(occurrence.tz)
        targets.append(
            _Target(
                occurrence.id,
                member,
                occurrence.fire_at,
                zone,
                occurrence.tz,
                occurrence.tz_fallback,
            )
        )

    local_dates = {target.fire_at.astimezone(target.zone).date() for target in targets}
    team_days = holidays.by_team(session, {t.entry.team_id for t in targets}, local_dates)
    prompts: list[tuple[_Target, date, datetime]] = []
    outside: dict[str, str] = {}
    fallbacks: dict[str, str] = {}
    for target in targets:
        local_date = target.fire_at.astimezone(target.zone).date()
        reason = should_prompt(
            local_date,
            settings,
            target.entry.away_until,
            team_days.get(target.entry.team_id, frozenset()),
            RitualKind.STANDUP.value in target.entry.opted_out,
        )
        if reason is None and not within_prompt_hours(now, target.zone):
            local = now.astimezone(target.zone)
            outside[_note_target(target)] = f"{local:%H:%M} in {target.zone_name}"
            _skip(skipped, target, _outside_hours_detail(target, now))
            report.skip(SKIP_WORDS_OUTSIDE_HOURS)
            continue
        if reason is not None:
            _skip(skipped, target, _skip_detail(reason))
            report.skip(SKIP_WORDS[reason])
            continue
        if target.fallback:
            fallbacks[_note_target(target)] = target.zone_name
        prompts.append(
            (target, local_date, cutoff_for(target.fire_at, settings, config.channel_tz))
        )

    for detail, ids in skipped.items():
        occurrence_store.mark(session, ids, Status.SKIPPED, detail)
    _note_once(session, ritual.workspace_id, NOTE_OUTSIDE_HOURS, outside, now)
    _note_once(session, ritual.workspace_id, NOTE_TZ_FALLBACK, fallbacks, now)
    if not prompts:
        return report

    latest: dict[date, datetime] = {}
    for _, local_date, cutoff in prompts:
        latest[local_date] = max(cutoff, latest.get(local_date, cutoff))
    day_ids = store.ensure_days(session, ritual.id, latest, now)
    answered: set[tuple[date, int]] = set()
    for local_date, day_id in day_ids.items():
        todays = [
            store.Prompt(t.entry.member_id, t.entry.team_id, t.fire_at)
            for t, d, _ in prompts
            if d == local_date
        ]
        answered |= {(local_date, m) for m in store.record_prompts(session, day_id, todays)}

    calls: list[OutboundCall] = []
    for target, local_date, cutoff in prompts:
        if (local_date, target.entry.member_id) in answered:
            report.skip(SKIP_WORDS_ANSWERED)
            continue
        report.reached += 1
        slack_id = target.entry.slack_user_id
        other = circle.other_teams_name(target.entry.team_id)
        day_id = day_ids[local_date]
        calls.append(
            OutboundCall(
                prompt_key(ritual.id, local_date, slack_id),
                "chat.postMessage",
                {
                    "channel": slack_id,
                    **prompt_message(
                        day_id,
                        circle.info.name,
                        other,
                        cutoff,
                        reminder=False,
                        local_hour=target.fire_at.astimezone(target.zone).hour,
                    ),
                },
                channel_key=slack_id,
            )
        )
        remind_at = max(cutoff - REMINDER_LEAD, target.fire_at + (cutoff - target.fire_at) / 2)
        if remind_at > now and within_prompt_hours(remind_at, target.zone):
            calls.append(
                OutboundCall(
                    reminder_key(ritual.id, local_date, slack_id),
                    "chat.postMessage",
                    {
                        "channel": slack_id,
                        **prompt_message(day_id, circle.info.name, other, cutoff, reminder=True),
                    },
                    channel_key=slack_id,
                    not_before=remind_at,
                )
            )
    enqueue(session, calls, now, ritual.workspace_id)
    return report


# How a run-now tells the admin why members were not prompted (counts follow).
SKIP_WORDS = {
    SkipReason.OPTED_OUT: "opted out of standups",
    SkipReason.NOT_A_STANDUP_DAY: "not a standup day for them",
    SkipReason.TEAM_HOLIDAY: "on a team holiday",
    SkipReason.AWAY: "away",
}
SKIP_WORDS_OUTSIDE_HOURS = (
    f"outside {PROMPT_WINDOW[0]:%H:%M}-{PROMPT_WINDOW[1]:%H:%M} in their time zone"
)
SKIP_WORDS_ANSWERED = "already answered that day"
SKIP_WORDS_LEFT = "no longer in the partnership's teams"


def _skip(skipped: dict[str, list[int]], target: _Target, detail: str) -> None:
    if target.occurrence_id is not None:
        skipped.setdefault(detail, []).append(target.occurrence_id)


def _skip_detail(reason: SkipReason) -> str:
    return {
        SkipReason.OPTED_OUT: "Not prompted: opted out of standups.",
        SkipReason.NOT_A_STANDUP_DAY: "Not prompted: not a standup day in the member's calendar.",
        SkipReason.TEAM_HOLIDAY: "Not prompted: team holiday.",
        SkipReason.AWAY: "Not prompted: away.",
    }[reason]


def _outside_hours_detail(target: _Target, now: datetime) -> str:
    local = now.astimezone(target.zone)
    why = (
        f"the member's time zone is missing or unknown, so {target.zone_name} was used"
        if target.fallback
        else f"it is {local:%H:%M} in {target.zone_name}"
    )
    return f"Not prompted: outside {PROMPT_WINDOW[0]:%H:%M}-{PROMPT_WINDOW[1]:%H:%M} local time ({why})."


def _note_target(target: _Target) -> str:
    return f"member:{target.entry.slack_user_id} tz:{target.entry.tz or 'none'}"[:160]


def _note_once(
    session: Session, workspace_id: int, action: str, notes: Mapping[str, str], now: datetime
) -> None:
    """One audit entry per member and zone, so admins hear about each problem once."""
    if not notes:
        return
    known = store.already_noted(session, workspace_id, action, list(notes))
    for target, detail in notes.items():
        if target in known:
            continue
        audit.record(
            session,
            workspace_id=workspace_id,
            actor=AUDIT_ACTOR,
            action=action,
            target=target,
            before=None,
            after={"detail": detail},
            now=now,
        )


# --- opening the answer modal -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    day: store.DayRow
    ritual: RitualSnapshot
    config: StandupConfig
    circle: Circle
    entry: RosterEntry
    zone: ZoneInfo


def _context(
    session: Session, services: Services, workspace_id: int, user_id: str, day: store.DayRow
) -> _Context:
    ritual = ritual_store.get(session, day.ritual_id)
    if ritual is None:
        raise Refusal("This standup was removed, so it can no longer be answered.")
    try:
        config = config_of(ritual.settings)
    except StandupSettingsError as problem:
        raise Refusal(
            f"This standup's settings are being fixed by an admin ({problem}); try again later."
        ) from None
    circle = load_circle(session, ritual.partnership_id)
    member = org.find_member(session, workspace_id, user_id)
    entry = circle.roster.get(member.id) if circle is not None and member is not None else None
    if circle is None or entry is None:
        teams = " and ".join(t.name for t in circle.info.teams) if circle else "its teams"
        raise Refusal(
            f"This standup belongs to {teams}, and you're not a member of those teams, "
            "so there is nothing for you to answer here."
        )
    zone, _ = zone_of(entry.tz, services.settings.default_timezone)
    return _Context(day, ritual, config, circle, entry, zone)


def _member_cutoff(ctx: _Context, answer: store.AnswerRecord | None) -> datetime:
    settings = ctx.config.settings
    prompted = answer.prompted_at if answer is not None and answer.prompted_at else None
    if prompted is None:
        prompted = prompt_at(ctx.day.local_date, settings, ctx.zone)
    return cutoff_for(prompted, settings, ctx.config.channel_tz)


def answer_view(
    services: Services, slack_team_id: str, user_id: str, day_id: int, now: datetime
) -> dict[str, Any]:
    """The modal for a member's answer on a day; raises Refusal with what to tell them."""
    workspace_id = services.workspace_id(slack_team_id)
    with services.sessions() as session:
        day = store.get_day(session, day_id)
        if day is None:
            raise Refusal("This standup no longer exists.")
        ctx = _context(session, services, workspace_id, user_id, day)
        answer = store.get_answer(session, day.id, ctx.entry.member_id)
        last = None
        if answer is None or answer.answered_at is None:
            last = store.latest_answers(session, ctx.ritual.id, ctx.entry.member_id, day.local_date)
    editing = answer is not None and answer.answered_at is not None
    cutoff = _member_cutoff(ctx, answer)
    initial = dict(answer.answers) if editing and answer is not None else {}
    prefilled = False
    if not editing and last and last.get(TODAY):
        # Yesterday's plan is the best first draft of what got done.
        initial[DONE] = last[TODAY]
        prefilled = any(q.key == DONE for q in ctx.config.settings.questions)
    other = ctx.circle.other_teams_name(ctx.entry.team_id)
    questions = [
        ModalQuestion(q.key, q.label(other), initial.get(q.key))
        for q in ctx.config.settings.questions
    ]
    late_now = is_late(now, cutoff) and not (answer is not None and answer.late)
    return answer_modal(
        day.id,
        questions,
        channel_id=ctx.ritual.channel_id,
        cutoff=cutoff,
        editing=editing,
        late=late_now,
        prefilled_from_last=prefilled,
        no_blocker=bool(initial.get(NO_BLOCKER)),
    )


def todays_view(
    services: Services, slack_team_id: str, user_id: str, now: datetime
) -> dict[str, Any]:
    """`/tandem standup`: today's modal, or a Refusal saying when the next prompt is."""
    workspace_id = services.workspace_id(slack_team_id)
    with transaction(services.sessions) as session:
        member = org.find_member(session, workspace_id, user_id)
        ritual_ids = store.standup_rituals_of(session, member.id) if member is not None else []
        found = [ritual_store.get(session, ritual_id) for ritual_id in ritual_ids]
        rituals = [ritual for ritual in found if ritual is not None]
        active = [ritual for ritual in rituals if not ritual.paused]
        if member is None or not active:
            paused = " (it is paused right now)" if rituals else ""
            raise Refusal(f"You're not in a team with a joint standup{paused}.")
        recent = store.latest_prompt(
            session, member.id, [ritual.id for ritual in active], now - RECENT_PROMPT
        )
        day_id = recent.day_id if recent is not None else None
        zone, _ = zone_of(member.tz, services.settings.default_timezone)
        today = now.astimezone(zone).date()
        opted_out = RitualKind.STANDUP.value in (member.opted_out or [])
        upcoming: list[tuple[datetime, str]] = []
        for ritual in active if day_id is None else []:
            try:
                settings = config_of(ritual.settings).settings
            except StandupSettingsError:
                continue
            team_days = _member_holidays(session, ritual, member.id, today)
            reason = should_prompt(today, settings, member.away_until, team_days, opted_out)
            start = prompt_at(today, settings, zone)
            if reason is None and start <= now:
                # Not prompted (yet) although it is time: answer today's standup anyway.
                cutoff = cutoff_for(start, settings, config_of(ritual.settings).channel_tz)
                day_id = store.ensure_days(session, ritual.id, {today: cutoff}, now)[today]
                break
            upcoming.extend(
                _next_prompt(settings, zone, now, member.away_until, team_days, opted_out)
            )
    if day_id is None:
        if not upcoming:
            raise Refusal(
                "You have no standup prompt coming up: you opted out "
                "(`/tandem optin standup` brings it back)."
            )
        when, why = min(upcoming)
        raise Refusal(
            f"No standup to answer right now{why}. Your next prompt is "
            f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|"
            f"{when:%a %d %b %H:%M} UTC>."
        )
    return answer_view(services, slack_team_id, user_id, day_id, now)


def _member_holidays(
    session: Session, ritual: RitualSnapshot, member_id: int, today: date
) -> frozenset[date]:
    circle = load_circle(session, ritual.partnership_id)
    entry = circle.roster.get(member_id) if circle is not None else None
    if entry is None:
        return frozenset()
    return frozenset(day for _, day in holidays.listed(session, [entry.team_id], since=today))


def _next_prompt(
    settings: StandupSettings,
    zone: ZoneInfo,
    now: datetime,
    away_until: date | None,
    team_days: frozenset[date],
    opted_out: bool,
) -> list[tuple[datetime, str]]:
    """The member's next prompt (none when opted out), with why today has none."""
    today = now.astimezone(zone).date()
    reason_today = should_prompt(today, settings, away_until, team_days, opted_out)
    if reason_today is SkipReason.OPTED_OUT:
        return []
    why = ""
    if reason_today is SkipReason.AWAY and away_until is not None:
        why = f" (you're away until {away_until:%a %d %b})"
    elif reason_today is SkipReason.TEAM_HOLIDAY:
        why = " (your team is on holiday today)"
    for offset in range(0, 400):
        day = today + timedelta(days=offset)
        start = prompt_at(day, settings, zone)
        if start > now and should_prompt(day, settings, away_until, team_days, opted_out) is None:
            return [(start, why)]
    return []


# --- saving an answer -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Saved:
    """The answer is stored; `title` and `text` tell the member what happened to it."""

    title: str
    text: str
    late: bool
    edited: bool


def raw_answers(state_values: Mapping[str, Any]) -> dict[str, str]:
    """Each question's submitted text as escaped mrkdwn, by block id (= question key)."""
    raw: dict[str, str] = {}
    for block_id, actions in state_values.items():
        if not isinstance(actions, Mapping):
            continue
        value = actions.get(ANSWER_INPUT)
        if not isinstance(value, Mapping):
            value = next((v for v in actions.values() if isinstance(v, Mapping)), {})
        raw[str(block_id)] = input_to_mrkdwn(value)
    return raw


def submit_answer(
    services: Services,
    slack_team_id: str,
    user_id: str,
    private_metadata: str,
    state_values: Mapping[str, Any],
    now: datetime,
) -> Saved | Refusal:
    """Validate and store a submitted modal, with its outbox rows, in one transaction."""
    first_block = next(iter(state_values), DONE)
    day_id = day_from_metadata(private_metadata)
    if day_id is None:
        return Refusal.inline({first_block: "This form is out of date; open the standup again."})
    raw = raw_answers(state_values)
    raw.pop(NO_BLOCKER, None)  # the checkbox is not an answer
    no_blocker = no_blocker_ticked(state_values)
    workspace_id = services.workspace_id(slack_team_id)
    with transaction(services.sessions) as session:
        day = store.lock_day(session, day_id)  # first: every writer of this day queues here
        if day is None:
            return Refusal.inline({first_block: "This standup no longer exists."})
        try:
            ctx = _context(session, services, workspace_id, user_id, day)
        except Refusal as refusal:
            return Refusal.inline({first_block: str(refusal)})
        checked = validate_answers(raw, ctx.config.settings, no_blocker=no_blocker)
        if isinstance(checked, InvalidAnswers):
            return Refusal.inline(checked.errors)
        return _save(session, ctx, workspace_id, checked.answers, now)


def _save(
    session: Session,
    ctx: _Context,
    workspace_id: int,
    answers: dict[str, str],
    now: datetime,
) -> Saved:
    day, entry = ctx.day, ctx.entry
    previous = store.get_answer(session, day.id, entry.member_id)
    edited = previous is not None and previous.answered_at is not None
    cutoff = _member_cutoff(ctx, previous)
    late_now = is_late(now, cutoff)

    posted_key = previous.message_key if previous is not None else None
    keys = [summary_key(day.id)] + ([posted_key] if posted_key else [])
    statuses = store.outbox_status(session, keys)
    channel_gone = statuses.get(summary_key(day.id)) == OutboxStatus.DEAD
    post_dead = posted_key is not None and statuses.get(posted_key) == OutboxStatus.DEAD
    was_late = previous is not None and previous.late
    revision = (previous.revision if previous is not None else 0) + 1

    # In place while on time, or when the message already is a late one; else a new reply.
    if posted_key is None or post_dead:
        message_key, update_in_place, late = (
            answer_key(day.id, entry.member_id, f"post{revision}"),
            False,
            late_now,
        )
    elif was_late or not late_now:
        message_key, update_in_place, late = posted_key, True, was_late
    else:
        message_key, update_in_place, late = (
            answer_key(day.id, entry.member_id, "late"),
            False,
            True,
        )

    saved = store.save_answer(
        session,
        day_id=day.id,
        member_id=entry.member_id,
        team_id=entry.team_id,
        answers=answers,
        answered_at=now,
        late=late,
        message_key=message_key,
    )
    _log_answer(session, ctx, workspace_id, saved, now)
    ask_id = _sync_ask(session, ctx, saved, now)
    outbox.cancel(
        session,
        [
            reminder_key(ctx.ritual.id, day.local_date, entry.slack_user_id),
            prompt_key(ctx.ritual.id, day.local_date, entry.slack_user_id),
        ],
        "answered before it was sent",
    )

    channel = ctx.ritual.channel_id
    if not channel_gone:
        summary = _summary(session, ctx)
        _queue_summary(session, ctx, summary, workspace_id, now)
        section = _section_of(ctx, saved, late)
        note = "_Updated after the cutoff._" if late and edited and not was_late else None
        body = answer_message(section, ask_id=ask_id, note=note)
        parent = summary_key(day.id)
        if update_in_place:
            update_key = answer_key(day.id, entry.member_id, f"r{saved.revision}")
            outbox.cancel(
                session,
                [answer_key(day.id, entry.member_id, f"r{saved.revision - 1}")],
                "superseded by a newer edit",
            )
            call = OutboundCall(
                update_key,
                "chat.update",
                {"channel": from_parent("channel"), "ts": from_parent("ts"), **body},
                channel_key=channel,
                parent_key=message_key,
            )
        else:
            call = OutboundCall(
                message_key,
                "chat.postMessage",
                {"channel": from_parent("channel"), "thread_ts": from_parent("ts"), **body},
                channel_key=channel,
                parent_key=parent,
            )
        enqueue(session, call, now, workspace_id)

    where = f"<#{channel}>"
    if channel_gone:
        return Saved(
            "Saved, not posted",
            "Your answer is saved, but I couldn't post today's summary in "
            f"{where}: the channel is gone or I was removed from it. Admins can see the "
            "failed message in `/tandem admin status`; nothing you wrote is lost.",
            late,
            edited,
        )
    if late and (not edited or not was_late):
        return Saved(
            "Posted as late",
            f"Saved. The cutoff (<!date^{int(cutoff.timestamp())}^{{time}}|{cutoff:%H:%M} UTC>) "
            f"had passed, so your answer was added to the thread in {where} as a late answer.",
            True,
            edited,
        )
    if edited:
        return Saved("Updated", f"Updated: your answer in {where} is edited in place.", late, True)
    return Saved(
        "Posted", f"Thanks! Your answer is in today's standup thread in {where}.", late, False
    )


def _section_of(ctx: _Context, saved: store.AnswerRecord, late: bool) -> AnswerSection:
    name = ctx.entry.display_name or ctx.entry.slack_user_id
    view = AnswerView(
        name, str(ctx.entry.team_id), saved.answers, saved.answered_at or ctx.day.cutoff_at, late
    )
    text = render_answer(
        view,
        ctx.circle.team_name(ctx.entry.team_id),
        ctx.circle.other_teams_name(ctx.entry.team_id),
        ctx.config.settings.questions,
    )
    return AnswerSection(name, str(ctx.entry.team_id), late, tuple(split_text(text)))


def _summary(session: Session, ctx: _Context) -> StandupSummary:
    return summarise_day(session, ctx.day, ctx.ritual, ctx.config, ctx.circle)


def summarise_day(
    session: Session,
    day: store.DayRow,
    ritual: RitualSnapshot,
    config: StandupConfig,
    circle: Circle,
) -> StandupSummary:
    """The day's summary as it stands: every answer, the prompt counts, older open asks."""
    teams = list(circle.profiles)
    known = {profile.team_id for profile in teams}
    views = [
        AnswerView(row.display_name, str(row.team_id), row.answers, row.answered_at, row.late)
        for row in store.day_answers(session, day.id)
        if str(row.team_id) in known
    ]
    open_asks = [
        OpenAsk(row.requester_name, str(row.requester_team_id), row.text, row.asked_on)
        for row in store.open_asks(session, ritual.partnership_id, day.local_date)
        if str(row.requester_team_id) in known
    ]
    prompted = {str(team): count for team, count in store.prompted_by_team(session, day.id).items()}
    return build_summary(
        day.local_date,
        views,
        teams,
        open_asks,
        config.settings.stale_ask_after_days,
        prompted=prompted,
        questions=config.settings.questions,
    )


def summary_for_day(session: Session, day_id: int) -> dict[str, Any] | None:
    """The day's summary message (text and blocks) as it would be posted now."""
    day = store.get_day(session, day_id)
    ritual = ritual_store.get(session, day.ritual_id) if day is not None else None
    circle = load_circle(session, ritual.partnership_id) if ritual is not None else None
    if day is None or ritual is None or circle is None:
        return None
    summary = summarise_day(session, day, ritual, config_of(ritual.settings), circle)
    names = {str(team.id): team.name for team in circle.info.teams}
    return summary_message(summary, circle.info.name, names)


def _queue_summary(
    session: Session, ctx: _Context, summary: StandupSummary, workspace_id: int, now: datetime
) -> None:
    """Post the day's summary, or update it in place, cancelling an update still queued."""
    names = {str(team.id): team.name for team in ctx.circle.info.teams}
    body = summary_message(summary, ctx.circle.info.name, names)
    channel = ctx.ritual.channel_id
    first = summary_key(ctx.day.id)
    if ctx.day.summary_key is None:
        enqueue(
            session,
            OutboundCall(
                first, "chat.postMessage", {"channel": channel, **body}, channel_key=channel
            ),
            now,
            workspace_id,
        )
        store.set_summary_key(session, ctx.day.id, first)
        return
    revision = ctx.day.summary_revision + 1
    if ctx.day.summary_key != first:
        outbox.cancel(session, [ctx.day.summary_key], "superseded by a newer summary")
    key = summary_key(ctx.day.id, revision)
    enqueue(
        session,
        OutboundCall(
            key,
            "chat.update",
            {"channel": from_parent("channel"), "ts": from_parent("ts"), **body},
            channel_key=channel,
            parent_key=first,
        ),
        now,
        workspace_id,
    )
    store.set_summary_key(session, ctx.day.id, key, revision)


def _log_answer(
    session: Session, ctx: _Context, workspace_id: int, saved: store.AnswerRecord, now: datetime
) -> None:
    """Participation once per day; mentions of the other team and blockers as the answer says now."""
    entry = ctx.entry

    def entry_for(
        kind: InteractionKind,
        provider: RosterEntry,
        beneficiary: RosterEntry | None,
        source: str,
        beneficiary_team_id: int | None = None,
    ) -> NewInteraction:
        return NewInteraction(
            workspace_id=workspace_id,
            partnership_id=ctx.ritual.partnership_id,
            kind=kind,
            provider_member_id=provider.member_id,
            beneficiary_member_id=beneficiary.member_id if beneficiary else None,
            provider_team_id=provider.team_id,
            beneficiary_team_id=beneficiary.team_id if beneficiary else beneficiary_team_id,
            occurred_at=now,
            source=source,
        )

    entries = [
        entry_for(InteractionKind.STANDUP_ANSWER, entry, None, store.answer_source(saved.id))
    ]
    by_slack = ctx.circle.by_slack_id
    mentioned: dict[int, RosterEntry] = {}
    for text in saved.answers.values():
        for user_id in user_ids(text):
            other = by_slack.get(user_id)
            if other is not None and other.team_id != entry.team_id:
                mentioned.setdefault(other.member_id, other)
    for other in mentioned.values():
        source = store.answer_source(saved.id, "mention", other.member_id)
        entries.append(entry_for(InteractionKind.MENTION, other, entry, source))
    blocker = blocker_of(saved.answers)
    if blocker:
        named = _named_team(ctx, blocker)
        source = store.answer_source(saved.id, "blocker", named or "none")
        entries.append(entry_for(InteractionKind.BLOCKER, entry, None, source, named))
    store.forget_answer_interactions(
        session, saved.id, [e.source for e in entries if e.source is not None]
    )
    log(session, *entries)


def _named_team(ctx: _Context, blocker: str) -> int | None:
    """The first other team a blocker names, if any."""
    for profile in ctx.circle.profiles:
        if profile.team_id == str(ctx.entry.team_id):
            continue
        if blocker_names_other_team(
            blocker, profile.name, profile.aliases, profile.member_ids, profile.usergroup_ids
        ):
            return int(profile.team_id)
    return None


def _sync_ask(
    session: Session, ctx: _Context, saved: store.AnswerRecord, now: datetime
) -> int | None:
    """The answer's open ask (created when it first says one); withdrawn when the edit drops it."""
    current = store.ask_for_answer(session, saved.id)
    if saved.answers.get(ASK):
        ask = current or store.open_ask(
            session,
            answer_id=saved.id,
            partnership_id=ctx.ritual.partnership_id,
            requester_member_id=ctx.entry.member_id,
            requester_team_id=ctx.entry.team_id,
            now=now,
        )
        return ask.id if ask.resolved_at is None else None
    if current is not None:
        store.withdraw_ask(session, current.id)  # kept when someone already offered help
    return None


# --- help between the teams ------------------------------------------------------------


def offer_help(
    services: Services, slack_team_id: str, user_id: str, value: str, now: datetime
) -> str:
    """ "I can help": log the offer and open a group DM with the requester. Returns the reply."""
    ask_id = payloads.row_id(value)
    workspace_id = services.workspace_id(slack_team_id)
    with transaction(services.sessions) as session:
        found = store.ask_context(session, ask_id) if ask_id is not None else None
        if found is None:
            return (
                "This ask was withdrawn by its author, so there is nothing to help with any more."
            )
        ask = found.ask
        if ask.resolved_at is not None:
            return f"<@{found.requester_slack_id}> already marked this ask resolved. Thanks anyway!"
        circle = load_circle(session, ask.partnership_id)
        member = org.find_member(session, workspace_id, user_id)
        entry = circle.roster.get(member.id) if circle and member else None
        if circle is None or entry is None:
            return (
                "Only members of the partnership's teams can offer help on its standup asks; "
                "you're not in one of them."
            )
        if entry.member_id == ask.requester_member_id:
            return "That's your own ask: the other team can offer help with the button."
        if entry.team_id == ask.requester_team_id:
            return (
                f"This ask is for {circle.other_teams_name(ask.requester_team_id)}, and you're on "
                f"{circle.team_name(entry.team_id)} with <@{found.requester_slack_id}>. "
                "Reply in the thread instead; offers of help are counted across the teams."
            )
        fresh = log(
            session,
            NewInteraction(
                workspace_id=workspace_id,
                partnership_id=ask.partnership_id,
                kind=InteractionKind.HELP_OFFERED,
                provider_member_id=entry.member_id,
                beneficiary_member_id=ask.requester_member_id,
                provider_team_id=entry.team_id,
                beneficiary_team_id=ask.requester_team_id,
                occurred_at=now,
                source=store.ask_source(ask.id, "offered", entry.member_id),
            ),
        )
        store.record_offer(session, ask.id, entry.member_id, entry.team_id, now)
        opened = f"standup:ask:{ask.id}:offer:{entry.member_id}:open"
        body = help_offer_message(
            found.text, found.requester_slack_id, user_id, f"{ask.id}:{entry.member_id}"
        )
        enqueue(
            session,
            [
                OutboundCall(
                    opened,
                    "conversations.open",
                    {"users": ",".join(sorted({user_id, found.requester_slack_id}))},
                ),
                OutboundCall(
                    f"standup:ask:{ask.id}:offer:{entry.member_id}:post",
                    "chat.postMessage",
                    {"channel": from_parent("channel.id"), **body},
                    channel_key=f"help:{ask.id}:{entry.member_id}",
                    parent_key=opened,
                ),
            ],
            now,
            workspace_id,
        )
    if not fresh:
        return f"You already offered to help <@{found.requester_slack_id}>; your group DM is open."
    return (
        f"Thank you! I'm opening a group DM between you and <@{found.requester_slack_id}> "
        "about this ask."
    )


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a "Mark resolved" click did: a reply for the clicker, or the DM's new message."""

    reply: str | None
    message: dict[str, Any] | None


def resolve_help(
    services: Services, slack_team_id: str, user_id: str, value: str, now: datetime
) -> Resolution:
    """The requester confirms the help landed: log help given (helper -> requester).

    The button's value names the ask and the helper; both come back from the
    client, so only the ask's own requester may click and only someone who
    offered help on that ask is credited.
    """
    ids = payloads.row_ids(value, 2)
    if ids is None:
        return Resolution("This button is out of date.", None)
    ask_id, helper_id = ids
    workspace_id = services.workspace_id(slack_team_id)
    with transaction(services.sessions) as session:
        found = store.ask_context(session, ask_id)
        circle = load_circle(session, found.ask.partnership_id) if found is not None else None
        if found is None or circle is None or circle.info.workspace_id != workspace_id:
            return Resolution("This ask was withdrawn by its author.", None)
        ask = found.ask
        clicker = org.find_member(session, workspace_id, user_id)
        if clicker is None or clicker.id != ask.requester_member_id:
            return Resolution(
                f"Only <@{found.requester_slack_id}>, who asked, can mark this resolved.", None
            )
        offer = store.find_offer(session, ask.id, helper_id)
        if offer is None:
            _log.info("resolve refused: member %s made no offer on ask %s", helper_id, ask.id)
            return Resolution(
                "This button doesn't match anyone who offered help on this ask, "
                "so nothing was recorded.",
                None,
            )
        helper = circle.roster.get(helper_id)
        store.resolve_ask(session, ask.id, now)
        log(
            session,
            NewInteraction(
                workspace_id=workspace_id,
                partnership_id=ask.partnership_id,
                kind=InteractionKind.HELP_GIVEN,
                provider_member_id=helper_id,
                beneficiary_member_id=ask.requester_member_id,
                provider_team_id=helper.team_id if helper is not None else offer.helper_team_id,
                beneficiary_team_id=ask.requester_team_id,
                occurred_at=now,
                source=store.ask_source(ask.id, "given", helper_id),
            ),
        )
    helper_slack = helper.slack_user_id if helper is not None else None
    if helper_slack is None:
        return Resolution("Marked resolved. Thank you!", None)
    return Resolution(None, help_resolved_message(found.text, user_id, helper_slack))


# --- time away ----------------------------------------------------------------------------


def withdraw_prompts(
    session: Session, member_id: int, slack_id: str, from_day: date, through: date
) -> int:
    """Cancel prompts and reminders still queued for days a member will not answer."""
    days = store.unanswered_days(session, member_id, from_day, through)
    keys = [
        key
        for ritual_id, _, day in days
        for key in (prompt_key(ritual_id, day, slack_id), reminder_key(ritual_id, day, slack_id))
    ]
    return outbox.cancel(session, keys, "the member is away or opted out")


# --- what admins see --------------------------------------------------------------------

NOTES_SHOWN_FOR = timedelta(days=14)


def admin_notes(services: Services, workspace_id: int, now: datetime) -> list[str]:
    """Recent one-off notes about members a standup could not prompt at a sane hour."""
    with services.sessions() as session:
        entries = [
            entry
            for entry in audit.recent(session, workspace_id, limit=200)
            if entry.action in (NOTE_OUTSIDE_HOURS, NOTE_TZ_FALLBACK)
            and entry.at >= now - NOTES_SHOWN_FOR
        ]
    lines = []
    for entry in entries[:10]:
        member, _, zone = entry.target.removeprefix("member:").partition(" tz:")
        if entry.action == NOTE_TZ_FALLBACK:
            lines.append(
                f"<@{member}> has no usable time zone in Slack ({zone}); standups use "
                f"{(entry.after or {}).get('detail', 'the default zone')} for them."
            )
        else:
            lines.append(
                f"<@{member}> was not prompted: it was "
                f"{(entry.after or {}).get('detail', 'outside 06:00-21:00')} for them."
            )
    return lines
