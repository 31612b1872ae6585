"""Slack entry points for joint KPIs: `/tandem kpi`, the App Home forms and the kudos button."""

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
from bot.kpi import form
from bot.kpi.service import KpiRequest, KpiService
from bot.kpi.views import (
    CHECKIN_ACTION_ID,
    CHECKIN_CALLBACK_ID,
    KUDOS_ACTION_ID,
    NOTE_BLOCK,
    VALUE_BLOCK,
    checkin_modal,
)
from bot.kpi.views import notice_modal as kpi_notice
from bot.kudos import KudosService
from bot.listeners.answered import answered
from bot.services import Services
from bot.views.common import notice
from bot.views.kudos import notice_modal
from rituals.commands import InvalidCommand
from rituals.kpi_commands import AddKpi, EditKpi, RemoveKpi, parse, parse_number
from rituals.refusal import Refusal
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
    if isinstance(view, Refusal):
        view = notice_modal(view.message)
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("kudos form for a KPI did not open: %s", exc.response.get("error"))


def open_checkin(services: Services, client: WebClient, body: dict[str, Any]) -> None:
    """The prompt's "Check in" button: the form, for the KPI's owners."""
    try:
        kpi_id = record_id(body["actions"][0]["value"])
        user_id = str(body["user"]["id"])
        trigger_id = str(body["trigger_id"])
    except (KeyError, IndexError, TypeError):
        return
    if kpi_id is None or not is_user_id(user_id):
        return
    with services.sessions() as session:
        found = kpis.states(session, kpi_ids=[kpi_id])
    if not found:
        view = kpi_notice("This KPI is no longer tracked; see `/tandem kpi`.")
    elif user_id not in {o.slack_user_id for o in found[0].owners}:
        view = kpi_notice("Only the KPI's owners check in on it.")
    else:
        view = checkin_modal(found[0])
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("KPI check-in form did not open: %s", exc.response.get("error"))


def _input(values: dict[str, Any], block: str) -> str | None:
    element = (values.get(block) or {}).get("value") or {}
    found = element.get("value") if isinstance(element, dict) else None
    return found if isinstance(found, str) or found is None else None


def submit_checkin(services: Services, service: KpiService, ack: Any, body: dict[str, Any]) -> None:
    """Recorded in the request: the form closes only once the reading is stored."""
    view = body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    kpi_id = record_id(view.get("private_metadata"))
    raw, note = _input(values, VALUE_BLOCK), _input(values, NOTE_BLOCK)
    if kpi_id is None or not isinstance(values, dict):
        ack(response_action="update", view=kpi_notice("The form could not be read."))
        return
    value = parse_number((raw or "").strip())
    if value is None:
        ack(response_action="errors", errors={VALUE_BLOCK: "Give a number, e.g. 12.5."})
        return
    user_id = str((body.get("user") or {}).get("id") or "")
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    done, message = service.check_in(workspace_id, user_id, value, note or "", kpi_id=kpi_id)
    if not done:
        ack(response_action="errors", errors={VALUE_BLOCK: plain(message)})
        return
    ack(response_action="update", view=kpi_notice(message))


def _allowed(
    services: Services, is_admin: AdminCheck, client: WebClient, workspace_id: int, user_id: str
) -> list[kpis.PartnershipInfo]:
    """The partnerships this person may define KPIs for: all for admins, else those they lead."""
    with services.sessions() as session:
        every = kpis.partnerships(session, workspace_id)
    if is_admin(client, user_id):
        return every
    return [p for p in every if user_id in p.leader_ids]


def open_form(
    services: Services, is_admin: AdminCheck, client: WebClient, body: dict[str, Any]
) -> None:
    user_id = str((body.get("user") or {}).get("id") or "")
    trigger_id = str(body.get("trigger_id") or "")
    if not is_user_id(user_id) or not trigger_id:
        return
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    allowed = _allowed(services, is_admin, client, workspace_id, user_id)
    view = (
        form.modal(allowed)
        if allowed
        else kpi_notice("Only admins and the partnership's leaders can define joint KPIs.")
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("KPI form did not open: %s", exc.response.get("error"))


def submit_form(
    services: Services,
    service: KpiService,
    is_admin: AdminCheck,
    ack: Any,
    client: WebClient,
    body: dict[str, Any],
) -> None:
    """Recorded in the request: the form closes only once the KPI is stored."""
    user_id = str((body.get("user") or {}).get("id") or "")
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    allowed = (
        _allowed(services, is_admin, client, workspace_id, user_id) if is_user_id(user_id) else []
    )
    read = form.command_text(body.get("view") or {}, allowed)
    if isinstance(read, str):
        ack(response_action="errors", errors={"name": read})
        return
    command = parse(read[1])
    if not isinstance(command, AddKpi):
        message = (
            command.message
            if isinstance(command, InvalidCommand)
            else "The form could not be read."
        )
        ack(response_action="errors", errors={"name": plain(message)})
        return
    added, message = service.add_checked(
        KpiRequest(workspace_id, user_id, read[1], client), command
    )
    if not added:
        ack(response_action="errors", errors={"name": plain(message)})
        return
    ack(response_action="update", view=kpi_notice(message))


def open_edit(
    services: Services, is_admin: AdminCheck, client: WebClient, body: dict[str, Any]
) -> None:
    """App Home's "Edit a joint KPI": first pick one of the KPIs this person may change."""
    user_id = str((body.get("user") or {}).get("id") or "")
    trigger_id = str(body.get("trigger_id") or "")
    if not is_user_id(user_id) or not trigger_id:
        return
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    allowed = _allowed(services, is_admin, client, workspace_id, user_id)
    states: list[kpis.KpiState] = []
    with services.sessions() as session:
        for partnership in allowed:
            states += kpis.states(session, partnership_id=partnership.id)
    if not allowed:
        view = kpi_notice("Only admins and the partnership's leaders can change joint KPIs.")
    elif not states:
        view = kpi_notice("There is no joint KPI to edit yet: add one first.")
    else:
        view = form.pick_modal(states, allowed)
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("KPI edit form did not open: %s", exc.response.get("error"))


def submit_pick(
    services: Services, is_admin: AdminCheck, ack: Any, client: WebClient, body: dict[str, Any]
) -> None:
    """The KPI picked: the form turns into that KPI, filled in."""
    user_id = str((body.get("user") or {}).get("id") or "")
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    kpi_id = form.picked_kpi(body.get("view") or {})
    allowed = (
        _allowed(services, is_admin, client, workspace_id, user_id) if is_user_id(user_id) else []
    )
    with services.sessions() as session:
        found = kpis.states(session, kpi_ids=[kpi_id]) if kpi_id is not None else []
    where = [p for p in allowed if found and p.id == found[0].partnership_id]
    if not found or not where:
        ack(response_action="errors", errors={"kpi": "You can no longer change this KPI."})
        return
    ack(response_action="update", view=form.edit_modal(found[0], where[0]))


def submit_edit(
    services: Services,
    service: KpiService,
    is_admin: AdminCheck,
    ack: Any,
    client: WebClient,
    body: dict[str, Any],
) -> None:
    """Recorded in the request: the form closes only once the change is stored."""
    user_id = str((body.get("user") or {}).get("id") or "")
    workspace_id = services.workspace_id(str((body.get("team") or {}).get("id") or ""))
    allowed = (
        _allowed(services, is_admin, client, workspace_id, user_id) if is_user_id(user_id) else []
    )
    read = form.edit_command_text(body.get("view") or {}, allowed)
    if isinstance(read, str):
        ack(response_action="errors", errors={"name": read})
        return
    command = parse(read[1])
    if isinstance(command, EditKpi):
        done, message = service.manager.edit(workspace_id, user_id, client, command)
    elif isinstance(command, RemoveKpi):
        done, message = service.manager.remove(workspace_id, user_id, client, command)
    else:
        done = False
        message = (
            command.message
            if isinstance(command, InvalidCommand)
            else "The form could not be read."
        )
    if not done:
        ack(response_action="errors", errors={"name": plain(message)})
        return
    ack(response_action="update", view=kpi_notice(message))


def plain(message: str) -> str:
    """A reply without mrkdwn, for a form's inline error (Slack shows it as plain text)."""
    return message.replace("*", "").replace("`", "")[:300]


def register(app: App, services: Services) -> None:
    is_admin = AdminCheck(services.settings.admin_user_ids)
    service = service_for(services)

    def kudos_for_kpi(body, client) -> None:  # type: ignore[no-untyped-def]
        open_kudos(services, client, body)

    def kpi_form(body, client) -> None:  # type: ignore[no-untyped-def]
        open_form(services, is_admin, client, body)

    def add_from_form(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        submit_form(services, service, is_admin, ack, client, body)

    def kpi_edit_form(body, client) -> None:  # type: ignore[no-untyped-def]
        open_edit(services, is_admin, client, body)

    def pick_from_form(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        submit_pick(services, is_admin, ack, client, body)

    def edit_from_form(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        submit_edit(services, service, is_admin, ack, client, body)

    def checkin_form(body, client) -> None:  # type: ignore[no-untyped-def]
        open_checkin(services, client, body)

    def checkin_from_form(ack, body) -> None:  # type: ignore[no-untyped-def]
        submit_checkin(services, service, ack, body)

    app.action(CHECKIN_ACTION_ID)(answered(checkin_form))
    app.view(CHECKIN_CALLBACK_ID)(checkin_from_form)
    app.action(KUDOS_ACTION_ID)(answered(kudos_for_kpi))
    app.action(form.OPEN_ACTION_ID)(answered(kpi_form))
    app.action(form.EDIT_OPEN_ACTION_ID)(answered(kpi_edit_form))
    app.view(form.CALLBACK_ID)(add_from_form)
    app.view(form.PICK_CALLBACK_ID)(pick_from_form)
    app.view(form.EDIT_CALLBACK_ID)(edit_from_form)
