"""The kinds of durable job and the code that finishes each one (bot.jobs runs them)."""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin import AdminCheck
from bot.home import publish_home
from bot.jobs import Handler
from bot.pulse.closing import PULSE_CLOSE, run_close
from bot.ritual_changes import RitualChanges
from bot.services import Services
from storage import jobs

TEAM_SYNC = "team_sync"


def team_sync_job(workspace_id: int, actor: str, request_key: str) -> jobs.NewJob:
    """Re-read every team from Slack for `actor`, who then sees the outcome on their Home."""
    return jobs.NewJob(
        idempotency_key=f"{TEAM_SYNC}:{workspace_id}:{request_key}",
        kind=TEAM_SYNC,
        payload={"actor": actor},
        workspace_id=workspace_id,
    )


def run_team_sync(
    services: Services, client: WebClient, job: jobs.ClaimedJob, now: datetime
) -> None:
    """Sync (safe to repeat), then show the result on the admin's Home through the outbox."""
    assert job.workspace_id is not None
    actor = str(job.payload["actor"])
    try:
        results = RitualChanges(services).sync(actor, job.workspace_id, client, now)
        notice = "Synced: " + (
            ", ".join(f"{r.team} {r.members} (+{r.added} / -{r.removed})" for r in results)
            or "there are no teams yet."
        )
    except SlackApiError as error:
        notice = f"Sync failed: Slack said `{error.response.get('error')}`. Nothing changed."
    is_admin = AdminCheck(services.settings.admin_user_ids)(client, actor)
    publish_home(services, job.workspace_id, actor, is_admin=is_admin, now=now, notice=notice)


HANDLERS: dict[str, Handler] = {TEAM_SYNC: run_team_sync, PULSE_CLOSE: run_close}
