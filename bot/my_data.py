"""`/tandem mydata` and `/tandem forget me`: a member's own data, sent to them or erased.

The export is a JSON file queued through the outbox like the digest's chart:
a direct message to the member, and under it the file, uploaded into the
conversation that message landed in. Forgetting is described first and done
only on `/tandem forget me confirm`; see storage.member_data for why the
leaders' figures do not move.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.outbox import FILES_UPLOAD_V2, file_upload
from bot.services import Services
from bot.shadowing import notify_departures
from bot.views.common import notice
from rituals.commands import InvalidCommand, parse_forget, parse_mydata
from storage import member_data
from storage.db import transaction
from storage.outbox import OutboundCall, enqueue, from_parent

# One export per member in this span: each is a file and a row holding its bytes.
EXPORT_COOLDOWN = timedelta(minutes=10)
EXPORT_FORMAT = "tandem-member-data"
EXPORT_VERSION = 1
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")

NOTHING_KEPT = "Tandem keeps no data about you: you're not in any team it runs rituals for."
ON_ITS_WAY = (
    "Your data is on its way: I'm sending it to you as a JSON file in a direct message "
    "from Tandem. It may take a minute."
)
FORGET_WARNING = (
    "*Forget me* erases what Tandem keeps about you:\n"
    "• your standup answers, the reflections of your shadowing sessions and the notes of "
    "your KPI check-ins are deleted (the values stay in the KPI's history, by no one);\n"
    "• your profile (name, time zone, time away, opt-outs) is deleted, and you leave "
    "your teams in Tandem and stop owning joint KPIs;\n"
    "• in the record of who helped whom you are replaced by an anonymous placeholder, so "
    "the leaders' team totals stay right and name nobody.\n"
    "Messages already posted in Slack (kudos, standup answers in the joint channel) stay "
    "in Slack: Tandem cannot unsend them.\n"
    "Tandem will not add you back from a team's Slack group: it keeps only a one-way hash "
    "of your Slack id, to recognise and skip you. This cannot be undone; `/tandem mydata` "
    "gets you a copy first."
)
FORGET_CONFIRM_HINT = "To go ahead, send `/tandem forget me confirm`."
FORGOTTEN = (
    "Done: Tandem has forgotten you. Your answers, reflections and profile are deleted and "
    "the record of who helped whom now holds an anonymous placeholder instead of you. "
    "Kudos messages already posted stay in Slack."
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def export_document(data: member_data.MemberData, now: datetime, slack_team_id: str) -> bytes:
    """The file the member gets: their data as JSON, with what it is and when it was made."""
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now,
        "workspace": slack_team_id,
        **asdict(data),
    }
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=2).encode("utf-8")


def export_calls(user_id: str, key: str, content: bytes, now: datetime) -> list[OutboundCall]:
    """A DM saying what the file is, and the file under it in the same conversation."""
    filename = f"tandem-data-{user_id}-{now:%Y%m%d-%H%M%S}.json"
    upload = file_upload("", content, filename, title="Your Tandem data")
    upload["channel"] = from_parent("channel")
    return [
        OutboundCall(
            idempotency_key=key,
            method="chat.postMessage",
            payload={
                "channel": user_id,
                "text": (
                    f"Here is everything Tandem keeps about you, as of {now:%d %b %Y %H:%M} UTC "
                    "(`/tandem mydata`)."
                ),
                "unfurl_links": False,
            },
            channel_key=user_id,
        ),
        OutboundCall(
            idempotency_key=f"{key}:file",
            method=FILES_UPLOAD_V2,
            payload=upload,
            channel_key=user_id,
            parent_key=key,
        ),
    ]


class MyDataCommands:
    def __init__(self, services: Services, clock: Callable[[], datetime] | None = None) -> None:
        self.services = services
        self._clock = clock

    def clock(self) -> datetime:
        return self._clock() if self._clock is not None else utcnow()

    def mydata(self, req: CommandRequest) -> Reply:
        parsed = parse_mydata(req.text)
        if isinstance(parsed, InvalidCommand):
            return notice(parsed.message)
        if not _USER_ID.match(req.user_id):
            return notice(NOTHING_KEPT)
        now = self.clock()
        with transaction(self.services.sessions) as session:
            member_id = member_data.find_member_id(session, req.workspace_id, req.user_id)
            data = None if member_id is None else member_data.member_data(session, member_id)
            if data is None:
                return notice(NOTHING_KEPT)
            last = member_data.last_export_at(session, req.workspace_id, req.user_id)
            if last is not None and now - last < EXPORT_COOLDOWN:
                again = last + EXPORT_COOLDOWN
                return notice(
                    f"I already sent you your data at {last:%H:%M} UTC (look in your direct "
                    f"messages from Tandem). You can ask for a fresh copy after {again:%H:%M} UTC."
                )
            key = member_data.export_key_prefix(req.workspace_id, req.user_id) + now.strftime(
                "%Y%m%dT%H%M%S.%f"
            )
            content = export_document(data, now, req.slack_team_id)
            member_data.drop_finished_exports(session, req.workspace_id, req.user_id)
            enqueue(session, export_calls(req.user_id, key, content, now), now, req.workspace_id)
        return notice(ON_ITS_WAY)

    def forget(self, req: CommandRequest) -> Reply:
        parsed = parse_forget(req.text)
        if isinstance(parsed, InvalidCommand):
            return notice(parsed.message)
        if not _USER_ID.match(req.user_id):
            return notice(NOTHING_KEPT)
        if not parsed.confirmed:
            return notice(FORGET_WARNING, hint=FORGET_CONFIRM_HINT)
        now = self.clock()
        with transaction(self.services.sessions) as session:
            member_id = member_data.find_member_id(session, req.workspace_id, req.user_id)
            if member_id is None:
                return notice(NOTHING_KEPT)
            # Shadowing partners hear the pairing is off while the member still has a name.
            member_data.leave_all_teams(session, member_id, now)
            notify_departures(session, now)
            member_data.forget_member(session, req.workspace_id, req.user_id, now)
        return notice(FORGOTTEN)
