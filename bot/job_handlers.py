"""The kinds of durable job and the code that finishes each one (bot.jobs runs them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin import AdminCheck
from bot.home import publish_home
from bot.jobs import MAX_ATTEMPTS, Handler
from bot.pulse.closing import PULSE_CLOSE, run_close
from bot.ritual_changes import RitualChanges
from bot.services import Services
from bot.sync import TEAM_SYNC, TELL_DM, TELL_HOME, TELL_NOBODY, SyncResult, sync_teams
from bot.views.admin import sync_report
from bot.views.common import notice
from rituals.slack_text import escape
from storage import jobs, outbox
from storage.db import transaction

CHANNEL_HINT = "For a channel, invite me with `/invite @Tandem`, then `/tandem admin team sync`."
RESYNC_HINT = "Membership is re-read from Slack every hour and on `/tandem admin team sync`."


def _members(count: int) -> str:
    return f"{count} member{'s' if count != 1 else ''}"


def _outcome(team: str | None, added: bool, results: list[SyncResult]) -> dict[str, Any]:
    if added:
        count = results[0].members if results else 0
        return notice(
            f"Added team *{escape(team or '')}* with {_members(count)}.", hint=RESYNC_HINT
        )
    if not results:
        return notice(
            f"Team *{escape(team)}* no longer exists; nothing was synced."
            if team
            else "There are no teams to sync."
        )
    report = sync_report(results)
    summary = ", ".join(f"{r.team} {r.members} (+{r.added} / -{r.removed})" for r in results)
    return {**report, "text": f"Synced: {summary}"}


def _failure(team: str | None, added: bool, error: str) -> dict[str, Any]:
    which = f"*{escape(team)}*" if team else "the teams"
    if added:
        return notice(
            f"Added team {which}, but I couldn't read its members yet (`{escape(error)}`).",
            hint=CHANNEL_HINT,
        )
    return notice(f"Sync of {which} failed: Slack said `{escape(error)}`. Nothing changed.")


def run_team_sync(
    services: Services, client: WebClient, job: jobs.ClaimedJob, now: datetime
) -> None:
    """Sync (safe to repeat), then tell the admin: on their Home, or by DM through the outbox.

    A rate limit that outlasted the client's retries, or any other failure,
    is raised so that the runner tries again later; on the last attempt the
    admin is told it failed before the job is marked dead.
    """
    assert job.workspace_id is not None
    if job.payload.get("tell") == TELL_NOBODY:
        sync_teams(services, client, job.workspace_id)  # failures: retried, then dead
        return
    actor = str(job.payload["actor"])
    team = job.payload.get("team")
    added = bool(job.payload.get("added"))
    last_attempt = job.attempts + 1 >= MAX_ATTEMPTS
    try:
        if added:
            results = sync_teams(services, client, job.workspace_id, team)
        else:
            results = RitualChanges(services).sync(actor, job.workspace_id, client, now, only=team)
        message = _outcome(team, added, results)
    except SlackApiError as error:
        code = str(error.response.get("error") or "unknown")
        if code == "ratelimited" and not last_attempt:
            raise
        message = _failure(team, added, code)
    except Exception as error:
        if last_attempt:
            _tell(services, client, job, now, _failure(team, added, type(error).__name__))
        raise
    _tell(services, client, job, now, message)


def _tell(
    services: Services,
    client: WebClient,
    job: jobs.ClaimedJob,
    now: datetime,
    message: dict[str, Any],
) -> None:
    assert job.workspace_id is not None
    actor = str(job.payload["actor"])
    if job.payload.get("tell", TELL_HOME) == TELL_DM:
        # One DM per job, whichever run gets here first: the key makes a rerun a no-op.
        call = outbox.direct_message(f"{job.idempotency_key}:told", actor, message)
        with transaction(services.sessions) as session:
            outbox.enqueue(session, call, now, job.workspace_id)
        return
    is_admin = AdminCheck(services.settings.admin_user_ids)(client, actor)
    text = str(message.get("text", ""))
    publish_home(services, job.workspace_id, actor, is_admin=is_admin, now=now, notice=text)


HANDLERS: dict[str, Handler] = {TEAM_SYNC: run_team_sync, PULSE_CLOSE: run_close}
