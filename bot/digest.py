"""The monthly interdependence balance for leaders: compute it, and queue it for delivery.

`compute_digest` asks storage for six months of metrics (the month itself
plus five before it, for the trend and the chart): closed months come from
their snapshot, computed once (storage/balance_snapshots.py), the month in
progress from the log. `rituals.balance` turns them into summaries: bands,
arrows, next steps, small teams hidden. Delivery is outbox rows only: for each recipient a
message and, under it, the chart as a file. The DIGEST ritual's builder
(`build_occurrences`) sends each leader their copy at the ritual's local
time in the leader's own zone, and the leaders' channel (ritual setting
`leaders_channel`) its copy when the ritual fires.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.digest_sections import extra_sections
from bot.kudos import queue_leaderboard
from bot.outbox import FILES_UPLOAD_V2, file_upload
from bot.pulse.closing import close_and_tell
from rituals.balance import (
    DEFAULT_MIN_GROUP_SIZE,
    BandThresholds,
    MetricLine,
    PairMetrics,
    PairSummary,
    summarize,
    withheld,
)
from rituals.interactions import InterdependenceType, RitualKind
from rituals.periods import month_bounds
from rituals.schedule import PRESETS, next_fire_times
from storage.balance_snapshots import Window, monthly_metrics
from storage.models import Member, Partnership
from storage.occurrences import WonOccurrence
from storage.org import team_names
from storage.outbox import OutboundCall, enqueue, from_parent
from storage.rituals import RitualSnapshot, schedule_from

log = logging.getLogger(__name__)

HISTORY_MONTHS = 6  # the chart's span; the trend uses the last three before the month
DEFAULT_TIMEZONE = "UTC"
# The first working day of the month at 09:00 (see rituals.schedule.PRESETS).
DIGEST_PRESET = PRESETS["monthly_first_working_day_0900"]
# A leader's own slot further than this from the ritual's is not the same month's.
_SLOT_SEARCH = timedelta(days=2)
# Subjects a scheduler may use for per-leader occurrences, besides member ids.
LEADER_PREFIX = "leader:"


# --- months ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2025-03' -> Month(2025, 3)."""
        try:
            year, month = (int(part) for part in text.strip().split("-"))
            return cls(year, month)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a month: write it as YYYY-MM, e.g. 2025-03"
            ) from None

    @classmethod
    def containing(cls, moment: datetime, tz: str) -> Month:
        local = moment.astimezone(ZoneInfo(tz))
        return cls(local.year, local.month)

    @classmethod
    def last_complete(cls, moment: datetime, tz: str) -> Month:
        """The month before the one `moment` falls in, in `tz`: the newest finished month."""
        return cls.containing(moment, tz).shifted(-1)

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        return month_bounds(self.year, self.month, tz)

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return datetime(self.year, self.month, 1).strftime("%B %Y")


# --- the digest --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthFlows:
    """Cross-team flows of a pair in one month, both directions: the chart's data."""

    month: Month
    a_to_b: int
    b_to_a: int
    # A month in which a team of the pair was under the minimum group size: no counts.
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class PairDigest:
    summary: PairSummary
    history: tuple[MonthFlows, ...]  # oldest first, ending with the digest's month

    @property
    def title(self) -> str:
        return f"{self.summary.team_a.team.name} ↔ {self.summary.team_b.team.name}"

    @property
    def active_history(self) -> tuple[MonthFlows, ...]:
        """The history from the first month with any flow (at least the digest's month).

        A month under the floor counts as one that may have had flows, so it
        shows as a gap. Empty for a hidden pair: its chart and history are
        withheld with it.
        """
        if self.summary.hidden:
            return ()
        for index, flows in enumerate(self.history):
            if flows.a_to_b or flows.b_to_a or flows.hidden:
                return self.history[index:]
        return self.history[-1:]


@dataclass(frozen=True, slots=True)
class Digest:
    """What leaders get for one partnership and month: no field can hold a person."""

    partnership_id: int
    partnership_name: str
    interdependence: InterdependenceType
    month: Month
    timezone: str
    pairs: tuple[PairDigest, ...]
    # Set when the partnership's band overrides were refused and defaults used instead.
    settings_problem: str | None = None
    # The green limit of the give share: a side giving up to this share is balanced.
    balanced_share: float = 0.6
    # Set when the month was not over when the digest was computed: the numbers so far.
    as_of: datetime | None = None
    # Block Kit sections other features add (joint KPIs, the pulse); none names a person.
    sections: tuple[dict[str, Any], ...] = ()
    # The same sections as plain JSON types ("joint_kpis", "pulse"), for --json.
    section_data: dict[str, Any] = field(default_factory=dict)

    @property
    def incomplete_note(self) -> str | None:
        """Why these numbers will still change, or None for a month that is over."""
        if self.as_of is None:
            return None
        start, _ = self.month.bounds(self.timezone)
        if self.as_of <= start:
            return f"{self.month.label} has not started yet: there is nothing to count."
        local = self.as_of.astimezone(ZoneInfo(self.timezone))
        return (
            f"{self.month.label} is not over: these are the numbers up to "
            f"{local.day} {local:%B %H:%M}, so they are incomplete."
        )

    @property
    def has_history(self) -> bool:
        return any(h.a_to_b or h.b_to_a for p in self.shown_pairs for h in p.history)

    @property
    def shown_pairs(self) -> tuple[PairDigest, ...]:
        """The pairs whose numbers may be shown: none of their teams is under the floor."""
        return tuple(p for p in self.pairs if not p.summary.hidden)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types, for `tandem digest --json`."""
        return {
            "partnership": self.partnership_name,
            "interdependence": self.interdependence.value,
            "month": self.month.key,
            "timezone": self.timezone,
            "settings_problem": self.settings_problem,
            "pairs": [_pair_dict(p) for p in self.pairs],
            "joint_kpis": self.section_data.get("joint_kpis"),
            "pulse": self.section_data.get("pulse"),
        }


def _pair_dict(pair: PairDigest) -> dict[str, Any]:
    s = pair.summary
    a, b = s.team_a.team.name, s.team_b.team.name
    if s.hidden:
        return {
            "teams": [a, b],
            "hidden": s.hidden_note,
            "team_metrics": {
                side.team.name: {"size": None, "hidden": side.note, "metrics": {}}
                for side in (s.team_a, s.team_b)
            },
        }
    return {
        "teams": [a, b],
        "headline": s.headline.value if s.headline else None,
        "note": s.activity_note,
        "flows": {f"{a} -> {b}": s.flows_a_to_b, f"{b} -> {a}": s.flows_b_to_a},
        "asks": s.asks,
        "asks_unanswered": s.asks_unanswered,
        "metrics": {line.metric.value: _line_dict(line) for line in s.metrics},
        "team_metrics": {
            side.team.name: {
                "size": side.size,
                "hidden": side.note,
                "metrics": {line.metric.value: _line_dict(line) for line in side.metrics},
            }
            for side in (s.team_a, s.team_b)
        },
        "next_steps": [
            {
                "action": step.action.value,
                "text": step.text,
                "metric": step.metric.value if step.metric else None,
                "band": step.band.value if step.band else None,
            }
            for step in s.next_steps
        ],
        "history": [
            {"month": h.month.key, "hidden": True}
            if h.hidden
            else {"month": h.month.key, f"{a} -> {b}": h.a_to_b, f"{b} -> {a}": h.b_to_a}
            for h in pair.history
        ],
    }


def _line_dict(line: MetricLine) -> dict[str, Any]:
    return {
        "value": line.value,
        "band": line.band.value if line.band else None,
        "trend": line.trend.arrow.value,
        "vs_last_month": line.trend.vs_last_month,
        "vs_three_month_mean": line.trend.vs_three_month_mean,
    }


class PartnershipNotFound(LookupError):
    """No partnership by that id or name; str(self) says which."""


def balance_timezone(partnership: Partnership) -> str:
    """Months are cut at midnight in the partnership's `timezone` setting (UTC if unset)."""
    zone = (partnership.settings or {}).get("timezone")
    if isinstance(zone, str) and zone:
        try:
            ZoneInfo(zone)
            return zone
        except (KeyError, ValueError):
            log.warning("partnership %s: unknown timezone %r, using UTC", partnership.id, zone)
    return DEFAULT_TIMEZONE


def _thresholds(
    partnership: Partnership, kind: InterdependenceType
) -> tuple[BandThresholds, str | None]:
    overrides = (partnership.settings or {}).get("balance")
    if not overrides:
        return BandThresholds.defaults(kind), None
    if not isinstance(overrides, dict):
        return BandThresholds.defaults(kind), "the balance setting must be a JSON object"
    try:
        return BandThresholds.from_settings(kind, overrides), None
    except ValueError as error:
        return BandThresholds.defaults(kind), str(error)


def _min_group_size(partnership: Partnership) -> int:
    value = (partnership.settings or {}).get("min_group_size", DEFAULT_MIN_GROUP_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return DEFAULT_MIN_GROUP_SIZE
    return value


def find_partnership(session: Session, name: str) -> Partnership:
    """A partnership by name, in whichever workspace has it; the name must be unambiguous."""
    found = session.scalars(
        select(Partnership).where(func.lower(Partnership.name) == name.strip().lower())
    ).all()
    if not found:
        known = session.scalars(select(Partnership.name).order_by(Partnership.name)).all()
        hint = f" Known: {', '.join(known)}." if known else " There are no partnerships yet."
        raise PartnershipNotFound(f"no partnership is called {name!r}.{hint}")
    if len(found) > 1:
        raise PartnershipNotFound(f"{len(found)} workspaces have a partnership called {name!r}")
    return found[0]


def as_of(digest: Digest, now: datetime) -> Digest:
    """The digest marked incomplete when its month is the current one or still to come."""
    _, end = digest.month.bounds(digest.timezone)
    return replace(digest, as_of=now) if now < end else digest


def compute_digest(
    session: Session, partnership_id: int, month: Month, now: datetime | None = None
) -> Digest:
    """Summaries for every pair of the partnership's teams, for `month` and its trend.

    With `now`, the months over by then are read from their snapshots, and
    those not stored yet are computed and added to the session (the caller
    commits); without it, every month is computed from the log.
    """
    partnership = session.get(Partnership, partnership_id)
    if partnership is None:
        raise PartnershipNotFound(f"no partnership has id {partnership_id}")
    kind = InterdependenceType(partnership.interdependence_type)
    tz = balance_timezone(partnership)
    team_ids = [pt.team_id for pt in partnership.teams]  # in the partnership's order
    position = {team: index for index, team in enumerate(team_ids)}
    names = team_names(session, team_ids)
    months = [month.shifted(offset) for offset in range(1 - HISTORY_MONTHS, 1)]
    windows = [Window(m.key, *m.bounds(tz)) for m in months]
    by_month = monthly_metrics(session, partnership_id, team_ids, tz, windows, now)
    thresholds, problem = _thresholds(partnership, kind)
    min_group = _min_group_size(partnership)

    pairs: list[PairDigest] = []
    for key in sorted(by_month[-1], key=lambda pair: sorted(position[t] for t in pair)):
        # Oriented by storage: the team listed first leads the pair.
        series: list[PairMetrics] = [window[key] for window in by_month]
        summary = summarize(
            series[-1],
            year=month.year,
            month=month.month,
            interdependence=kind,
            team_names=names,
            history=series[:-1],
            thresholds=thresholds,
            min_group_size=min_group,
        )
        history = (
            ()
            if summary.hidden
            else tuple(
                MonthFlows(m, 0, 0, hidden=True)
                if withheld(metrics, min_group)
                else MonthFlows(m, metrics.flows_a_to_b, metrics.flows_b_to_a)
                for m, metrics in zip(months, series, strict=True)
            )
        )
        pairs.append(PairDigest(summary, history))
    sections = extra_sections(
        session,
        partnership.id,
        month.key,
        windows[-1].end,
        tz,
        {team: names[team] for team in team_ids if team in names},  # the partnership's order
        [p.summary for p in pairs],
    )
    return Digest(
        partnership_id=partnership.id,
        partnership_name=partnership.name,
        interdependence=kind,
        month=month,
        timezone=tz,
        pairs=tuple(pairs),
        settings_problem=problem,
        balanced_share=thresholds.give_share.green,
        sections=sections.blocks,
        section_data=sections.data,
    )


# --- delivery ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rendered:
    """A digest as Slack will show it, built once and sent to every recipient."""

    digest: Digest
    message: dict[str, Any]
    chart: bytes | None

    @property
    def chart_name(self) -> str:
        return f"tandem-balance-{self.digest.partnership_id}-{self.digest.month.key}.png"

    @property
    def chart_title(self) -> str:
        return f"Interdependence balance, {self.digest.partnership_name}, {self.digest.month.label}"


def render(digest: Digest) -> Rendered:
    from bot.chart import balance_chart
    from bot.views.digest import digest_message

    chart = balance_chart(digest) if digest.has_history else None
    return Rendered(digest, digest_message(digest, with_chart=chart is not None), chart)


def delivery_calls(
    rendered: Rendered,
    channel: str,
    key: str,
    not_before: datetime | None = None,
    variant: str = "",
) -> list[OutboundCall]:
    """The message to `channel` (a channel id, or a user id for a DM) and the chart under it.

    `variant` tells a resend's file apart from the first one: the sender
    recognises an upload that may already have landed by its file name.
    """
    calls = [
        OutboundCall(
            idempotency_key=key,
            method="chat.postMessage",
            payload={"channel": channel, **rendered.message, "unfurl_links": False},
            channel_key=channel,
            not_before=not_before,
        )
    ]
    if rendered.chart is not None:
        name = rendered.chart_name
        if variant:
            name = name.replace(".png", f"-{re.sub(r'[^A-Za-z0-9]+', '-', variant).strip('-')}.png")
        payload = file_upload("", rendered.chart, name, title=rendered.chart_title)
        # Into the conversation the message landed in: a DM's id is only known once it is sent.
        payload["channel"] = from_parent("channel")
        calls.append(
            OutboundCall(
                idempotency_key=f"{key}:chart",
                method=FILES_UPLOAD_V2,
                payload=payload,
                channel_key=channel,
                parent_key=key,
                not_before=not_before,
            )
        )
    return calls


def leader_ids(partnership: Partnership) -> list[str]:
    return sorted(leader.slack_user_id for leader in partnership.leaders)


def message_key(digest: Digest, target: str, suffix: str = "") -> str:
    return f"digest:{digest.partnership_id}:{digest.month.key}:{target}{suffix}"


def queue_digest(
    session: Session,
    rendered: Rendered,
    now: datetime,
    *,
    workspace_id: int,
    leaders: Iterable[str],
    channel: str | None = None,
    suffix: str = "",
    not_before: dict[str, datetime] | None = None,
) -> int:
    """Outbox rows for each leader's DM and the optional channel; returns rows added."""
    calls: list[OutboundCall] = []
    for leader in leaders:
        key = message_key(rendered.digest, f"dm:{leader}", suffix)
        calls += delivery_calls(rendered, leader, key, (not_before or {}).get(leader), suffix)
    if channel:
        key = message_key(rendered.digest, f"channel:{channel}", suffix)
        calls += delivery_calls(rendered, channel, key, variant=suffix)
    unique = list({call.idempotency_key: call for call in calls}.values())
    return enqueue(session, unique, now, workspace_id)


# --- the DIGEST ritual ------------------------------------------------------------------


def digest_ritual_defaults(timezone: str) -> dict[str, Any]:
    """cron, timezone and settings for a new DIGEST ritual (first working day, 09:00).

    With an IANA `timezone` the ritual fires once a month there and each
    leader's copy waits for 09:00 on the first working day in the leader's
    own zone (never before the ritual fires, so never before the month is
    over for the partnership). With MEMBER_LOCAL the scheduler fires per
    subject in its own zone instead.
    """
    schedule = DIGEST_PRESET.schedule(timezone)
    return {
        "kind": RitualKind.DIGEST.value,
        "cron": schedule.cron,
        "timezone": timezone,
        "settings": {"first_working_day_only": schedule.first_working_day_only},
    }


def _leader_zones(session: Session, workspace_id: int, leaders: Sequence[str]) -> dict[str, str]:
    rows = session.execute(
        select(Member.slack_user_id, Member.tz).where(
            Member.workspace_id == workspace_id, Member.slack_user_id.in_(leaders)
        )
    )
    return {user: tz for user, tz in rows if tz}


def _own_slot(ritual: RitualSnapshot, tz: str, fire_at: datetime) -> datetime | None:
    """The ritual's slot in `tz` nearest to `fire_at` (the same month's first working day)."""
    try:
        schedule = schedule_from(ritual.cron, tz, ritual.settings)
        slots = next_fire_times(schedule, fire_at - _SLOT_SEARCH, count=3)
    except (KeyError, ValueError):
        return None
    near = [slot for slot in slots if abs(slot - fire_at) <= _SLOT_SEARCH]
    return min(near, key=lambda slot: abs(slot - fire_at)) if near else None


def _local_slots(
    ritual: RitualSnapshot,
    occurrence: WonOccurrence,
    recipients: Sequence[str],
    zones: dict[str, str],
    now: datetime,
) -> dict[str, datetime]:
    """When each leader's copy of a ritual-wide firing is due: the slot in their own zone.

    Only later slots matter; a leader whose slot has passed gets it now.
    """
    if occurrence.subject or occurrence.is_manual or ritual.is_member_local:
        return {}
    slots: dict[str, datetime] = {}
    for leader in recipients:
        zone = zones.get(leader)
        slot = _own_slot(ritual, zone, occurrence.fire_at) if zone else None
        if slot is not None and slot > now:
            slots[leader] = slot
    return slots


def _recipients(
    occurrence: WonOccurrence, leaders: Sequence[str], slack_ids: dict[int, str]
) -> list[str]:
    """Who an occurrence is for: every leader, or the one leader it names."""
    if occurrence.subject.startswith(LEADER_PREFIX):
        user = occurrence.subject[len(LEADER_PREFIX) :]
        return [user] if user in leaders else []
    member_id = occurrence.member_id
    if member_id is None:
        return list(leaders)
    member_user = slack_ids.get(member_id, "")
    return [member_user] if member_user in leaders else []


def _slack_ids(session: Session, occurrences: Sequence[WonOccurrence]) -> dict[int, str]:
    """Slack ids of the members that member-local occurrences are for, in one query."""
    wanted = {o.member_id for o in occurrences if o.member_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Member.id, Member.slack_user_id).where(Member.id.in_(wanted)))
    return {member_id: user for member_id, user in rows}


def build_occurrences(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> None:
    """The DIGEST ritual's builder: queue last month's digest for the occurrences' leaders."""
    partnership = session.get(Partnership, ritual.partnership_id)
    if partnership is None:
        return
    tz = balance_timezone(partnership)
    leaders = leader_ids(partnership)
    zones = _leader_zones(session, ritual.workspace_id, leaders)
    slack_ids = _slack_ids(session, occurrences)
    channel = ritual.settings.get("leaders_channel")
    rendered: dict[Month, Rendered] = {}
    for occurrence in occurrences:
        fired = now if occurrence.is_manual else occurrence.fire_at
        month = Month.last_complete(fired, tz)
        if month not in rendered:
            # The month's pulse closes by its own job at the month's end; a worker that
            # was down may not have run it yet, and the digest must not wait for it.
            close_and_tell(session, ritual.workspace_id, partnership.id, now, through=month.key)
            rendered[month] = render(compute_digest(session, partnership.id, month, now))
            queue_leaderboard(
                session, partnership.id, month.key, month.label, month.bounds(tz), now
            )
        recipients = _recipients(occurrence, leaders, slack_ids)
        waits = _local_slots(ritual, occurrence, recipients, zones, now)
        queue_digest(
            session,
            rendered[month],
            now,
            workspace_id=ritual.workspace_id,
            leaders=recipients,
            channel=channel if isinstance(channel, str) and channel else None,
            suffix=f":{occurrence.fire_key}" if occurrence.is_manual else "",
            not_before=waits,
        )
