"""`/tandem admin …`: who may use it, and what each setup command does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin_rituals import RITUAL_COMMANDS, AdminRitualCommands
from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.first_run import admin_zone, channel_problem, setup_summary, start_partnership
from bot.holidays import holiday_command
from bot.services import Services
from bot.standup import admin_notes
from bot.sync import TELL_DM, team_sync_job
from bot.views.admin import admin_help, outbox_status, partnership_list, team_list
from bot.views.common import notice
from bot.views.setup import started_reply
from bot.views.standup import with_admin_notes
from rituals.commands import (
    AddHoliday,
    AddPartnership,
    AddTeam,
    AdminHelp,
    AdminStatus,
    InvalidCommand,
    ListHolidays,
    ListPartnerships,
    ListTeams,
    RemoveHoliday,
    RemovePartnership,
    RemoveTeam,
    SyncTeams,
    parse_admin,
)
from rituals.slack_text import echo, escape
from storage import audit, jobs, outbox
from storage.db import transaction
from storage.org import (
    InUse,
    NameTaken,
    NotFound,
    add_team,
    find_team,
    list_partnerships,
    list_teams,
    remove_partnership,
    remove_team,
)

RESYNC_HINT = "Membership is re-read from Slack every hour and on `/tandem admin team sync`."
REFUSAL = (
    "Only Tandem admins can change the setup: workspace admins and owners, and the people "
    "listed in TANDEM_ADMIN_USER_IDS. Ask one of them, or see `/tandem help` for what you can do."
)
# A workspace admin who loses (or gains) the role is treated so within this many seconds.
ADMIN_TTL_SECONDS = 60.0


class AdminCheck:
    """Workspace admins/owners (from users.info) plus the configured ids, cached briefly."""

    def __init__(
        self, configured: frozenset[str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._configured = configured
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, client: WebClient, user_id: str) -> bool:
        if user_id in self._configured:
            return True
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and self._clock() - hit[1] < ADMIN_TTL_SECONDS:
            return hit[0]
        asked_at = self._clock()
        try:
            user = client.users_info(user=user_id)["user"]
        except SlackApiError:
            return False
        allowed = bool(user.get("is_admin") or user.get("is_owner")) and not user.get("deleted")
        with self._lock:
            self._cache[user_id] = (allowed, asked_at)
        return allowed


def status_counts(services: Services, workspace_id: int | None = None) -> dict[str, int]:
    """Outbox rows still to send or given up on: pending, retrying and dead."""
    with services.sessions() as session:
        found = outbox.counts(session, workspace_id)
    return {"pending": found.pending, "retrying": found.retrying, "dead": found.dead}


def _request_key(req: CommandRequest, now: datetime) -> str:
    """What makes this command's job unique: Slack's trigger id (replays are dropped by it)."""
    return req.trigger_id or f"{req.user_id}:{now.isoformat()}"


class AdminCommands:
    def __init__(self, services: Services, is_admin: AdminCheck) -> None:
        self.services = services
        self.is_admin = is_admin
        self.rituals = AdminRitualCommands(services)

    def __call__(self, req: CommandRequest) -> Reply:
        if not self.is_admin(req.client, req.user_id):
            return notice(REFUSAL)
        parsed = parse_admin(req.text)
        if isinstance(parsed, InvalidCommand):
            return notice(parsed.message, hint="`/tandem admin help` lists every admin command.")
        if isinstance(parsed, AdminHelp):
            return admin_help()
        if isinstance(parsed, RITUAL_COMMANDS):
            return self.rituals(req, parsed)
        if isinstance(parsed, AdminStatus):
            workspace_id = req.workspace_id
            with self.services.sessions() as session:
                dead = outbox.dead_rows(session, limit=5, workspace_id=workspace_id)
            reply = outbox_status(status_counts(self.services, workspace_id), dead)
            return with_admin_notes(reply, admin_notes(self.services, workspace_id, utcnow()))
        return self._change(req, parsed)

    def _change(self, req: CommandRequest, parsed: Any) -> Reply:
        workspace_id = req.workspace_id
        now = utcnow()
        if isinstance(parsed, AddHoliday | RemoveHoliday | ListHolidays):
            return holiday_command(self.services, req, parsed)
        try:
            if isinstance(parsed, ListTeams):
                with self.services.sessions() as session:
                    return team_list(list_teams(session, workspace_id))
            if isinstance(parsed, ListPartnerships):
                with self.services.sessions() as session:
                    return partnership_list(list_partnerships(session, workspace_id))
            if isinstance(parsed, SyncTeams):
                return self._sync_teams(req, parsed, workspace_id, now)
            if isinstance(parsed, AddTeam):
                return self._add_team(req, parsed, workspace_id, now)
            if isinstance(parsed, RemoveTeam):
                with transaction(self.services.sessions) as session:
                    team = remove_team(session, workspace_id, parsed.name)
                    audit.record(
                        session,
                        workspace_id=workspace_id,
                        actor=req.user_id,
                        action="team.remove",
                        target=f"team:{team.name}",
                        before={
                            "name": team.name,
                            "source": f"{team.source_kind}:{team.source_id}",
                        },
                        after=None,
                        now=now,
                    )
                return notice(f"Removed team *{team.name}*.")
            if isinstance(parsed, AddPartnership):
                return self._add_partnership(req, parsed, workspace_id, now)
            if isinstance(parsed, RemovePartnership):
                with transaction(self.services.sessions) as session:
                    found = remove_partnership(session, workspace_id, parsed.name)
                    audit.record(
                        session,
                        workspace_id=workspace_id,
                        actor=req.user_id,
                        action="partnership.remove",
                        target=f"partnership:{found.name}",
                        before={"name": found.name, "channel": found.channel_id},
                        after=None,
                        now=now,
                    )
                return notice(f"Removed partnership *{found.name}* and its rituals.")
        except NotFound as exc:
            return notice(
                f"I can't find `{echo(str(exc))}`.",
                hint="`/tandem admin team list` shows what exists.",
            )
        except NameTaken as exc:
            return notice(
                f"`{echo(str(exc))}` already exists; pick another name or remove the old one first."
            )
        except InUse as exc:
            return notice(f"That team is still part of: {exc}. Remove the partnership first.")
        raise AssertionError(f"unhandled admin command {parsed!r}")

    def _add_team(
        self, req: CommandRequest, parsed: AddTeam, workspace_id: int, now: datetime
    ) -> Reply:
        with transaction(self.services.sessions) as session:
            team = add_team(
                session, workspace_id, parsed.name, parsed.source.kind, parsed.source.slack_id, now
            )
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=req.user_id,
                action="team.add",
                target=f"team:{team.name}",
                before=None,
                after={"name": team.name, "source": f"{team.source_kind}:{team.source_id}"},
                now=now,
            )
            job = team_sync_job(
                workspace_id,
                req.user_id,
                _request_key(req, now),
                team=team.name,
                tell=TELL_DM,
                added=True,
            )
            jobs.enqueue(session, job, now)
        return notice(
            f"Added team *{echo(parsed.name)}*. I'm reading its members from Slack and will "
            "send you a direct message when it's done.",
            hint=RESYNC_HINT,
        )

    def _sync_teams(
        self, req: CommandRequest, parsed: SyncTeams, workspace_id: int, now: datetime
    ) -> Reply:
        """Queue the sync as a durable job: reading Slack can take minutes for a large group."""
        with transaction(self.services.sessions) as session:
            if parsed.name is None:
                team = None
                found = bool(list_teams(session, workspace_id))
            else:
                named = find_team(session, workspace_id, parsed.name)
                team = named.name if named is not None else None
                found = named is not None
            if not found:
                return notice(
                    f"No team called `{echo(parsed.name)}`."
                    if parsed.name
                    else "There are no teams yet.",
                    hint="`/tandem admin team add Marketing @marketing` defines one.",
                )
            key = _request_key(req, now)
            jobs.enqueue(
                session, team_sync_job(workspace_id, req.user_id, key, team=team, tell=TELL_DM), now
            )
        which = f"*{escape(team)}*'s members" if team else "every team's members"
        return notice(f"Syncing {which} from Slack; I'll send you a direct message when it's done.")

    def _add_partnership(
        self, req: CommandRequest, parsed: AddPartnership, workspace_id: int, now: datetime
    ) -> Reply:
        default_tz = self.services.settings.default_timezone
        with transaction(self.services.sessions) as session:
            started = start_partnership(
                session,
                actor=req.user_id,
                workspace_id=workspace_id,
                name=parsed.name,
                team_names=parsed.team_names,
                channel_id=parsed.channel_id,
                leader_ids=parsed.leader_ids,
                interdependence=parsed.interdependence,
                paused=parsed.paused,
                default_tz=default_tz,
                now=now,
            )
        zone = admin_zone(req.client, req.user_id, default_tz)
        done = setup_summary(started, parsed.paused, now, zone, default_tz)
        problem = channel_problem(req.client, started.channel_id)
        return started_reply(done, problem)
