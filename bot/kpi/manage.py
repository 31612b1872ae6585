"""Changing joint KPIs: edit, remove and restore, by admins and the partnership's leaders.

Every change is written to the audit log with what it was before and after,
in the same transaction as the change and the board's next revision. Undo
is cheap on purpose: an edit's answer spells out the command that puts the
old values back, and a removal only sets `removed_at` (the check-ins stay),
so `/tandem kpi restore NAME` brings the KPI back as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.kpi.board import queue_board
from rituals.kpi import (
    Direction,
    Goal,
    format_value,
    reached_milestone,
    validate_goal,
)
from rituals.kpi_commands import EditKpi, RemoveKpi, RestoreKpi
from rituals.slack_text import echo, escape
from storage import audit, kpis
from storage.db import transaction
from storage.kudos import known_people

AdminTest = Callable[[WebClient, str], bool]
NOT_ALLOWED = "Only admins and the partnership's leaders can change joint KPIs."


def owners_for(
    session: Session,
    workspace_id: int,
    partnership: kpis.PartnershipInfo,
    owner_ids: tuple[str, ...],
) -> tuple[tuple[int, int | None], ...] | str:
    """(member id, team id) of each owner, or why they cannot own a KPI of this partnership."""
    people = known_people(session, workspace_id, partnership.id, owner_ids)
    strangers = [u for u in owner_ids if u not in people or people[u].team_id is None]
    if strangers:
        return "Owners must be in one of the partnership's teams; not: " + ", ".join(
            f"<@{u}>" for u in strangers
        )
    if len({people[u].team_id for u in owner_ids}) < 2:
        return "A joint KPI needs owners from at least two teams of the partnership."
    return tuple((people[u].member_id, people[u].team_id) for u in owner_ids)


@dataclass(frozen=True, slots=True)
class Target:
    """The KPI a change is about, and the partnership it belongs to."""

    partnership: kpis.PartnershipInfo
    kpi_id: int


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"'


class KpiManager:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        is_admin: AdminTest,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._is_admin = is_admin
        self._clock = clock

    def _find(
        self,
        session: Session,
        workspace_id: int,
        user_id: str,
        client: WebClient,
        name: str,
        partnership: str | None,
        *,
        removed: bool = False,
    ) -> Target | str:
        every = kpis.partnerships(session, workspace_id)
        if partnership:
            every = [p for p in every if p.name.lower() == partnership.lower()]
            if not every:
                return f"There is no partnership named `{echo(partnership)}`."
        found = [
            (p, kpi_id)
            for p in every
            if (kpi_id := kpis.find_id(session, [p.id], name, removed=removed)) is not None
        ]
        what = "removed KPI" if removed else "KPI"
        if not found:
            return f"No partnership has a {what} named `{echo(name)}`; see `/tandem kpi`."
        if len(found) > 1:
            return f'Several partnerships have a {what} named `{echo(name)}`: add `partnership="Name"`.'
        target, kpi_id = found[0]
        if user_id not in target.leader_ids and not self._is_admin(client, user_id):
            return NOT_ALLOWED
        return Target(target, kpi_id)

    # --- edit ---------------------------------------------------------------------

    def edit(
        self, workspace_id: int, user_id: str, client: WebClient, cmd: EditKpi
    ) -> tuple[bool, str]:
        """(changed, what to tell the person)."""
        now = self._clock()
        with transaction(self._sessions) as session:
            found = self._find(session, workspace_id, user_id, client, cmd.name, cmd.partnership)
            if isinstance(found, str):
                return False, found
            [state] = kpis.states(session, kpi_ids=[found.kpi_id])
            before = _fields(state)
            wanted = {
                "name": cmd.new_name,
                "unit": cmd.unit,
                "direction": cmd.direction.value if cmd.direction else None,
                "baseline": cmd.baseline,
                "target": cmd.target,
                "target_date": cmd.target_date,
                "cadence": cmd.cadence.value if cmd.cadence else None,
            }
            changes = {f: v for f, v in wanted.items() if v is not None and v != before[f]}
            after = {**before, **changes}
            goal = Goal(
                float(after["baseline"]),
                float(after["target"]),
                state.goal.start,
                after["target_date"],
                Direction(after["direction"]),
            )
            problem = validate_goal(goal)
            if problem:
                return False, problem
            if "target_date" in changes and goal.target_date <= now.date():
                return False, "The new target date must be after today."
            owners: tuple[tuple[int, int | None], ...] | None = None
            old_owners = [o.slack_user_id for o in state.owners]
            if cmd.owner_ids is not None and sorted(cmd.owner_ids) != sorted(old_owners):
                checked = owners_for(session, workspace_id, found.partnership, cmd.owner_ids)
                if isinstance(checked, str):
                    return False, checked
                owners = checked
            if not changes and owners is None:
                return False, f"*{escape(state.name)}* already reads like that: nothing changed."
            goal_moved = any(f in changes for f in ("baseline", "target", "direction"))
            celebrated = None
            if goal_moved:
                # Milestones count on the new line: those already passed are not celebrated again.
                reached = None if state.latest is None else reached_milestone(goal, state.latest, 0)
                celebrated = reached or 0
            try:
                kpis.edit_kpi(session, found.kpi_id, changes, owners, celebrated, now)
            except kpis.KpiNameTaken as taken:
                which = "a removed KPI" if taken.removed else "a KPI"
                return (
                    False,
                    f"{escape(found.partnership.name)} already has {which} named `{escape(str(cmd.new_name))}`.",
                )
            was = {f: _plain(before[f]) for f in changes}
            now_is = {f: _plain(v) for f, v in changes.items()}
            if owners is not None:
                was["owners"] = old_owners
                now_is["owners"] = list(cmd.owner_ids or ())
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=user_id,
                action="kpi.edit",
                target=f"kpi:{found.kpi_id}",
                before=was,
                after=now_is,
                now=now,
            )
            p = found.partnership
            queue_board(session, workspace_id, p.id, p.channel_id, now.date(), now)
        name = str(after["name"])
        said = [_describe(f, before[f], changes[f], str(after["unit"])) for f in changes]
        undo = []
        if changes:
            undo.append(f"`{_undo_command(name, before, changes)}`")
        if owners is not None:
            said.append("owners: " + ", ".join(f"<@{u}>" for u in cmd.owner_ids or ()))
            undo.append("owners back to " + ", ".join(f"<@{u}>" for u in old_owners))
        return True, (
            f"Changed *{escape(name)}*: {'; '.join(said)}. To undo: {' and '.join(undo)}."
        )

    # --- remove and restore ---------------------------------------------------------

    def remove(
        self, workspace_id: int, user_id: str, client: WebClient, cmd: RemoveKpi
    ) -> tuple[bool, str]:
        return self._set_removed(workspace_id, user_id, client, cmd.name, cmd.partnership, True)

    def restore(
        self, workspace_id: int, user_id: str, client: WebClient, cmd: RestoreKpi
    ) -> tuple[bool, str]:
        return self._set_removed(workspace_id, user_id, client, cmd.name, cmd.partnership, False)

    def _set_removed(
        self,
        workspace_id: int,
        user_id: str,
        client: WebClient,
        name: str,
        partnership: str | None,
        remove: bool,
    ) -> tuple[bool, str]:
        now = self._clock()
        with transaction(self._sessions) as session:
            found = self._find(
                session, workspace_id, user_id, client, name, partnership, removed=not remove
            )
            if isinstance(found, str):
                return False, found
            if not kpis.set_removed(session, found.kpi_id, now if remove else None):
                return False, "Someone changed it meanwhile; see `/tandem kpi`."
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=user_id,
                action="kpi.remove" if remove else "kpi.restore",
                target=f"kpi:{found.kpi_id}",
                before={"removed": not remove},
                after={"removed": remove, "name": name},
                now=now,
            )
            p = found.partnership
            queue_board(session, workspace_id, p.id, p.channel_id, now.date(), now)
        if remove:
            return True, (
                f"Removed *{escape(name)}* from {escape(found.partnership.name)}: no more "
                "prompts, and the board no longer shows it. Its check-ins are kept; to undo: "
                f"`/tandem kpi restore {_quoted(name)}`."
            )
        return True, f"Restored *{escape(name)}*: back on the board, with its check-ins."


def _fields(state: kpis.KpiState) -> dict[str, Any]:
    return {
        "name": state.name,
        "unit": state.unit,
        "direction": state.goal.direction.value,
        "baseline": state.goal.baseline,
        "target": state.goal.target,
        "target_date": state.goal.target_date,
        "cadence": state.cadence.value,
    }


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _describe(field: str, old: object, new: object, unit: str) -> str:
    def shown(value: object) -> str:
        if isinstance(value, float):
            return format_value(value, unit)
        if isinstance(value, date):
            return f"{value:%d %b %Y}"
        return escape(str(value)) if value != "" else "none"

    label = {"target_date": "target date", "direction": "better is"}.get(field, field)
    return f"{label} {shown(old)} → {shown(new)}"


def _undo_command(name: str, before: dict[str, Any], changes: dict[str, Any]) -> str:
    """The edit that puts the changed fields back (owners are said apart: they are mentions)."""
    words = [f"/tandem kpi edit {_quoted(name)}"]
    for field in changes:
        old = before[field]
        if field == "name":
            words.append(f"name={_quoted(str(old))}")
        elif field in ("direction", "cadence"):
            words.append(str(old))
        elif field == "target_date":
            words.append(f"by={old.isoformat()}")
        elif field == "unit":
            words.append(f"unit={_quoted(str(old))}")
        else:
            words.append(f"{field}={old:g}")
    return escape(" ".join(words))
