"""Shadowing in Slack: building each round, the pair's buttons, reflections and `/tandem pair`.

A round (the ritual builder, inside the tick's transaction):
1. pairings of the previous round whose member left are closed first, and
   that round's unsent reminders are withdrawn;
2. the roster, history, last roles, who sat out, cross-team ties (last 90
   days) and last month's flows between the two teams are read from the
   database and handed to `rituals.pairing.plan_round`;
3. the pairings, the people left out (with the matcher's reason) and every
   message are written in the same transaction: per pairing a
   conversations.open row, the introduction posted into that group DM
   (channel taken from the open row's result) and a reminder due
   `reminder_days` later; a DM to everyone who wanted a partner and got none,
   saying why and when the next round is; a summary in the joint channel.

Three or more teams. Each round matches one pair of teams, taking turns in
the order of `rituals.balance.team_pairs` (every pair once, smaller team id
first): round n uses pair (n - 1) mod k of the k pairs, so with teams A, B, C
the rounds go A×B, A×C, B×C, A×B, … Recency is counted in turns of the same
pair of teams, so the recency window means the same thing for any size.

Whom we tell. People who wanted a partner and got none are told why, by
DM. People who opted out, are away or are deactivated are recorded (so
`/tandem pair` can explain) and counted in the channel summary, but not
messaged: they asked not to be disturbed, or cannot be reached.

Ritual settings (all optional): `pair_size` (2, or 3 to allow trios when
teams are uneven), `allow_trios`, `recency_window` (rounds, default 12),
`min_overlap_hours` (default 2), `workday_start` / `workday_end` ("09:00" /
"17:00", each member's local time), `reminder_days` (default 3, 0 for none),
`session_minutes` (default 45) and `agendas` ({"Marketing > IT": "…"}, to
replace the default agenda for hosts from one team and shadowers from
another). Cadence comes from the schedule: weekly cron, fortnightly with
`every_n_weeks: 2`, monthly with a monthly cron.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.services import Services
from bot.views import shadowing as views
from rituals.balance import team_pairs
from rituals.interactions import InteractionKind, RitualKind
from rituals.periods import month_bounds
from rituals.run_report import RunReport
from rituals.schedule import next_fire_times
from rituals.slack_text import strip_controls
from rituals.working_hours import suggest_slots, workday_utc
from storage import shadowing as store
from storage.db import transaction
from storage.interactions import NewInteraction
from storage.interactions import log as log_interactions
from storage.occurrences import Status, WonOccurrence, mark
from storage.org import (
    RosterEntry,
    find_member,
    member_teams,
    partnership_roster,
    partnership_team_names,
)
from storage.outbox import OutboundCall, cancel, direct_message, enqueue, from_parent
from storage.rituals import RitualSnapshot
from storage.rituals import get as get_ritual

if TYPE_CHECKING:
    from rituals.pairing import Candidate, PairingSettings, RoundPlan

log = logging.getLogger(__name__)

TIE_LOOKBACK = timedelta(days=90)
DEPARTURE_CHECK_MINUTES = 5
SLOT_HORIZON_DAYS = 14
SLOTS_PER_MESSAGE = 3
ENQUEUE_BATCH = 500  # outbox rows per INSERT: well inside SQLite's bound-parameter limit
# How far last month's imbalance may tilt who hosts: never more than two in three.
HOST_SHARE_BOUNDS = (1 / 3, 2 / 3)

# The matcher's reasons (rituals.pairing.UnpairedReason values), spelled out
# here so the idle bot never imports the matcher and its numerical stack.
NOT_TAKING_PART = frozenset({"deactivated", "opted_out", "away"})
LEFT_OUT = frozenset({"partner_team_empty", "no_overlap", "teams_unequal", "no_free_partner"})
UNKNOWN_ZONE = "unknown_time_zone"

MEMBER_LOCAL_DETAIL = (
    "Shadowing rounds need one time zone for the whole partnership: "
    "set the ritual's time zone to a place (e.g. Europe/Berlin), not member-local."
)


# --- settings --------------------------------------------------------------------------


class SettingsProblem(ValueError):
    """The ritual's shadowing settings cannot be used; str(self) says why."""


@dataclass(frozen=True, slots=True)
class ShadowingConfig:
    recency_window: int = 12
    min_overlap: timedelta = timedelta(hours=2)
    workday_start: time = time(9)
    workday_end: time = time(17)
    pair_size: int = 2
    allow_trios: bool = False
    reminder_days: int = 3
    session_minutes: int = 45
    agendas: Mapping[str, str] = field(default_factory=dict)  # "host team > shadower team"

    def pairing_settings(self) -> PairingSettings:
        from rituals.pairing import PairingSettings

        return PairingSettings(
            recency_window=self.recency_window,
            min_overlap=self.min_overlap,
            workday_start=self.workday_start,
            workday_end=self.workday_end,
            pair_size=self.pair_size,
            allow_trios=self.allow_trios,
        )

    def agenda_for(self, host_team: str, shadower_team: str) -> str | None:
        return self.agendas.get(_agenda_key(host_team, shadower_team))


def _agenda_key(host_team: str, shadower_team: str) -> str:
    return f"{host_team.strip().lower()} > {shadower_team.strip().lower()}"


def parse_settings(raw: Mapping[str, Any]) -> ShadowingConfig:
    """The ritual's settings as a config; raises SettingsProblem naming the bad key."""
    pair_size = _integer(raw, "pair_size", 2, 2, 3)
    allow_trios = raw.get("allow_trios", pair_size == 3)
    if not isinstance(allow_trios, bool):
        raise SettingsProblem("allow_trios must be true or false")
    overlap_hours = raw.get("min_overlap_hours", 2)
    if isinstance(overlap_hours, bool) or not isinstance(overlap_hours, int | float):
        raise SettingsProblem("min_overlap_hours must be a number of hours")
    if not 0 <= overlap_hours <= 24:
        raise SettingsProblem("min_overlap_hours must be between 0 and 24")
    agendas = raw.get("agendas", {})
    if not isinstance(agendas, Mapping) or not all(
        isinstance(k, str) and ">" in k and isinstance(v, str) and v.strip()
        for k, v in agendas.items()
    ):
        raise SettingsProblem('agendas must map "Host team > Shadower team" to agenda text')
    config = ShadowingConfig(
        recency_window=_integer(raw, "recency_window", 12, 0, 520),
        min_overlap=timedelta(hours=float(overlap_hours)),
        workday_start=_clock(raw, "workday_start", time(9)),
        workday_end=_clock(raw, "workday_end", time(17)),
        pair_size=pair_size,
        allow_trios=allow_trios,
        reminder_days=_integer(raw, "reminder_days", 3, 0, 60),
        session_minutes=_integer(raw, "session_minutes", 45, 15, 240),
        agendas={_agenda_key(*k.split(">", 1)): v.strip()[:2900] for k, v in dict(agendas).items()},
    )
    if config.workday_start == config.workday_end:
        raise SettingsProblem("workday_start and workday_end must differ")
    try:
        config.pairing_settings()
    except ValueError as error:
        raise SettingsProblem(str(error)) from error
    return config


def _integer(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsProblem(f"{key} must be a whole number from {low} to {high}")
    return value


def _clock(raw: Mapping[str, Any], key: str, default: time) -> time:
    value = raw.get(key)
    if value is None:
        return default
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsProblem(f'{key} must be a local time like "09:00"') from None


def config_or_default(raw: Mapping[str, Any]) -> ShadowingConfig:
    """For buttons pressed after an admin broke the settings: keep working with defaults."""
    try:
        return parse_settings(raw)
    except SettingsProblem:
        return ShadowingConfig()


# --- small rules -----------------------------------------------------------------------


def round_teams(team_ids: Sequence[int], round_no: int) -> tuple[int, int] | None:
    """The pair of teams round `round_no` (1-based) matches; None with fewer than two teams."""
    pairs = team_pairs(team_ids)
    if not pairs:
        return None
    return pairs[(round_no - 1) % len(pairs)]


def host_bias(team_a: int, team_b: int, a_to_b: int, b_to_a: int) -> dict[int, float]:
    """Target host shares: the team that took more than it gave last month hosts more.

    Hosting is giving (host -> shadower), so each team's share of hosts is its
    share of what it received, kept within HOST_SHARE_BOUNDS; 50/50 without data.
    """
    total = a_to_b + b_to_a
    if total <= 0:
        return {team_a: 0.5, team_b: 0.5}
    low, high = HOST_SHARE_BOUNDS
    share_a = min(max(b_to_a / total, low), high)
    return {team_a: share_a, team_b: 1 - share_a}


def meeting_slots(
    zones: Sequence[str],
    first_day: date,
    now: datetime,
    config: ShadowingConfig,
    count: int = SLOTS_PER_MESSAGE,
) -> list[datetime]:
    """Up to `count` meeting starts on different weekdays from `first_day`, all after `now`.

    Each fits everyone's working day; the time of day moves from early to
    late across the days, so a pair with a wide overlap sees real choice.
    """
    if len(zones) < 2:
        return []
    length = timedelta(minutes=config.session_minutes)
    found: list[datetime] = []
    for offset in range(SLOT_HORIZON_DAYS):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        options = [
            slot
            for slot in suggest_slots(
                zones[0], zones[1], day, config.workday_start, config.workday_end, 3, length
            )
            if slot > now and all(_fits(tz, day, slot, length, config) for tz in zones[2:])
        ]
        if options:
            found.append(options[min(len(found), len(options) - 1)])
            if len(found) == count:
                break
    return found


def _fits(tz: str, day: date, start: datetime, length: timedelta, config: ShadowingConfig) -> bool:
    begins, ends = workday_utc(tz, day, config.workday_start, config.workday_end)
    return begins <= start and start + length <= ends


def next_round_at(ritual: RitualSnapshot, after: datetime) -> datetime | None:
    try:
        found = next_fire_times(ritual.schedule, after, count=1)
    except ValueError:
        return None
    return found[0] if found else None


# --- outbox keys -----------------------------------------------------------------------


def open_key(pairing_id: int) -> str:
    return f"shadow:{pairing_id}:open"


def intro_key(pairing_id: int) -> str:
    return f"shadow:{pairing_id}:intro"


def reminder_key(pairing_id: int, due: datetime) -> str:
    return f"shadow:{pairing_id}:reminder:{due:%Y%m%dT%H%M%S}"


def note_key(pairing_id: int, what: str) -> str:
    return f"shadow:{pairing_id}:{what}"


def summary_key(round_id: int) -> str:
    return f"shadow-round:{round_id}:summary"


def unpaired_key(round_id: int, member_id: int) -> str:
    return f"shadow-round:{round_id}:unpaired:{member_id}"


def _in_group_dm(key: str, pairing_id: int, message: dict[str, Any], **extra: Any) -> OutboundCall:
    """A post into the pair's group DM, whose id the conversations.open row returned."""
    return OutboundCall(
        idempotency_key=key,
        method="chat.postMessage",
        payload={"channel": from_parent("channel.id"), **message},
        parent_key=open_key(pairing_id),
        **extra,
    )


def _enqueue_all(
    session: Session, calls: Sequence[OutboundCall], now: datetime, workspace_id: int
) -> None:
    for start in range(0, len(calls), ENQUEUE_BATCH):
        enqueue(session, list(calls[start : start + ENQUEUE_BATCH]), now, workspace_id)


def _withdraw_reminder(
    session: Session, pairing_id: int, due: datetime | None, reason: str
) -> None:
    if due is not None:
        cancel(session, [reminder_key(pairing_id, due)], reason)


# --- the builder -----------------------------------------------------------------------


def build_shadowing_rounds(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> RunReport:
    """The ritual builder: one round per occurrence of the whole ritual.

    Returns how many members were paired and how many were left out, by reason.
    """
    report = RunReport()
    per_member = [o.id for o in occurrences if o.member_id is not None]
    if per_member:
        mark(session, per_member, Status.FAILED, MEMBER_LOCAL_DETAIL)
    rounds = sorted((o for o in occurrences if o.member_id is None), key=lambda o: o.fire_at)
    if not rounds:
        return report
    try:
        config = parse_settings(ritual.settings)
    except SettingsProblem as problem:
        detail = f"Shadowing settings are not valid, so no round was made: {problem}."
        mark(session, [o.id for o in rounds], Status.FAILED, detail)
        report.skip("everyone: the shadowing settings are invalid")
        return report
    for occurrence in rounds:
        why_not = build_round(session, ritual, config, occurrence, now, report)
        if why_not is not None:
            mark(session, [occurrence.id], Status.FAILED, why_not)
            report.skip(f"everyone: {why_not.rstrip('.').lower()}")
    return report


# How a run-now tells the admin why members were left out of a round (counts follow),
# keyed by the matcher's reasons as above.
UNPAIRED_WORDS = {
    "deactivated": "deactivated in Slack",
    "opted_out": "opted out of shadowing",
    "away": "away",
    "unknown_time_zone": "without a usable time zone",
    "partner_team_empty": "with nobody in the other team",
    "no_overlap": "without working hours overlapping a partner's",
    "teams_unequal": "left over (the teams differ in size)",
    "no_free_partner": "without a free partner",
}


def build_round(
    session: Session,
    ritual: RitualSnapshot,
    config: ShadowingConfig,
    occurrence: WonOccurrence,
    now: datetime,
    report: RunReport | None = None,
) -> str | None:
    """Match one round and write it with all its messages; returns why not, if it cannot run.

    `report`, when given, counts the members paired and those left out by reason.
    """
    from rituals.pairing import plan_round  # the numerical stack loads only when a round runs

    notify_departures(session, now, ritual_id=ritual.id)
    names = partnership_team_names(session, ritual.partnership_id)
    round_no = store.next_round_no(session, ritual.id)
    pair = round_teams(list(names), round_no)
    if pair is None:
        return "Shadowing needs a partnership of at least two teams."

    previous = store.previous_round_id(session, ritual.id, round_no)
    last_outcome = None
    if previous is not None:
        last_outcome = store.round_outcome(session, previous)
        stale = [reminder_key(p, due) for p, due in store.open_pairings(session, previous) if due]
        for start in range(0, len(stale), ENQUEUE_BATCH):
            cancel(session, stale[start : start + ENQUEUE_BATCH], "a new round started")

    zone = ZoneInfo(occurrence.tz)
    round_date = occurrence.fire_at.astimezone(zone).date()
    round_id = store.create_round(session, ritual.id, round_no, round_date, now)
    roster = [e for e in partnership_roster(session, ritual.partnership_id) if e.team_id in pair]
    by_member = {e.member_id: e for e in roster}
    rotation = len(team_pairs(names))
    plan = plan_round(
        _candidates(session, ritual, roster, list(names), now),
        store.recent_history(session, ritual.id, round_no, config.recency_window, rotation),
        _last_month_bias(session, pair, round_date, zone),
        config.pairing_settings(),
        round_date,
        seed=ritual.id * 1_000_003 + round_no,
        teams=pair,
        team_names=names,
    )

    reminder_due = now + timedelta(days=config.reminder_days) if config.reminder_days else None
    pairing_ids = store.add_pairings(
        session,
        round_id,
        [store.NewPairing(p.host, p.shadowers) for p in plan.pairs],
        reminder_due,
    )
    store.add_unpaired(session, round_id, [(u.member_id, u.reason.value) for u in plan.unpaired])
    if report is not None:
        report.reached += sum(1 + len(p.shadowers) for p in plan.pairs)
        for unpaired in plan.unpaired:
            reason = unpaired.reason.value
            report.skip(UNPAIRED_WORDS.get(reason, reason))

    next_at = next_round_at(ritual, max(now, occurrence.fire_at))
    label = f"{names[pair[0]]} × {names[pair[1]]}"
    calls: list[OutboundCall] = []
    for pairing_id, pairing in zip(pairing_ids, plan.pairs, strict=True):
        host = by_member[pairing.host]
        guests = [by_member[m] for m in pairing.shadowers]
        calls += _pairing_calls(
            pairing_id, round_no, host, guests, names, config, round_date, now, reminder_due
        )
    for unpaired in plan.unpaired:
        if unpaired.reason.value in NOT_TAKING_PART:
            continue
        entry = by_member[unpaired.member_id]
        detail = (
            views.UNPAIRED_REASONS[UNKNOWN_ZONE] + " (set it in your Slack profile)"
            if unpaired.reason.value == UNKNOWN_ZONE
            else unpaired.detail
        )
        message = views.unpaired_message(label, detail, next_at)
        calls.append(
            direct_message(unpaired_key(round_id, entry.member_id), entry.slack_user_id, message)
        )
    calls.append(
        OutboundCall(
            idempotency_key=summary_key(round_id),
            method="chat.postMessage",
            payload={
                "channel": ritual.channel_id,
                **views.round_summary(
                    _summary(plan, roster, pair, names, round_no, last_outcome, rotation)
                ),
            },
            channel_key=ritual.channel_id,
        )
    )
    _enqueue_all(session, calls, now, ritual.workspace_id)
    if plan.relaxed_levels:
        log.info(
            "shadowing round %s of ritual %s relaxed: %s",
            round_no,
            ritual.id,
            ", ".join(plan.relaxed_levels),
        )
    return None


def _candidates(
    session: Session,
    ritual: RitualSnapshot,
    roster: Sequence[RosterEntry],
    partnership_teams: Sequence[int],
    now: datetime,
) -> list[Candidate]:
    from rituals.pairing import Candidate, Role

    roles = store.last_roles(session, ritual.id)
    sat_out = store.sat_out_last(session, ritual.id, LEFT_OUT)
    # A tie to any other team of the partnership counts, not only to this round's.
    tied = store.cross_team_tied(session, partnership_teams, now - TIE_LOOKBACK, now)
    return [
        Candidate(
            member_id=e.member_id,
            team_id=e.team_id,
            tz=e.tz or "",
            active=e.active,
            opted_out=RitualKind.SHADOWING.value in e.opted_out,
            away_until=e.away_until,
            last_role=Role(roles[e.member_id]) if e.member_id in roles else None,
            sat_out_last_round=e.member_id in sat_out,
            has_cross_team_tie=e.member_id in tied,
        )
        for e in roster
    ]


def _last_month_bias(
    session: Session, pair: tuple[int, int], round_date: date, zone: ZoneInfo
) -> dict[int, float]:
    year, month = (
        (round_date.year, round_date.month - 1)
        if round_date.month > 1
        else (
            round_date.year - 1,
            12,
        )
    )
    start, end = month_bounds(year, month, zone)
    a_to_b, b_to_a = store.team_flows(session, pair[0], pair[1], start, end)
    return host_bias(pair[0], pair[1], a_to_b, b_to_a)


def _pairing_calls(
    pairing_id: int,
    round_no: int,
    host: RosterEntry,
    guests: Sequence[RosterEntry],
    names: Mapping[int, str],
    config: ShadowingConfig,
    round_date: date,
    now: datetime,
    reminder_due: datetime | None,
) -> list[OutboundCall]:
    host_team = names[host.team_id]
    guest_team = names[guests[0].team_id]
    guest_ids = tuple(g.slack_user_id for g in guests)
    agenda = config.agenda_for(host_team, guest_team) or views.default_agenda(
        host.slack_user_id, host_team, guest_ids, guest_team, config.session_minutes
    )
    zones = [e.tz for e in (host, *guests) if e.tz]
    intro = views.Intro(
        pairing_id=pairing_id,
        round_no=round_no,
        host_id=host.slack_user_id,
        host_team=host_team,
        shadower_ids=guest_ids,
        shadower_team=guest_team,
        slots=tuple(meeting_slots(zones, round_date, now, config)),
        agenda=agenda,
        reminder_days=config.reminder_days,
    )
    users = (host.slack_user_id, *guest_ids)
    calls = [
        OutboundCall(
            idempotency_key=open_key(pairing_id),
            method="conversations.open",
            payload={"users": ",".join(users)},
        ),
        _in_group_dm(intro_key(pairing_id), pairing_id, views.intro_message(intro)),
    ]
    if reminder_due is not None:
        calls.append(
            _in_group_dm(
                reminder_key(pairing_id, reminder_due),
                pairing_id,
                views.reminder_message(pairing_id, users),
                not_before=reminder_due,
            )
        )
    return calls


def _summary(
    plan: RoundPlan,
    roster: Sequence[RosterEntry],
    pair: tuple[int, int],
    names: Mapping[int, str],
    round_no: int,
    last: store.RoundOutcome | None,
    rotation: int,
) -> views.RoundSummary:
    reasons = {u.member_id: u.reason.value for u in plan.unpaired}
    available = {team: 0 for team in pair}
    members = {team: 0 for team in pair}
    for entry in roster:
        members[entry.team_id] += 1
        if reasons.get(entry.member_id) not in NOT_TAKING_PART | {UNKNOWN_ZONE}:
            available[entry.team_id] += 1
    no_pairs_reason = None
    if not plan.pairs:
        empty = [names[t] for t in pair if members[t] == 0]
        idle = [names[t] for t in pair if available[t] == 0]
        if len(empty) == 2:
            no_pairs_reason = "both teams are empty"
        elif empty:
            no_pairs_reason = f"{empty[0]} has nobody in it yet"
        elif len(idle) == 2:
            no_pairs_reason = "everyone is away or has opted out"
        elif idle:
            no_pairs_reason = f"nobody in {idle[0]} is available"
        else:
            no_pairs_reason = "nobody across the two teams shares enough working hours"
    following = round_teams(sorted(names), round_no + 1) if rotation > 1 else None
    return views.RoundSummary(
        round_no=round_no,
        teams=(names[pair[0]], names[pair[1]]),
        pairs=len(plan.pairs),
        trios=sum(1 for p in plan.pairs if len(p.shadowers) > 1),
        left_out=sum(1 for r in reasons.values() if r not in NOT_TAKING_PART),
        not_taking_part=sum(1 for r in reasons.values() if r in NOT_TAKING_PART),
        no_pairs_reason=no_pairs_reason,
        last_round=None if last is None else (last.pairs, last.met, last.newly_connected),
        next_teams=None if following is None else (names[following[0]], names[following[1]]),
    )


# --- people leaving mid-round ----------------------------------------------------------------


def notify_departures(session: Session, now: datetime, *, ritual_id: int | None = None) -> int:
    """Close open pairings of the latest rounds whose member left; tell the others. Returns pairings closed."""
    leavers: dict[int, set[int]] = defaultdict(set)
    for departure in store.departures(session, ritual_id):
        leavers[departure.pairing_id].add(departure.member_id)
    rituals: dict[int, RitualSnapshot | None] = {}
    closed = 0
    for pairing_id, gone in leavers.items():
        record = store.get_pairing(session, pairing_id)
        if record is None or not store.close(session, pairing_id, store.PairingStatus.PARTNER_LEFT):
            continue
        closed += 1
        _withdraw_reminder(session, pairing_id, record.reminder_due_at, "a member left the team")
        if record.ritual_id not in rituals:
            rituals[record.ritual_id] = get_ritual(session, record.ritual_id)
        ritual = rituals[record.ritual_id]
        next_at = None if ritual is None else next_round_at(ritual, now)
        left_ids = [p.slack_user_id for p in record.participants if p.member_id in gone]
        message = views.partner_left_message(left_ids, next_at)
        calls = [
            direct_message(
                note_key(pairing_id, f"partner_left:{p.member_id}"), p.slack_user_id, message
            )
            for p in record.participants
            if p.member_id not in gone
        ]
        _enqueue_all(session, calls, now, record.workspace_id)
    return closed


def departure_job(services: Services) -> Callable[[], None]:
    """A scheduler job: tell people promptly when their partner left (after a team sync)."""

    def run() -> None:
        try:
            with transaction(services.sessions) as session:
                closed = notify_departures(session, utcnow())
        except Exception:
            log.exception("shadowing departure check failed")
            return
        if closed:
            log.info("shadowing: %d pairing(s) closed because a member left", closed)

    return run


# --- the buttons, the reflection and /tandem pair --------------------------------------------


@dataclass(frozen=True, slots=True)
class ButtonResult:
    message: str | None = None  # told to the presser only
    reflection_for: tuple[int, tuple[str, ...]] | None = (
        None  # (pairing id, partner ids): open the form
    )


def already_recorded(record: store.PairingRecord) -> str:
    """Why a button does nothing on a pairing that is no longer open."""
    if record.status == store.PairingStatus.MET.value:
        when = (
            views.slack_time(record.met_at, "{date_short_pretty}") if record.met_at else "earlier"
        )
        return f"Already recorded: you met ({when}). Thank you!"
    if record.status == store.PairingStatus.SKIPPED.value:
        return "Already recorded: this round was skipped. See you next round!"
    if record.status == store.PairingStatus.PARTNER_LEFT.value:
        return "This pairing is off: a member left the partnership's teams. You'll be paired next round."
    return "Already recorded."


class ShadowingService:
    """What the shadowing buttons, the reflection form and `/tandem pair` do."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # --- buttons ----------------------------------------------------------------------

    def met(self, workspace_id: int, user_id: str, pairing_id: int, now: datetime) -> ButtonResult:
        """Record the session once, log host -> shadower, and ask the presser to reflect."""
        with transaction(self.services.sessions) as session:
            record = self._open_for(session, workspace_id, user_id, pairing_id, now)
            if isinstance(record, ButtonResult):
                return record
            if not store.close(session, pairing_id, store.PairingStatus.MET, met_at=now):
                return self._already(session, pairing_id)
            _withdraw_reminder(session, pairing_id, record.reminder_due_at, "they met")
            teams = member_teams(
                session, record.partnership_id, [p.member_id for p in record.participants]
            )
            host = record.host
            log_interactions(
                session,
                *(
                    NewInteraction(
                        workspace_id=record.workspace_id,
                        partnership_id=record.partnership_id,
                        kind=InteractionKind.SHADOWING,
                        provider_member_id=host.member_id,
                        beneficiary_member_id=guest.member_id,
                        provider_team_id=teams.get(host.member_id),
                        beneficiary_team_id=teams.get(guest.member_id),
                        occurred_at=now,
                        source=f"shadow:{record.id}:{guest.member_id}",
                    )
                    for guest in record.shadowers
                ),
            )
            enqueue(
                session,
                _in_group_dm(note_key(pairing_id, "met"), pairing_id, views.met_message(user_id)),
                now,
                record.workspace_id,
            )
        partners = tuple(u for u in record.slack_user_ids if u != user_id)
        return ButtonResult(reflection_for=(pairing_id, partners))

    def reschedule(
        self, workspace_id: int, user_id: str, pairing_id: int, now: datetime
    ) -> ButtonResult:
        """New times from tomorrow on in the group DM, and the reminder moved accordingly."""
        with transaction(self.services.sessions) as session:
            record = self._open_for(session, workspace_id, user_id, pairing_id, now)
            if isinstance(record, ButtonResult):
                return record
            ritual = get_ritual(session, record.ritual_id)
            config = config_or_default(ritual.settings if ritual else {})
            due = now + timedelta(days=config.reminder_days) if config.reminder_days else None
            if not store.reschedule(session, pairing_id, due):
                return self._already(session, pairing_id)
            zones = [p.tz for p in record.participants if p.tz]
            host_zone = ZoneInfo(record.host.tz or "UTC")
            tomorrow = now.astimezone(host_zone).date() + timedelta(days=1)
            slots = meeting_slots(zones, tomorrow, now, config)
            added = enqueue(
                session,
                _in_group_dm(
                    note_key(pairing_id, f"times:{tomorrow:%Y%m%d}"),
                    pairing_id,
                    views.new_times_message(pairing_id, user_id, slots),
                ),
                now,
                record.workspace_id,
            )
            old_key = (
                reminder_key(pairing_id, record.reminder_due_at) if record.reminder_due_at else None
            )
            new_key = reminder_key(pairing_id, due) if due else None
            if old_key != new_key:
                _withdraw_reminder(session, pairing_id, record.reminder_due_at, "rescheduled")
                if due is not None and new_key is not None:
                    enqueue(
                        session,
                        _in_group_dm(
                            new_key,
                            pairing_id,
                            views.reminder_message(pairing_id, record.slack_user_ids),
                            not_before=due,
                        ),
                        now,
                        record.workspace_id,
                    )
        if not added:
            return ButtonResult("New times are already in your group DM; pick one of those.")
        return ButtonResult("Done: I've posted new times in your group DM.")

    def skip(self, workspace_id: int, user_id: str, pairing_id: int, now: datetime) -> ButtonResult:
        with transaction(self.services.sessions) as session:
            record = self._open_for(session, workspace_id, user_id, pairing_id, now)
            if isinstance(record, ButtonResult):
                return record
            if not store.close(session, pairing_id, store.PairingStatus.SKIPPED):
                return self._already(session, pairing_id)
            _withdraw_reminder(session, pairing_id, record.reminder_due_at, "skipped")
            ritual = get_ritual(session, record.ritual_id)
            next_at = None if ritual is None else next_round_at(ritual, now)
            enqueue(
                session,
                _in_group_dm(
                    note_key(pairing_id, "skipped"),
                    pairing_id,
                    views.skipped_message(user_id, next_at),
                ),
                now,
                record.workspace_id,
            )
        return ButtonResult("Done: this round is skipped. No reminder will follow.")

    def _open_for(
        self, session: Session, workspace_id: int, user_id: str, pairing_id: int, now: datetime
    ) -> store.PairingRecord | ButtonResult:
        """The pairing if this person may act on it, after settling departures; else what to tell them."""
        record = store.get_pairing(session, pairing_id)
        if record is None or record.workspace_id != workspace_id:
            return ButtonResult("I can't find this pairing any more.")
        if record.participant(user_id) is None:
            return ButtonResult(
                f"This pairing belongs to {views.people(record.slack_user_ids)}. "
                "Yours is in `/tandem pair`."
            )
        if record.is_open and notify_departures(session, now, ritual_id=record.ritual_id):
            record = store.get_pairing(session, pairing_id) or record
        if not record.is_open:
            return ButtonResult(already_recorded(record))
        return record

    @staticmethod
    def _already(session: Session, pairing_id: int) -> ButtonResult:
        current = store.get_pairing(session, pairing_id)
        return ButtonResult(already_recorded(current) if current else "Already recorded.")

    # --- the reflection -----------------------------------------------------------------

    def reflect(
        self,
        workspace_id: int,
        user_id: str,
        pairing_id: int,
        learned: str,
        handoff: str,
        now: datetime,
    ) -> str | None:
        """Store the two answers; returns why not (shown on the form), or None when saved."""
        with transaction(self.services.sessions) as session:
            record = store.get_pairing(session, pairing_id)
            if record is None or record.workspace_id != workspace_id:
                return "I can't find this pairing any more."
            if record.participant(user_id) is None:
                return f"This pairing belongs to {_plain_people(record)}."
            if record.status != store.PairingStatus.MET.value:
                return "Press “We met” in your group DM first."
            learned, handoff = strip_controls(learned), strip_controls(handoff)
            if not store.save_reflection(session, pairing_id, learned, handoff, now):
                return "A reflection for this session is already saved. Thank you!"
        return None

    # --- /tandem pair -----------------------------------------------------------------

    def pair_command(self, req: CommandRequest) -> Reply:
        return self.pair_status(req.workspace_id, req.user_id, utcnow())

    def pair_status(self, workspace_id: int, user_id: str, now: datetime) -> Reply:
        with transaction(self.services.sessions) as session:
            member = find_member(session, workspace_id, user_id)
            if member is None:
                return views.pair_status_message([])
            rounds = store.member_rounds(session, member.id)
            changed = sum(
                notify_departures(session, now, ritual_id=r.ritual_id)
                for r in rounds
                if r.pairing is not None and r.pairing.is_open
            )
            if changed:
                rounds = store.member_rounds(session, member.id)
            entries = [self._status_entry(session, r, user_id, now) for r in rounds]
        return views.pair_status_message(entries)

    @staticmethod
    def _status_entry(
        session: Session, found: store.MemberRound, user_id: str, now: datetime
    ) -> views.PairStatus:
        ritual = get_ritual(session, found.ritual_id)
        next_at = None if ritual is None or ritual.paused else next_round_at(ritual, now)
        pairing = found.pairing
        me = pairing.participant(user_id) if pairing else None
        return views.PairStatus(
            partnership=found.partnership_name,
            round_no=found.round_no,
            round_date=found.round_date,
            role=me.role if me else None,
            partner_ids=tuple(u for u in pairing.slack_user_ids if u != user_id) if pairing else (),
            status=pairing.status if pairing else None,
            met_at=pairing.met_at if pairing else None,
            unpaired_reason=found.unpaired_reason,
            next_at=next_at,
        )


def _plain_people(record: store.PairingRecord) -> str:
    """Names without markup, for a modal's inline error (which shows plain text)."""
    names = [p.display_name or p.slack_user_id for p in record.participants]
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + f" and {names[-1]}"
