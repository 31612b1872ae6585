"""Slack entry points for joint KPIs: the `/tandem kpi` subcommand and the kudos button."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin import AdminCheck
from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.kpi.service import KpiRequest, KpiService
from bot.kpi.views import KUDOS_ACTION_ID
from bot.kudos import KudosService, Refused
from bot.listeners.lazy import acked
from bot.services import Services
from bot.views.common import notice
from bot.views.kudos import notice_modal
from rituals.slack_text import is_user_id, record_id
from storage import kpis

log = logging.getLogger(__name__)


def _now() -> datetime:
    """The clock, looked up at each call so tests pin it in one place."""
    return utcnow()


def service_for(services: Services) -> KpiService:
    return KpiService(
        services.sessions,
        AdminCheck(services.settings.admin_user_ids),
        services.settings.default_timezone,
        _now,
    )


def command(services: Services) -> Any:
    """The `kpi` handler for the /tandem router."""
    service = service_for(services)

    def kpi(req: CommandRequest) -> Reply:
        return notice(
            service.handle(KpiRequest(req.workspace_id, req.user_id, req.text, req.client))
        )

    return kpi


def open_kudos(services: Services, client: WebClient, body: dict[str, Any]) -> None:
    """The celebration's button: the kudos form with the KPI's owners filled in."""
    try:
        kpi_id = record_id(body["actions"][0]["value"])
        user_id = str(body["user"]["id"])
        trigger_id = str(body["trigger_id"])
    except (KeyError, IndexError, TypeError):
        return
    if kpi_id is None or not is_user_id(user_id):
        return
    team_id = str((body.get("team") or {}).get("id") or "")
    workspace_id = services.workspace_id(team_id)
    with services.sessions() as session:
        found = kpis.states(session, kpi_ids=[kpi_id])
    if not found:
        return
    state = found[0]
    owners = [o.slack_user_id for o in state.owners if o.slack_user_id != user_id]
    channel_id = str((body.get("channel") or {}).get("id") or "")
    view = KudosService(services).form(
        workspace_id,
        user_id,
        channel_id,
        initial_users=owners,
        partnership_id=state.partnership_id,
    )
    if isinstance(view, Refused):
        view = notice_modal(view.message)
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("kudos form for a KPI did not open: %s", exc.response.get("error"))


def register(app: App, services: Services) -> None:
    def kudos_for_kpi(body, client) -> None:  # type: ignore[no-untyped-def]
        open_kudos(services, client, body)

    app.action(KUDOS_ACTION_ID)(**acked(kudos_for_kpi))
