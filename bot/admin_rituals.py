"""`/tandem admin rituals|ritual …|audit`: the slash equivalents of App Home's ritual admin.

`bot.admin.AdminCommands` checks that the sender is an admin and parses the
text; the commands here only carry it out through `bot.ritual_changes`,
which audits every change.
"""

from __future__ import annotations

from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.ritual_changes import (
    RitualChangeError,
    RitualChanges,
    next_fire,
    schedule_words,
    words,
)
from bot.services import Services
from bot.views.common import notice
from bot.views.ritual_list import audit_list, ritual_line, ritual_list
from rituals.commands import AddRitual, ListRituals, RitualAction, ScheduleRitual, ShowAudit
from storage import audit

RitualCommand = ListRituals | ScheduleRitual | RitualAction | AddRitual | ShowAudit
RITUAL_COMMANDS = (ListRituals, ScheduleRitual, RitualAction, AddRitual, ShowAudit)


class AdminRitualCommands:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.changes = RitualChanges(services)

    def __call__(self, req: CommandRequest, parsed: RitualCommand) -> Reply:
        try:
            return self._run(req, parsed)
        except RitualChangeError as error:
            return notice(
                str(error), hint="`/tandem admin rituals` lists the rituals and their ids."
            )

    def _run(self, req: CommandRequest, parsed: RitualCommand) -> Reply:
        workspace_id = req.workspace_id
        now = utcnow()
        default_tz = self.services.settings.default_timezone
        if isinstance(parsed, ListRituals):
            return ritual_list(
                [
                    (
                        partnership,
                        [
                            ritual_line(
                                r, schedule_words(r), next_fire(r, now, default_tz), default_tz
                            )
                            for r in rituals
                        ],
                    )
                    for partnership, rituals in self.changes.overview(workspace_id)
                ]
            )
        if isinstance(parsed, ShowAudit):
            with self.services.sessions() as session:
                return audit_list(audit.recent(session, workspace_id, parsed.limit))
        if isinstance(parsed, AddRitual):
            created = self.changes.add(
                req.user_id,
                workspace_id,
                parsed.partnership,
                parsed.kind,
                parsed.preset,
                parsed.timezone,
                now,
            )
            return notice(
                f"Added {words(created)}: {schedule_words(created)}.",
                hint=f"`/tandem admin ritual {created.id} schedule …` or the Home tab changes it.",
            )
        if isinstance(parsed, ScheduleRitual):
            changed = self.changes.reschedule(
                req.user_id,
                workspace_id,
                parsed.ritual_id,
                cron=parsed.cron,
                preset=parsed.preset,
                timezone=parsed.timezone,
                now=now,
            )
            upcoming = next_fire(changed, now, default_tz)
            when = (
                f" Next: <!date^{int(upcoming.timestamp())}^{{date_short_pretty}} at {{time}}|"
                f"{upcoming:%Y-%m-%d %H:%M} UTC>."
                if upcoming is not None and not changed.paused
                else ""
            )
            return notice(f"Rescheduled {words(changed)}: {schedule_words(changed)}.{when}")
        return self._act(req, parsed, workspace_id)

    def _act(self, req: CommandRequest, parsed: RitualAction, workspace_id: int) -> Reply:
        now = utcnow()
        if parsed.action == "pause":
            stopped = self.changes.pause(req.user_id, workspace_id, parsed.ritual_id, now)
            return notice(
                f"Paused {words(stopped.ritual)}: it stops from the next tick. "
                + stopped.withdrawn_words()
            )
        if parsed.action == "resume":
            done = self.changes.resume(req.user_id, workspace_id, parsed.ritual_id, now)
            return notice(f"Resumed {words(done)}: it runs again from its next slot.")
        if parsed.action == "run-now":
            result = self.changes.run_now(req.user_id, workspace_id, parsed.ritual_id, now)
            return notice(
                result.message(),
                hint="Its messages go out through the outbox within seconds.",
            )
        deleted = self.changes.delete(req.user_id, workspace_id, parsed.ritual_id, now)
        return notice(
            f"Deleted {words(deleted.ritual)} and its history. " + deleted.withdrawn_words()
        )
