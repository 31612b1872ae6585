"""The KPI check-in ritual's builder: prompts, one reminder, and the board's weekly refresh.

The ritual fires twice a week by default (Monday and Thursday, 10:00). For
each KPI without a check-in in its current period (ISO week or month), the
first firing in the period DMs every owner; a later firing at least a day
after the prompts sends the one reminder; after that the KPI shows as
missing on the board. Owners who are away are not prompted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.kpi.board import queue_board
from bot.kpi.views import prompt
from rituals.kpi import period_of
from rituals.zones import zone_or_default
from storage import kpis
from storage.occurrences import WonOccurrence
from storage.org import partnership_roster
from storage.outbox import OutboundCall, enqueue
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
    zone, _ = zone_or_default(occurrences[-1].tz, ritual.timezone)
    today = now.astimezone(zone).date()
    present = {
        e.member_id
        for e in partnership_roster(session, ritual.partnership_id)
        if e.active and (e.away_until is None or e.away_until < today)
    }
    states = kpis.states(session, partnership_id=ritual.partnership_id)
    calls: list[OutboundCall] = []
    for state in states:
        period = period_of(state.cadence, today)
        if state.latest_period == period or today > state.goal.target_date:
            continue
        owners = [o for o in state.owners if o.member_id in present]
        prompts = [prompt_key(state.id, period, o.member_id) for o in owners]
        reminders = [reminder_key(state.id, period, o.member_id) for o in owners]
        queued = kpis.outbox_keys_since(session, prompts + reminders)
        prompted = [queued[k] for k in prompts if k in queued]
        if not prompted:
            message, keys = prompt(state, reminder=False), prompts
        elif any(k in queued for k in reminders) or now - min(prompted) < REMIND_AFTER:
            continue
        else:
            message, keys = prompt(state, reminder=True), reminders
        calls += [
            OutboundCall(
                key,
                "chat.postMessage",
                {"channel": o.slack_user_id, **message},
                channel_key=o.slack_user_id,
            )
            for key, o in zip(keys, owners, strict=True)
        ]
    enqueue(session, calls, now, ritual.workspace_id)
    queue_board(session, ritual.workspace_id, ritual.partnership_id, ritual.channel_id, today, now)
