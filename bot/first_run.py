"""A partnership's first minutes: its starter rituals, what happens next, and setup from App Home.

`partnership add` (slash command) and the App Home setup form both end in
`start_partnership`, which writes the partnership, its four rituals and
their audit entries in the caller's transaction. What happens next is
computed from the rituals' schedules (`rituals.upcoming`) with the admin's
`now`, in the admin's own zone.

The setup form is answered in its ack (Slack closes or updates the modal
with it): validation errors inline, or the coming week. Reading the teams'
members from Slack can take longer than Slack waits, so it runs after the
ack, followed by the admin's Home.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.ritual_changes import add_starter_rituals
from bot.services import Services
from bot.views.ritual_edit import message_modal as setup_message
from bot.views.setup import (
    CHANNEL_ACTION,
    GROUP_ACTION,
    JOINT_BLOCK,
    LEADERS_ACTION,
    LEADERS_BLOCK,
    PAUSED_ACTION,
    PAUSED_BLOCK,
    PAUSED_VALUE,
    TEAM_SLOTS,
    TYPE_ACTION,
    TYPE_BLOCK,
    SetupDone,
    Usergroup,
    channel_block_id,
    done_view,
    group_block_id,
    setup_modal,
)
from rituals.commands import is_team_name
from rituals.interactions import InterdependenceType, RitualKind
from rituals.upcoming import PlannedRitual, next_steps, week_ahead
from rituals.zones import zone as lookup_zone
from storage import audit
from storage.db import transaction
from storage.org import NameTaken, add_partnership, describe_partnership, find_team
from storage.org import add_team as store_team
from storage.rituals import RitualSnapshot

log = logging.getLogger(__name__)

_USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,20}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
MAX_LEADERS = 20
NOT_ADMIN = "Only Tandem admins can set Tandem up; nothing was changed."
INVITE_HINT = "invite it with `/invite @Tandem` in that channel"


# --- what happens next -------------------------------------------------------------


def planned(rituals: Sequence[RitualSnapshot]) -> list[PlannedRitual]:
    found: list[PlannedRitual] = []
    for ritual in rituals:
        try:
            found.append(PlannedRitual(RitualKind(ritual.kind), ritual.schedule, ritual.paused))
        except (TypeError, ValueError):
            continue
    return found


def admin_zone(client: WebClient, user_id: str, default_tz: str) -> str:
    """The admin's IANA zone from their Slack profile, else the default."""
    try:
        tz = str(client.users_info(user=user_id)["user"].get("tz") or "")
    except SlackApiError:
        return default_tz
    return tz if tz and lookup_zone(tz) is not None else default_tz


def channel_problem(client: WebClient, channel_id: str) -> str | None:
    """Why Tandem cannot post in the channel, or None when it is a member."""
    try:
        channel = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        return (
            f"I can't see <#{channel_id}> (`{error.response.get('error')}`): {INVITE_HINT}, "
            "or pick another channel."
        )
    if not channel.get("is_member"):
        return f"Tandem is not in <#{channel_id}> yet: {INVITE_HINT}, then try again."
    return None


def setup_summary(
    started: Started, paused: bool, now: datetime, zone: str, default_tz: str
) -> SetupDone:
    """What the admin is told once a partnership has started: its next steps and week."""
    plan = planned(started.rituals)
    running = [PlannedRitual(p.kind, p.schedule) for p in plan]
    return SetupDone(
        partnership=started.name,
        channel_id=started.channel_id,
        interdependence=started.interdependence,
        teams=started.teams,
        next_steps=next_steps(running, now, zone, default_tz),
        week=tuple(week_ahead(running, now, zone, default_tz)),
        paused=paused,
        zone=zone,
    )


@dataclass(frozen=True, slots=True)
class Started:
    name: str
    channel_id: str
    interdependence: str
    teams: tuple[str, ...]
    rituals: tuple[RitualSnapshot, ...]


def start_partnership(
    session: Session,
    *,
    actor: str,
    workspace_id: int,
    name: str,
    team_names: Sequence[str],
    channel_id: str,
    leader_ids: Sequence[str],
    interdependence: InterdependenceType,
    paused: bool,
    default_tz: str,
    now: datetime,
) -> Started:
    """The partnership, its four rituals and their audit entries, in the caller's transaction."""
    partnership = add_partnership(
        session,
        workspace_id,
        name,
        team_names,
        channel_id,
        leader_ids,
        interdependence,
        now,
    )
    summary = describe_partnership(session, partnership)
    audit.record(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="partnership.add",
        target=f"partnership:{summary.name}",
        before=None,
        after={
            "teams": list(summary.team_names),
            "channel": summary.channel_id,
            "leaders": list(summary.leader_ids),
            "type": summary.interdependence_type,
        },
        now=now,
    )
    rituals = add_starter_rituals(
        session,
        actor=actor,
        workspace_id=workspace_id,
        partnership_id=partnership.id,
        default_tz=default_tz,
        now=now,
        paused=paused,
    )
    return Started(
        summary.name,
        summary.channel_id,
        summary.interdependence_type,
        tuple(summary.team_names),
        tuple(rituals),
    )


# --- the App Home form ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamPick:
    slot: str
    kind: str  # "usergroup" | "channel"
    slack_id: str


@dataclass(frozen=True, slots=True)
class SetupForm:
    teams: tuple[TeamPick, TeamPick]
    joint_channel: str
    leaders: tuple[str, ...]
    interdependence: InterdependenceType
    paused: bool


def _element(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    found = (values.get(block) or {}).get(action)
    return found if isinstance(found, dict) else {}


def _option_value(element: dict[str, Any]) -> str:
    option = element.get("selected_option")
    return str(option.get("value") or "") if isinstance(option, dict) else ""


def parse_form(values: dict[str, Any]) -> SetupForm | dict[str, str]:
    """The submitted form, or Slack's inline errors by block id; every id is checked for shape."""
    errors: dict[str, str] = {}
    picks: list[TeamPick] = []
    for number, slot in enumerate(TEAM_SLOTS, start=1):
        group = _option_value(_element(values, group_block_id(slot), GROUP_ACTION))
        channel = str(
            _element(values, channel_block_id(slot), CHANNEL_ACTION).get("selected_conversation")
            or ""
        )
        if group and channel:
            errors[channel_block_id(slot)] = (
                f"Pick team {number} by its user group or by a channel, not both."
            )
        elif group:
            if _USERGROUP_ID.match(group):
                picks.append(TeamPick(slot, "usergroup", group))
            else:
                errors[group_block_id(slot)] = "That is not a user group; pick one from the list."
        elif channel:
            if _CHANNEL_ID.match(channel):
                picks.append(TeamPick(slot, "channel", channel))
            else:
                errors[channel_block_id(slot)] = "Pick a channel (not a direct message)."
        else:
            errors[channel_block_id(slot)] = f"Pick team {number}: a user group or a channel."
    if len(picks) == 2 and (picks[0].kind, picks[0].slack_id) == (picks[1].kind, picks[1].slack_id):
        errors[channel_block_id("b")] = "The two teams must be different."
    joint = str(_element(values, JOINT_BLOCK, CHANNEL_ACTION).get("selected_conversation") or "")
    if not _CHANNEL_ID.match(joint):
        errors[JOINT_BLOCK] = "Pick the channel both teams share (not a direct message)."
    raw_leaders = _element(values, LEADERS_BLOCK, LEADERS_ACTION).get("selected_users")
    leaders = tuple(
        dict.fromkeys(str(u) for u in (raw_leaders if isinstance(raw_leaders, list) else []))
    )
    if not leaders or len(leaders) > MAX_LEADERS or not all(_USER_ID.match(u) for u in leaders):
        errors[LEADERS_BLOCK] = f"Pick between 1 and {MAX_LEADERS} people."
    try:
        kind = InterdependenceType(_option_value(_element(values, TYPE_BLOCK, TYPE_ACTION)))
    except ValueError:
        errors[TYPE_BLOCK] = "Pick how the teams depend on each other."
        kind = InterdependenceType.RECIPROCAL
    ticked = _element(values, PAUSED_BLOCK, PAUSED_ACTION).get("selected_options")
    paused = isinstance(ticked, list) and any(
        isinstance(o, dict) and o.get("value") == PAUSED_VALUE for o in ticked
    )
    if errors:
        return errors
    return SetupForm((picks[0], picks[1]), joint, leaders, kind, paused)


def _usable_name(*candidates: str) -> str | None:
    for candidate in candidates:
        name = " ".join(candidate.split())
        if name and is_team_name(name):
            return name
    return None


class FirstRun:
    """App Home's "Set up Tandem": open the form, check it, start everything in one step."""

    def __init__(self, services: Services, is_admin: Callable[[WebClient, str], bool]) -> None:
        self.services = services
        self.is_admin = is_admin

    def usergroups(self, client: WebClient) -> list[Usergroup]:
        """The workspace's user groups for the form; none when Slack won't list them."""
        try:
            groups = client.usergroups_list()["usergroups"] or []
        except SlackApiError as error:
            log.info("usergroups.list refused: %s", error.response.get("error"))
            return []
        found = [
            Usergroup(str(g["id"]), f"{g.get('name') or g.get('handle')} (@{g.get('handle')})")
            for g in groups
            if isinstance(g, dict) and _USERGROUP_ID.match(str(g.get("id") or ""))
        ]
        return sorted(found, key=lambda g: g.label.lower())

    def open_form(self, body: dict[str, Any], client: WebClient) -> None:
        user_id = str(body["user"]["id"])
        if not self.is_admin(client, user_id):
            view = setup_message("Set up Tandem", NOT_ADMIN)
        else:
            view = setup_modal(self.usergroups(client))
        try:
            client.views_open(trigger_id=str(body.get("trigger_id", "")), view=view)
        except SlackApiError as error:
            log.warning("setup form did not open: %s", error.response.get("error"))

    def submit(self, ack: Callable[..., Any], body: dict[str, Any], client: WebClient) -> None:
        """Check the form, create everything, and answer with the coming week (or the errors)."""
        user_id = str(body["user"]["id"])
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        if not self.is_admin(client, user_id):
            ack(response_action="errors", errors={JOINT_BLOCK: NOT_ADMIN})
            return
        form = parse_form(values if isinstance(values, dict) else {})
        if isinstance(form, dict):
            ack(response_action="errors", errors=form)
            return
        problem = channel_problem(client, form.joint_channel)
        if problem:
            ack(response_action="errors", errors={JOINT_BLOCK: _plain(problem)})
            return
        named = self._team_names(client, form)
        if isinstance(named, dict):
            ack(response_action="errors", errors=named)
            return
        team_id = _team_id(body)
        workspace_id = self.services.workspace_id(team_id)
        now = utcnow()
        default_tz = self.services.settings.default_timezone
        try:
            with transaction(self.services.sessions) as session:
                for pick, name in zip(form.teams, named, strict=True):
                    self._team(session, workspace_id, user_id, pick, name, now)
                started = start_partnership(
                    session,
                    actor=user_id,
                    workspace_id=workspace_id,
                    name=" + ".join(named),
                    team_names=named,
                    channel_id=form.joint_channel,
                    leader_ids=form.leaders,
                    interdependence=form.interdependence,
                    paused=form.paused,
                    default_tz=default_tz,
                    now=now,
                )
        except _TeamClash as clash:
            ack(response_action="errors", errors={clash.block: str(clash)})
            return
        except NameTaken as taken:
            ack(
                response_action="errors",
                errors={JOINT_BLOCK: f"A partnership called {taken} already exists."},
            )
            return
        zone = admin_zone(client, user_id, default_tz)
        done = setup_summary(started, form.paused, now, zone, default_tz)
        ack(response_action="update", view=done_view(done))

    def _team_names(self, client: WebClient, form: SetupForm) -> tuple[str, ...] | dict[str, str]:
        """A name for each picked team, read from Slack (never from what the form sent)."""
        groups: dict[str, dict[str, Any]] = {}
        if any(p.kind == "usergroup" for p in form.teams):
            try:
                groups = {str(g["id"]): g for g in client.usergroups_list()["usergroups"] or []}
            except SlackApiError:
                groups = {}
        names: list[str] = []
        errors: dict[str, str] = {}
        for pick in form.teams:
            if pick.kind == "usergroup":
                group = groups.get(pick.slack_id)
                name = (
                    _usable_name(str(group.get("name") or ""), str(group.get("handle") or ""))
                    if group
                    else None
                )
                block = group_block_id(pick.slot)
            else:
                block = channel_block_id(pick.slot)
                try:
                    channel = client.conversations_info(channel=pick.slack_id)["channel"]
                    name = _usable_name(str(channel.get("name") or ""))
                except SlackApiError as error:
                    errors[block] = (
                        f"I can't read that channel ({error.response.get('error')}): "
                        "invite Tandem to it with /invite @Tandem, or pick a user group."
                    )
                    continue
            if name is None:
                errors[block] = "I can't read a usable name for that team; pick another."
                continue
            names.append(name)
        if not errors and names[0].lower() == names[1].lower():
            names[1] = f"{names[1]} 2"
        return errors or tuple(names)

    def _team(
        self,
        session: Session,
        workspace_id: int,
        actor: str,
        pick: TeamPick,
        name: str,
        now: datetime,
    ) -> None:
        existing = find_team(session, workspace_id, name)
        if existing is not None:
            if (existing.source_kind, existing.source_id) == (pick.kind, pick.slack_id):
                return
            block = (
                group_block_id(pick.slot)
                if pick.kind == "usergroup"
                else channel_block_id(pick.slot)
            )
            raise _TeamClash(block, f"A team called {name} already exists with other members.")
        team = store_team(session, workspace_id, name, pick.kind, pick.slack_id, now)
        audit.record(
            session,
            workspace_id=workspace_id,
            actor=actor,
            action="team.add",
            target=f"team:{team.name}",
            before=None,
            after={"name": team.name, "source": f"{team.source_kind}:{team.source_id}"},
            now=now,
        )


class _TeamClash(Exception):
    def __init__(self, block: str, message: str) -> None:
        super().__init__(message)
        self.block = block


def _plain(text: str) -> str:
    """Modal errors are plain text: channel links become words, code marks go."""
    return re.sub(r"<#[A-Z0-9]+>", "that channel", text).replace("`", "")


def _team_id(body: dict[str, Any]) -> str:
    return str(
        body.get("team_id")
        or (body.get("team") or {}).get("id")
        or (body.get("user") or {}).get("team_id")
        or ""
    )
