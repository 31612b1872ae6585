"""The KPI check-in ritual's builder: prompts, one reminder, and the board's weekly refresh.

The ritual fires twice a week by default (Monday and Thursday, 10:00 in each
owner's own time). For each KPI without a check-in in its current period
(ISO week or month, in the owner's calendar), the first firing in the period
DMs the owner; a later firing at least a day after the prompt sends the one
reminder; after that the KPI shows as missing on the board. Owners who are
away are not prompted. A ritual kept in one zone (or run by hand) prompts
every owner at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.kpi.board import queue_board
from bot.kpi.views import prompt
from rituals.kpi import period_of
from rituals.zones import zone_or_default
from storage import kpis
from storage.occurrences import WonOccurrence
from storage.org import partnership_roster
from storage.outbox import OutboundCall, direct_message, enqueue
from storage.rituals import RitualSnapshot

REMIND_AFTER = timedelta(days=1)


def prompt_key(kpi_id: int, period: str, member_id: int) -> str:
    return f"kpi-prompt:{kpi_id}:{period}:{member_id}"


def reminder_key(kpi_id: int, period: str, member_id: int) -> str:
    return f"kpi-remind:{kpi_id}:{period}:{member_id}"


def build_checkins(
    session: Session, ritual: RitualSnapshot, occurrences: list[WonOccurrence], now: datetime
) -> None:
    if not occurrences:
        return
    roster = {e.member_id: e for e in partnership_roster(session, ritual.partnership_id)}
    # Whose turn it is, with their local date: one member per member-local occurrence,
    # every owner at once when the ritual fires in one zone (or is run by hand).
    everyone: date | None = None
    local_days: dict[int, date] = {}
    for occurrence in occurrences:
        zone, _ = zone_or_default(occurrence.tz, ritual.timezone)
        day = occurrence.fire_at.astimezone(zone).date()
        if occurrence.member_id is None:
            everyone = day
        else:
            local_days[occurrence.member_id] = day

    def today_of(member_id: int) -> date | None:
        entry = roster.get(member_id)
        if entry is None or not entry.active:
            return None
        day = local_days.get(member_id, everyone)
        if day is None or (entry.away_until is not None and entry.away_until >= day):
            return None
        return day

    calls: list[OutboundCall] = []
    for state in kpis.states(session, partnership_id=ritual.partnership_id):
        due: list[tuple[kpis.Owner, date]] = []
        for owner in state.owners:
            local = today_of(owner.member_id)
            if local is None or local > state.goal.target_date:
                continue
            if state.latest_period != period_of(state.cadence, local):
                due.append((owner, local))
        if not due:
            continue
        keys = {
            o.member_id: (
                prompt_key(state.id, period_of(state.cadence, day), o.member_id),
                reminder_key(state.id, period_of(state.cadence, day), o.member_id),
            )
            for o, day in due
        }
        queued = kpis.outbox_keys_since(session, [k for pair in keys.values() for k in pair])
        for owner, _ in due:
            first, second = keys[owner.member_id]
            if first not in queued:
                key, message = first, prompt(state, reminder=False)
            elif second not in queued and now - queued[first] >= REMIND_AFTER:
                key, message = second, prompt(state, reminder=True)
            else:
                continue
            calls.append(direct_message(key, owner.slack_user_id, message))
    enqueue(session, calls, now, ritual.workspace_id)
    zone, _ = zone_or_default(ritual.timezone, "UTC")
    board_day = now.astimezone(zone).date() if everyone is None else everyone
    queue_board(
        session, ritual.workspace_id, ritual.partnership_id, ritual.channel_id, board_day, now
    )
