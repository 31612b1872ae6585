"""`/tandem kpi …`: list, add, edit, remove and restore (admins and the partnership's
leaders; audited: bot/kpi/manage.py), update (the owners).

Each use case opens one transaction: the check-in, its co-delivery
interactions, a celebration and the board's next revision are written
together, so the member is told it worked only once all of it is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.kpi.board import queue_board, queue_celebration
from bot.kpi.manage import KpiManager, owners_for
from bot.kpi.views import member_list
from rituals.commands import InvalidCommand
from rituals.interactions import InteractionKind
from rituals.kpi import MAX_NOTE, Goal, period_of, reached_milestone, validate_goal
from rituals.kpi_commands import (
    AddKpi,
    EditKpi,
    ListKpis,
    RemoveKpi,
    RestoreKpi,
    UpdateKpi,
    parse,
)
from rituals.slack_text import echo, escape, strip_controls, unescape
from rituals.zones import zone_or_default
from storage import audit, kpis, org
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.kudos import member_partnerships
from storage.org import partnership_team_names

AdminTest = Callable[[WebClient, str], bool]
UNKNOWN = "I don't know you yet: you're not in any team Tandem runs rituals for."


@dataclass(frozen=True, slots=True)
class KpiRequest:
    workspace_id: int
    user_id: str
    text: str  # Slack-escaped words after `kpi`
    client: WebClient


class KpiService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        is_admin: AdminTest,
        default_timezone: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._is_admin = is_admin
        self._default_tz = default_timezone
        self._clock = clock
        self.manager = KpiManager(sessions, is_admin, clock)

    def handle(self, req: KpiRequest) -> str:
        """The answer to show the member (Slack mrkdwn, escaped here)."""
        command = parse(req.text)
        if isinstance(command, InvalidCommand):
            return command.message
        if isinstance(command, ListKpis):
            return self.list(req)
        if isinstance(command, AddKpi):
            return self.add(req, command)
        if isinstance(command, EditKpi):
            return self.manager.edit(req.workspace_id, req.user_id, req.client, command)[1]
        if isinstance(command, RemoveKpi):
            return self.manager.remove(req.workspace_id, req.user_id, req.client, command)[1]
        if isinstance(command, RestoreKpi):
            return self.manager.restore(req.workspace_id, req.user_id, req.client, command)[1]
        return self.update(req, command)

    def _today(self, tz: str | None, now: datetime) -> date:
        zone, _ = zone_or_default(tz, self._default_tz)
        return now.astimezone(zone).date()

    def list(self, req: KpiRequest) -> str:
        now = self._clock()
        with transaction(self._sessions) as session:
            member = org.find_member(session, req.workspace_id, req.user_id)
            if member is None:
                return UNKNOWN
            states = kpis.states(session, member_id=member.id)
            teams: dict[int, str] = {}
            for pid in {s.partnership_id for s in states}:
                teams.update(partnership_team_names(session, pid))
            return member_list(states, self._today(member.tz, now), teams)

    def add(self, req: KpiRequest, cmd: AddKpi) -> str:
        return self.add_checked(req, cmd)[1]

    def add_checked(self, req: KpiRequest, cmd: AddKpi) -> tuple[bool, str]:
        """(added, what to tell the person)."""
        now = self._clock()
        with transaction(self._sessions) as session:
            found = _pick_partnership(session, req.workspace_id, req.user_id, cmd.partnership)
            if isinstance(found, str):
                return False, found
            allowed = req.user_id in found.leader_ids or self._is_admin(req.client, req.user_id)
            if not allowed:
                return False, "Only admins and the partnership's leaders can define joint KPIs."
            owners = owners_for(session, req.workspace_id, found, cmd.owner_ids)
            if isinstance(owners, str):
                return False, owners
            today = now.date()
            goal = Goal(cmd.baseline, cmd.target, today, cmd.target_date, cmd.direction)
            problem = validate_goal(goal)
            if problem:
                return False, problem
            new = kpis.NewKpi(
                workspace_id=req.workspace_id,
                partnership_id=found.id,
                name=cmd.name,
                unit=cmd.unit,
                direction=cmd.direction,
                baseline=cmd.baseline,
                target=cmd.target,
                start_date=today,
                target_date=cmd.target_date,
                cadence=cmd.cadence,
                created_by=req.user_id,
                owners=owners,
            )
            try:
                kpi_id = kpis.add_kpi(session, new, now)
            except kpis.KpiNameTaken as taken:
                if taken.removed:
                    return False, (
                        f"{escape(found.name)} has a removed KPI named `{escape(cmd.name)}`: "
                        f'bring it back with `/tandem kpi restore "{escape(cmd.name)}"`, '
                        "or choose another name."
                    )
                return False, f"{escape(found.name)} already has a KPI named `{escape(cmd.name)}`."
            audit.record(
                session,
                workspace_id=req.workspace_id,
                actor=req.user_id,
                action="kpi.add",
                target=f"kpi:{kpi_id}",
                before=None,
                after={
                    "name": cmd.name,
                    "partnership": found.name,
                    "unit": cmd.unit,
                    "direction": cmd.direction.value,
                    "baseline": cmd.baseline,
                    "target": cmd.target,
                    "target_date": cmd.target_date.isoformat(),
                    "cadence": cmd.cadence.value,
                    "owners": list(cmd.owner_ids),
                },
                now=now,
            )
            queue_board(session, req.workspace_id, found.id, found.channel_id, today, now)
        return True, (
            f"Joint KPI *{escape(cmd.name)}* added to {escape(found.name)}: owners are prompted "
            f"{cmd.cadence.value}, and the board in <#{found.channel_id}> shows it."
        )

    def update(self, req: KpiRequest, cmd: UpdateKpi) -> str:
        """`/tandem kpi update NAME VALUE note…` (the note arrives Slack-escaped)."""
        return self.check_in(
            req.workspace_id, req.user_id, cmd.value, unescape(cmd.note), name=cmd.name
        )[1]

    def check_in(
        self,
        workspace_id: int,
        user_id: str,
        value: float,
        note: str,
        *,
        name: str | None = None,
        kpi_id: int | None = None,
    ) -> tuple[bool, str]:
        """An owner's reading for the KPI named (command) or picked (the prompt's form).

        (recorded, what to tell the owner); `note` is plain text.
        """
        now = self._clock()
        with transaction(self._sessions) as session:
            member = org.find_member(session, workspace_id, user_id)
            if member is None:
                return False, UNKNOWN
            ours = member_partnerships(session, workspace_id, user_id)
            if kpi_id is None:
                kpi_id = kpis.find_id(session, [p.id for p in ours], name or "")
            found = kpis.states(session, kpi_ids=[kpi_id]) if kpi_id is not None else []
            if not found or kpi_id is None:
                return False, (
                    f"None of your partnerships has a KPI named `{echo(name or '')}`; "
                    "see `/tandem kpi`."
                    if name is not None
                    else "This KPI is no longer tracked; see `/tandem kpi`."
                )
            [state] = found
            me = next((o for o in state.owners if o.member_id == member.id), None)
            partnership = next((p for p in ours if p.id == state.partnership_id), None)
            if me is None or partnership is None:
                return False, f"Only the owners of *{escape(state.name)}* check in on it."
            today = self._today(member.tz, now)
            text = strip_controls(note).replace("\n", " ").strip()[:MAX_NOTE]
            checkin = kpis.add_checkin(
                session,
                kpi_id,
                member.id,
                me.team_id,
                period_of(state.cadence, today),
                value,
                text,
                now,
            )
            _log_co_delivery(session, workspace_id, state, me, checkin, now)
            milestone = reached_milestone(state.goal, value, state.celebrated)
            if milestone is not None and kpis.set_celebrated(session, kpi_id, milestone):
                [fresh] = kpis.states(session, kpi_ids=[kpi_id])
                queue_celebration(
                    session, workspace_id, fresh, milestone, partnership.channel_id, now
                )
            queue_board(session, workspace_id, partnership.id, partnership.channel_id, today, now)
        cheer = f" That's {milestone} % of the way: celebrated in the channel!" if milestone else ""
        return True, f"Checked in: *{escape(state.name)}* is now {value:g}.{cheer}"


def _log_co_delivery(
    session: Session,
    workspace_id: int,
    state: kpis.KpiState,
    me: kpis.Owner,
    checkin_id: int,
    now: datetime,
) -> None:
    """One co-delivery interaction from the owner who checked in to each co-owner."""
    log(
        session,
        *(
            NewInteraction(
                workspace_id=workspace_id,
                partnership_id=state.partnership_id,
                kind=InteractionKind.CO_DELIVERY,
                provider_member_id=me.member_id,
                beneficiary_member_id=other.member_id,
                provider_team_id=me.team_id,
                beneficiary_team_id=other.team_id,
                occurred_at=now,
                source=f"kpi-checkin:{checkin_id}:{other.member_id}",
            )
            for other in state.owners
            if other.member_id != me.member_id
        ),
    )


def _pick_partnership(
    session: Session, workspace_id: int, user_id: str, name: str | None
) -> kpis.PartnershipInfo | str:
    every = kpis.partnerships(session, workspace_id)
    if name:
        named = [p for p in every if p.name.lower() == name.lower()]
        return named[0] if named else f"There is no partnership named `{echo(name)}`."
    if len(every) == 1:
        return every[0]
    mine = {p.id for p in member_partnerships(session, workspace_id, user_id)}
    led = [p for p in every if user_id in p.leader_ids or p.id in mine]
    if len(led) == 1:
        return led[0]
    if not every:
        return "There is no partnership yet: `/tandem admin partnership add …` comes first."
    return (
        'Which partnership? Add `partnership="Name"` ('
        + ", ".join(escape(p.name) for p in every)
        + ")."
    )
