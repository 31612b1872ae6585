"""The pulse ritual's builder: the monthly DM, on the second-to-last working day.

The ritual is member-local and its cron fires on the month's late weekdays
(preset `monthly_late_weekdays_1500`); each member is asked only on the
second-to-last working day of their own calendar. Members away that day or
opted out of the pulse are not asked, and not counted as asked. On the
last working day, those asked who have not answered get one reminder (who
answered is known until the round closes, and only for this). Opening the
month's round queues its close (bot/pulse/closing.py), due when the month
ends in the partnership's time zone, the months the digest counts in.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from bot.digest import balance_timezone
from bot.pulse.closing import close_job
from bot.pulse.views import ask_message
from rituals.interactions import RitualKind
from rituals.periods import month_bounds
from rituals.pulse import last_working_day, month_key, second_to_last_working_day
from rituals.zones import zone_or_default
from storage import jobs, pulse
from storage.kpis import outbox_keys_since
from storage.models import Partnership
from storage.occurrences import WonOccurrence
from storage.org import RosterEntry, partnership_roster, partnership_team_names
from storage.outbox import OutboundCall, direct_message, enqueue
from storage.rituals import RitualSnapshot


def ask_key(round_id: int, member_id: int) -> str:
    return f"pulse-ask:{round_id}:{member_id}"


def remind_key(round_id: int, member_id: int) -> str:
    return f"pulse-remind:{round_id}:{member_id}"


def _to_ask(
    roster: list[RosterEntry], occurrences: list[WonOccurrence], default_tz: str
) -> list[tuple[RosterEntry, str, bool]]:
    """(member, month, is a reminder) for each member on their pulse or reminder day."""
    by_member = {e.member_id: e for e in roster}
    chosen: list[tuple[RosterEntry, str, bool]] = []
    for occurrence in occurrences:
        people = (
            [by_member[occurrence.member_id]]
            if occurrence.member_id in by_member
            else roster
            if occurrence.member_id is None
            else []
        )
        for entry in people:
            zone, _ = zone_or_default(entry.tz or occurrence.tz, default_tz)
            local = occurrence.fire_at.astimezone(zone).date()
            ask = occurrence.member_id is None or local == second_to_last_working_day(
                local.year, local.month
            )
            remind = not ask and local == last_working_day(local.year, local.month)
            away = entry.away_until is not None and entry.away_until >= local
            opted_out = RitualKind.PULSE.value in entry.opted_out
            if (ask or remind) and entry.active and not away and not opted_out:
                chosen.append((entry, month_key(local), remind))
    return chosen


def build_pulse(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> None:
    roster = partnership_roster(session, ritual.partnership_id)
    chosen = _to_ask(roster, occurrences, ritual.timezone)
    if not chosen:
        return
    teams = partnership_team_names(session, ritual.partnership_id)
    partnership = session.get(Partnership, ritual.partnership_id)
    if partnership is None:
        return
    zone = balance_timezone(partnership)
    calls: list[OutboundCall] = []
    for month in sorted({m for _, m, _ in chosen}):
        entries = [(e, remind) for e, m, remind in chosen if m == month]
        found = pulse.find_round(session, ritual.partnership_id, month)
        closes_at = month_bounds(int(month[:4]), int(month[5:]), zone)[1]
        if (found is not None and found.is_over(now)) or now >= closes_at:
            continue
        keys = [ask_key(found.id, e.member_id) for e, _ in entries] if found else []
        already = set(outbox_keys_since(session, keys))
        new = [e for e, remind in entries if not remind]
        if found is not None:
            new = [e for e in new if ask_key(found.id, e.member_id) not in already]
        round_ = pulse.open_round(
            session,
            ritual.partnership_id,
            month,
            dict(Counter(e.team_id for e in new)),
            closes_at,
        )
        jobs.enqueue(session, close_job(ritual.workspace_id, ritual.partnership_id, round_), now)
        answered = pulse.respondents(session, round_.id)
        for entry, remind in entries:
            if remind and (
                entry.member_id in answered or ask_key(round_.id, entry.member_id) not in already
            ):
                continue  # answered already, or never asked
            if not remind and entry not in new:
                continue
            other = " and ".join(n for t, n in teams.items() if t != entry.team_id) or "the others"
            key = (remind_key if remind else ask_key)(round_.id, entry.member_id)
            message = ask_message(round_.id, other, reminder=remind)
            calls.append(direct_message(key, entry.slack_user_id, message))
    enqueue(session, calls, now, ritual.workspace_id)
