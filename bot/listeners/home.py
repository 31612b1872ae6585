"""App Home: opening the tab, the member's switches, and the admins' buttons and ritual forms.

Every admin action, button or form, asks AdminCheck again: a view is only
what Slack was shown, and anyone can send a payload naming an admin action.
A refused or failed action changes nothing and says why: on the Home tab (a
line at the top of the republished Home) or inline in the form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import payloads
from bot.admin import AdminCheck
from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.first_run import FirstRun
from bot.home import publish_home
from bot.listeners.answered import answered
from bot.member_commands import OPT_KINDS, MemberCommands
from bot.ritual_changes import RitualChangeError, RitualChanges, words
from bot.ritual_form import (
    CHANNEL_BLOCK,
    PRESET_BLOCK,
    TIMEZONE_BLOCK,
    FormErrors,
    check,
    initial_state,
    preview,
    state_from_values,
)
from bot.services import Services
from bot.sync import team_sync_job
from bot.views.home import (
    ADD_ACTION,
    AWAY_ACTION,
    BACK_ACTION,
    DELETE_ACTION,
    EDIT_ACTION,
    OPT_ACTION,
    OPT_CHOICES,
    PAUSE_ACTION,
    RESUME_ACTION,
    RUN_NOW_ACTION,
    SYNC_ACTION,
)
from bot.views.ritual_edit import (
    ADD_CALLBACK,
    EDIT_CALLBACK,
    KIND_BLOCK,
    PREVIEW_ACTIONS,
    USUAL_PRESET,
    EditContext,
    Preview,
    add_modal,
    edit_modal,
    message_modal,
)
from bot.views.setup import SETUP_ACTION, SETUP_CALLBACK
from rituals.interactions import RitualKind
from rituals.schedule import MEMBER_LOCAL, validate_timezone
from storage import home as home_store
from storage import jobs
from storage import rituals as ritual_store
from storage.db import transaction
from storage.home import has_partnership
from storage.rituals import RitualSnapshot

log = logging.getLogger(__name__)

REFUSAL = "Only Tandem admins can change rituals; nothing was changed."
_WHAT = {
    PAUSE_ACTION: "pause rituals",
    RESUME_ACTION: "resume rituals",
    RUN_NOW_ACTION: "run rituals",
    DELETE_ACTION: "delete rituals",
    EDIT_ACTION: "edit rituals",
    ADD_ACTION: "add rituals",
    SYNC_ACTION: "sync teams",
    SETUP_ACTION: "set Tandem up",
}


def refusal(body: dict[str, Any]) -> str:
    """What a non-admin is told, naming what they tried."""
    what = _WHAT.get(str(_action(body).get("action_id")), "change rituals")
    return f"Only Tandem admins can {what}; nothing was changed."


_NAME_OF_KIND = {kind.value: name for name, kind in OPT_KINDS.items()}


def _team_id(body: dict[str, Any]) -> str:
    return str(
        body.get("team_id")
        or (body.get("team") or {}).get("id")
        or (body.get("user") or {}).get("team_id")
        or ""
    )


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return payloads.first_action(body)


def _ritual_id(body: dict[str, Any]) -> int | None:
    return payloads.row_id(_action(body).get("value"))


def _notice(reply: Reply) -> str | None:
    return str(reply.get("text")) if reply else None


class HomeListeners:
    """The Home tab's handlers; `register` wires them to Bolt."""

    def __init__(self, services: Services, is_admin: AdminCheck) -> None:
        self.services = services
        self.is_admin = is_admin
        self.changes = RitualChanges(services)
        self.members = MemberCommands(services)

    # --- publishing ---------------------------------------------------------------

    def refresh(
        self, client: WebClient, team_id: str, user_id: str, notice: str | None = None
    ) -> None:
        publish_home(
            self.services,
            self.services.workspace_id(team_id),
            user_id,
            is_admin=self.is_admin(client, user_id),
            now=utcnow(),
            notice=notice,
        )

    def _refresh_saved(self, client: WebClient, team_id: str, user_id: str, notice: str) -> None:
        """The Home refresh after a saved form: the save is committed whatever happens here."""
        try:
            self.refresh(client, team_id, user_id, notice)
        except Exception:
            log.exception("App Home refresh after a saved form failed")

    def opened(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        self.refresh(client, _team_id(body), str(event["user"]))

    # --- the member's switches ----------------------------------------------------

    def _request(self, body: dict[str, Any], client: WebClient, text: str) -> CommandRequest:
        return CommandRequest(
            user_id=str(body["user"]["id"]),
            slack_team_id=_team_id(body),
            channel_id="",
            text=text,
            trigger_id=str(body.get("trigger_id", "")),
            client=client,
            services=self.services,
        )

    def opt(self, body: dict[str, Any], client: WebClient) -> None:
        """The checkboxes: opt in to the ticked rituals and out of the others."""
        user_id = str(body["user"]["id"])
        picked = payloads.option_values(_action(body).get("selected_options") or [])
        if picked is None:
            self.refresh(client, _team_id(body), user_id, "Nothing changed: please tick again.")
            return
        ticked = set(picked)
        with self.services.sessions() as session:
            facts = home_store.member_facts(
                session, self.services.workspace_id(_team_id(body)), user_id
            )
        opted_out = set(facts.opted_out) if facts is not None else set()
        notes: list[str] = []
        for kind, _ in OPT_CHOICES:
            name = _NAME_OF_KIND[kind]
            if kind in ticked and kind in opted_out:
                reply = self.members.optin(self._request(body, client, name))
            elif kind not in ticked and kind not in opted_out:
                reply = self.members.optout(self._request(body, client, name))
            else:
                continue
            if note := _notice(reply):
                notes.append(note)
        self.refresh(client, _team_id(body), user_id, " ".join(notes) or None)

    def away(self, body: dict[str, Any], client: WebClient) -> None:
        """The date picker: a date sets time away; a cleared picker ends it."""
        picked = _action(body).get("selected_date")
        request = self._request(body, client, str(picked or ""))
        reply = self.members.away(request) if picked else self.members.back(request)
        self.refresh(client, _team_id(body), request.user_id, _notice(reply))

    def back(self, body: dict[str, Any], client: WebClient) -> None:
        request = self._request(body, client, "")
        reply = self.members.back(request)
        self.refresh(client, _team_id(body), request.user_id, _notice(reply))

    # --- admin buttons --------------------------------------------------------------

    def admin_button(
        self,
        body: dict[str, Any],
        client: WebClient,
        act: Callable[[str, int, int], str],
    ) -> None:
        """A ritual button: check the presser, do it, and show the outcome on their Home."""
        user_id = str(body["user"]["id"])
        team_id = _team_id(body)
        if not self.is_admin(client, user_id):
            log.warning("refused admin action %s from %s", _action(body).get("action_id"), user_id)
            self.refresh(client, team_id, user_id, refusal(body))
            return
        ritual_id = _ritual_id(body)
        if ritual_id is None:
            self.refresh(
                client, team_id, user_id, "That button carried no ritual; nothing changed."
            )
            return
        try:
            notice = act(user_id, self.services.workspace_id(team_id), ritual_id)
        except RitualChangeError as error:
            notice = str(error)
        self.refresh(client, team_id, user_id, notice)

    def pause(self, actor: str, workspace_id: int, ritual_id: int) -> str:
        stopped = self.changes.pause(actor, workspace_id, ritual_id, utcnow())
        return (
            f"Paused {words(stopped.ritual)}: it stops from the next tick. "
            + stopped.withdrawn_words()
        )

    def resume(self, actor: str, workspace_id: int, ritual_id: int) -> str:
        done = self.changes.resume(actor, workspace_id, ritual_id, utcnow())
        return f"Resumed {words(done)}: it runs again from its next slot."

    def run_now(self, actor: str, workspace_id: int, ritual_id: int) -> str:
        result = self.changes.run_now(actor, workspace_id, ritual_id, utcnow())
        return result.message()

    def delete(self, actor: str, workspace_id: int, ritual_id: int) -> str:
        deleted = self.changes.delete(actor, workspace_id, ritual_id, utcnow())
        return f"Deleted {words(deleted.ritual)}. " + deleted.withdrawn_words()

    def sync(self, body: dict[str, Any], client: WebClient) -> None:
        """Queue the sync as a durable job (it reads all of Slack's teams); the Home says so."""
        user_id = str(body["user"]["id"])
        team_id = _team_id(body)
        if not self.is_admin(client, user_id):
            self.refresh(client, team_id, user_id, refusal(body))
            return
        workspace_id = self.services.workspace_id(team_id)
        request_key = str(body.get("trigger_id") or _action(body).get("action_ts") or utcnow())
        with transaction(self.services.sessions) as session:
            jobs.enqueue(session, team_sync_job(workspace_id, user_id, request_key), utcnow())
        self.refresh(
            client, team_id, user_id, "Syncing teams from Slack; the result shows here shortly."
        )

    def queue_setup_sync(self, body: dict[str, Any], client: WebClient) -> None:
        """After a first-run setup was saved: the team sync job, whose result shows on the Home."""
        user_id = str(body["user"]["id"])
        workspace_id = self.services.workspace_id(_team_id(body))
        with self.services.sessions() as session:
            if not has_partnership(session, workspace_id):
                return  # the form was refused: nothing to read
        if not self.is_admin(client, user_id):
            return
        request_key = str(body.get("trigger_id") or (body.get("view") or {}).get("id") or "")
        with transaction(self.services.sessions) as session:
            jobs.enqueue(session, team_sync_job(workspace_id, user_id, request_key), utcnow())

    # --- forms -----------------------------------------------------------------------

    def open_edit(self, body: dict[str, Any], client: WebClient) -> None:
        user_id = str(body["user"]["id"])
        team_id = _team_id(body)
        if not self.is_admin(client, user_id):
            self.refresh(client, team_id, user_id, refusal(body))
            return
        ritual_id = _ritual_id(body) or 0
        workspace_id = self.services.workspace_id(team_id)
        try:
            ritual = self.changes.get(workspace_id, ritual_id)
            view = self._edit_view(workspace_id, ritual)
        except RitualChangeError as error:
            view = message_modal("Ritual not found", str(error))
        self._open(client, body, view)

    def _edit_view(self, workspace_id: int, ritual: RitualSnapshot) -> dict[str, Any]:
        with self.services.sessions() as session:
            [line] = home_store.partnership_lines(session, workspace_id, ritual.partnership_id)
        state = initial_state(
            ritual.kind,
            ritual.cron,
            ritual.timezone,
            ritual.ritual_channel_id,
            ritual.settings,
            line.settings,
            line.leader_ids,
        )
        context = EditContext(ritual.id, ritual.version, ritual.kind)
        return edit_modal(context, line.name, state, self._preview(state, ritual.settings))

    def _preview(self, state: Any, settings: dict[str, Any]) -> Preview:
        times, zone, problem = preview(
            state, settings, self.services.settings.default_timezone, utcnow()
        )
        return Preview(times, zone, problem)

    def redraw(self, body: dict[str, Any], client: WebClient) -> None:
        """A schedule input changed: redraw the form with a fresh preview (the direct answer)."""
        view = body.get("view") or {}
        context = EditContext.load(str(view.get("private_metadata") or ""))
        user_id = str(body["user"]["id"])
        if context is None or view.get("callback_id") != EDIT_CALLBACK:
            return
        if not self.is_admin(client, user_id):
            return
        workspace_id = self.services.workspace_id(_team_id(body))
        try:
            ritual = self.changes.get(workspace_id, context.ritual_id)
        except RitualChangeError as error:
            self._update(client, view, message_modal("Ritual not found", str(error)))
            return
        with self.services.sessions() as session:
            [line] = home_store.partnership_lines(session, workspace_id, ritual.partnership_id)
        values = (view.get("state") or {}).get("values") or {}
        state = state_from_values(context.kind, values)
        self._update(
            client,
            view,
            edit_modal(context, line.name, state, self._preview(state, ritual.settings)),
        )

    def submit_edit(self, ack: Callable[..., Any], body: dict[str, Any], client: WebClient) -> None:
        view = body["view"]
        user_id = str(body["user"]["id"])
        context = EditContext.load(str(view.get("private_metadata") or ""))

        def refuse(message: str, block: str = PRESET_BLOCK) -> None:
            ack(response_action="errors", errors={block: message})

        if context is None:
            refuse("This form is out of date; close it and open the ritual again.")
            return
        if not self.is_admin(client, user_id):
            log.warning("refused a ritual edit form from %s", user_id)
            refuse(REFUSAL)
            return
        team_id = _team_id(body)
        workspace_id = self.services.workspace_id(team_id)
        try:
            ritual = self.changes.get(workspace_id, context.ritual_id)
        except RitualChangeError as error:
            refuse(str(error))
            return
        with self.services.sessions() as session:
            [line] = home_store.partnership_lines(session, workspace_id, ritual.partnership_id)
        state = state_from_values(context.kind, (view.get("state") or {}).get("values") or {})
        checked = check(context.kind, state, ritual.settings, line.interdependence_type)
        if isinstance(checked, FormErrors):
            ack(response_action="errors", errors=checked.errors)
            return
        if checked.channel_id and (problem := _channel_problem(client, checked.channel_id)):
            refuse(problem, CHANNEL_BLOCK)
            return
        try:
            saved = self.changes.save_edit(
                user_id, workspace_id, context.ritual_id, context.version, checked, utcnow()
            )
        except RitualChangeError as error:
            refuse(str(error))
            return
        self._refresh_saved(client, team_id, user_id, f"Saved {words(saved)}.")
        ack()

    def open_add(self, body: dict[str, Any], client: WebClient) -> None:
        user_id = str(body["user"]["id"])
        team_id = _team_id(body)
        if not self.is_admin(client, user_id):
            self.refresh(client, team_id, user_id, refusal(body))
            return
        partnership_id = _ritual_id(body) or 0
        workspace_id = self.services.workspace_id(team_id)
        with self.services.sessions() as session:
            lines = home_store.partnership_lines(session, workspace_id, partnership_id)
            taken = {r.kind for r in ritual_store.list_for_partnership(session, partnership_id)}
        if not lines:
            view = message_modal("Partnership gone", "That partnership no longer exists.")
        else:
            kinds = [k.value for k in RitualKind if k.value not in taken]
            view = (
                add_modal(lines[0].id, lines[0].name, kinds)
                if kinds
                else message_modal(
                    "Nothing to add", "This partnership already runs one ritual of every kind."
                )
            )
        self._open(client, body, view)

    def submit_add(self, ack: Callable[..., Any], body: dict[str, Any], client: WebClient) -> None:
        view = body["view"]
        user_id = str(body["user"]["id"])
        values = (view.get("state") or {}).get("values") or {}
        if not self.is_admin(client, user_id):
            ack(response_action="errors", errors={KIND_BLOCK: REFUSAL})
            return

        def picked(block: str) -> dict[str, Any]:
            actions = values.get(block) or {}
            return dict(next(iter(actions.values()), {}) or {})

        kind_value = str((picked(KIND_BLOCK).get("selected_option") or {}).get("value") or "")
        preset = str((picked(PRESET_BLOCK).get("selected_option") or {}).get("value") or "")
        zone = str(picked(TIMEZONE_BLOCK).get("value") or "").strip() or None
        try:
            kind = RitualKind(kind_value)
        except ValueError:
            ack(response_action="errors", errors={KIND_BLOCK: "Pick a kind."})
            return
        if zone is not None and zone != MEMBER_LOCAL and (problem := validate_timezone(zone)):
            ack(response_action="errors", errors={TIMEZONE_BLOCK: problem})
            return
        team_id = _team_id(body)
        try:
            partnership = str(payloads.metadata_id(_metadata(view).get("partnership")) or 0)
            created = self.changes.add(
                user_id,
                self.services.workspace_id(team_id),
                partnership,
                kind,
                None if preset in ("", USUAL_PRESET) else preset,
                zone,
                utcnow(),
            )
        except (RitualChangeError, ValueError, TypeError) as error:
            ack(response_action="errors", errors={KIND_BLOCK: str(error)})
            return
        self._refresh_saved(client, team_id, user_id, f"Added {words(created)}.")
        ack()

    # --- Slack calls that answer the click itself --------------------------------------

    @staticmethod
    def _open(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as error:
            log.warning("ritual form did not open: %s", error.response.get("error"))

    @staticmethod
    def _update(client: WebClient, current: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            client.views_update(view_id=str(current.get("id")), hash=current.get("hash"), view=view)
        except SlackApiError as error:
            # hash_conflict: a newer keystroke's redraw got there first, which is fine.
            log.info("ritual form not redrawn: %s", error.response.get("error"))


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    return payloads.metadata(view.get("private_metadata")) or {}


def _channel_problem(client: WebClient, channel_id: str) -> str | None:
    """Why the ritual cannot post in this channel, or None."""
    try:
        channel = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        return f"I can't see that channel (`{error.response.get('error')}`); pick another one."
    if not channel.get("is_member"):
        return "Tandem is not in that channel: invite it with `/invite @Tandem`, or pick another."
    return None


def _button(listeners: HomeListeners, act: Callable[[str, int, int], str]) -> Callable[..., None]:
    """The work of one ritual button (Bolt fills arguments by name, so no extras)."""

    def press(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.admin_button(body, client, act)

    return press


def register(app: App, services: Services) -> None:
    listeners = HomeListeners(services, AdminCheck(services.settings.admin_user_ids))

    def home_opened(event, body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.opened(event, body, client)

    def opt(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.opt(body, client)

    def away(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.away(body, client)

    def back(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.back(body, client)

    app.event("app_home_opened")(answered(home_opened))
    app.action(OPT_ACTION)(answered(opt))
    app.action(AWAY_ACTION)(answered(away))
    app.action(BACK_ACTION)(answered(back))

    ritual_buttons = {
        PAUSE_ACTION: listeners.pause,
        RESUME_ACTION: listeners.resume,
        RUN_NOW_ACTION: listeners.run_now,
        DELETE_ACTION: listeners.delete,
    }
    for action_id, act in ritual_buttons.items():
        app.action(action_id)(answered(_button(listeners, act)))

    def sync(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.sync(body, client)

    def edit(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.open_edit(body, client)

    def add(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.open_add(body, client)

    def changed(body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.redraw(body, client)

    app.action(SYNC_ACTION)(answered(sync))
    app.action(EDIT_ACTION)(answered(edit))
    app.action(ADD_ACTION)(answered(add))
    for action_id in PREVIEW_ACTIONS:
        app.action(action_id)(answered(changed))

    @app.view(EDIT_CALLBACK)
    def edit_submitted(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.submit_edit(ack, body, client)

    @app.view(ADD_CALLBACK)
    def add_submitted(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        listeners.submit_add(ack, body, client)

    first_run = FirstRun(services, listeners.is_admin)

    def open_setup(body, client) -> None:  # type: ignore[no-untyped-def]
        first_run.open_form(body, client)

    def setup_submitted(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        first_run.submit(ack, body, client)
        # Reading the new teams from Slack is a durable job, queued before the answer leaves.
        listeners.queue_setup_sync(body, client)

    app.action(SETUP_ACTION)(answered(open_setup))
    app.view(SETUP_CALLBACK)(setup_submitted)
