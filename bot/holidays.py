"""`/tandem admin holiday …`: team holidays, on which nobody on the team is prompted."""

from __future__ import annotations

from datetime import date, timedelta

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.services import Services
from bot.views.common import notice
from rituals.commands import AddHoliday, ListHolidays, RemoveHoliday
from rituals.slack_text import echo, escape
from storage import audit, holidays
from storage.db import transaction
from storage.org import find_team, list_teams

# A date this far back is almost certainly a typo for this year or next.
_PAST_LIMIT = timedelta(days=31)


def holiday_command(
    services: Services, req: CommandRequest, parsed: AddHoliday | RemoveHoliday | ListHolidays
) -> Reply:
    workspace_id = req.workspace_id
    now = utcnow()
    if isinstance(parsed, ListHolidays):
        return _listing(services, workspace_id, parsed.team, now.date())
    if isinstance(parsed, AddHoliday) and parsed.day < now.date() - _PAST_LIMIT:
        return notice(f"{parsed.day:%a %d %b %Y} is in the past; check the year.")
    with transaction(services.sessions) as session:
        team = find_team(session, workspace_id, parsed.team)
        if team is None:
            return notice(
                f"I can't find a team called `{echo(parsed.team)}`.",
                hint="`/tandem admin team list` shows the teams.",
            )
        when = f"{parsed.day:%a %d %b %Y}"
        if isinstance(parsed, AddHoliday):
            if not holidays.add(session, team.id, parsed.day):
                return notice(f"*{escape(team.name)}* already has {when} off.")
            before, after = None, {"team": team.name, "day": parsed.day.isoformat()}
            action, reply = (
                "holiday.add",
                f"*{escape(team.name)}* has {when} off: no prompts that day.",
            )
        else:
            if not holidays.remove(session, team.id, parsed.day):
                return notice(f"*{escape(team.name)}* has no holiday on {when}.")
            before, after = {"team": team.name, "day": parsed.day.isoformat()}, None
            action, reply = (
                "holiday.remove",
                f"Removed {when} from *{escape(team.name)}*'s holidays.",
            )
        audit.record(
            session,
            workspace_id=workspace_id,
            actor=req.user_id,
            action=action,
            target=f"team:{team.name}",
            before=before,
            after=after,
            now=now,
        )
    return notice(reply, hint="Days are each member's own calendar day.")


def _listing(services: Services, workspace_id: int, team_name: str | None, today: date) -> Reply:
    with services.sessions() as session:
        teams = {t.id: t.name for t in list_teams(session, workspace_id)}
        if team_name is not None:
            team = find_team(session, workspace_id, team_name)
            if team is None:
                return notice(f"I can't find a team called `{echo(team_name)}`.")
            teams = {team.id: team.name}
        found = holidays.listed(session, list(teams), since=today)
    if not found:
        return notice(
            "No upcoming team holidays.",
            hint="`/tandem admin holiday add Marketing 2026-12-24` adds one.",
        )
    lines = [f"{day:%a %d %b %Y} · *{teams[team_id]}*" for team_id, day in found[:100]]
    if len(found) > 100:
        lines.append(f"…and {len(found) - 100} more.")
    return notice("\n".join(lines))
