"""What admins do to rituals, from App Home or the slash command: each change audited with it.

Every change is one transaction that writes the ritual row and its audit
entry (who, what, before, after, when) together. Rituals are rows the tick
re-reads every time, so a change applies at the next tick on every replica
without a restart. A ritual outside the admin's workspace is treated as
missing. Authorisation is the caller's job (bot.admin.AdminCheck), checked
on every request, never inferred from what a view showed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.ritual_builders import BuilderRegistry
from bot.ritual_form import RitualEdit, standup_time_and_days
from bot.services import Services
from bot.standup import CHANNEL_TZ_KEY
from bot.sync import SyncResult, sync_teams
from bot.tick import run_and_report
from rituals.interactions import RitualKind
from rituals.run_report import RunReport
from rituals.schedule import MEMBER_LOCAL, PRESETS, describe, next_fire_times
from rituals.slack_text import echo
from rituals.standup import StandupSettings
from storage import audit, home, jobs, outbox
from storage import rituals as ritual_store
from storage.db import transaction
from storage.occurrences import Status, WonOccurrence
from storage.rituals import InvalidRitual, RitualNotFound, RitualSnapshot, StaleVersion

log = logging.getLogger(__name__)

DEFAULT_PRESETS: dict[RitualKind, str] = {
    RitualKind.STANDUP: "weekdays_0930",
    RitualKind.SHADOWING: "weekly_thursday_1500",
    RitualKind.KUDOS_PROMPT: "weekly_thursday_1500",
    RitualKind.DIGEST: "monthly_first_working_day_0900",
    RitualKind.KPI_CHECKIN: "monday_thursday_1000",
    RitualKind.PULSE: "monthly_late_weekdays_1500",
}
# What a new partnership starts with, in this order.
STARTER_KINDS = (
    RitualKind.SHADOWING,
    RitualKind.STANDUP,
    RitualKind.KUDOS_PROMPT,
    RitualKind.DIGEST,
)
# Prompts to each member go out at their own local time; a round or a digest is one moment.
MEMBER_LOCAL_KINDS = frozenset(
    {RitualKind.STANDUP, RitualKind.KUDOS_PROMPT, RitualKind.PULSE, RitualKind.KPI_CHECKIN}
)
STALE_MESSAGE = (
    "This ritual was changed by someone else meanwhile; close and reopen it to see their change."
)


class RitualChangeError(Exception):
    """The change was refused and nothing was written; str(self) tells the admin why."""


@dataclass(frozen=True, slots=True)
class Stopped:
    """A paused or deleted ritual, and how many of its queued messages and jobs were withdrawn."""

    ritual: RitualSnapshot
    withdrawn: int

    def withdrawn_words(self) -> str:
        if not self.withdrawn:
            return "Nothing it had queued was waiting to be sent."
        plural = "s" if self.withdrawn != 1 else ""
        return (
            f"Withdrew {self.withdrawn} queued message{plural} or job{plural} it had not sent yet."
        )


def _withdraw(session: Session, ritual_id: int, why: str, now: datetime) -> int:
    """Withdraw the ritual's unsent outbox rows and jobs, in the caller's transaction."""
    return outbox.withdraw_for_ritual(session, ritual_id, why) + jobs.withdraw_for_ritual(
        session, ritual_id, why, now
    )


@dataclass(frozen=True, slots=True)
class RunResult:
    ritual: RitualSnapshot
    occurrence: WonOccurrence
    status: Status
    report: RunReport | None = None  # whom the run reached and skipped, when the kind says

    def message(self) -> str:
        """What the admin who ran it reads: who was reached, who was skipped and why."""
        if self.report is None or self.status != Status.DONE:
            return f"Ran {words(self.ritual)} once now ({self.status.value})."
        reached = "paired" if self.ritual.kind == RitualKind.SHADOWING.value else "prompted"
        return f"Ran {words(self.ritual)} once now: {self.report.describe(reached)}."


def missing(ritual_id: int) -> RitualChangeError:
    return RitualChangeError(
        f"Ritual #{ritual_id} no longer exists: someone deleted it meanwhile. Nothing was changed."
    )


def words(ritual: RitualSnapshot) -> str:
    """A ritual's name for messages: its kind and id."""
    return f"{ritual.kind.replace('_', ' ')} #{ritual.id}"


def schedule_words(ritual: RitualSnapshot) -> str:
    """The schedule in plain words (the cron itself if its settings cannot be read)."""
    try:
        return describe(ritual.schedule)
    except (TypeError, ValueError):
        return f"Cron `{ritual.cron}` ({ritual.timezone})"


def next_fire(ritual: RitualSnapshot, now: datetime, default_tz: str) -> datetime | None:
    """When the ritual fires next (for a member-local one, in the default zone); None if never."""
    zone = default_tz if ritual.is_member_local else None
    try:
        found = next_fire_times(ritual.schedule, now, 1, tz=zone)
    except (TypeError, ValueError):
        return None
    return found[0] if found else None


class RitualChanges:
    def __init__(self, services: Services, builders: BuilderRegistry | None = None) -> None:
        self.services = services
        self.builders = builders

    # --- reading -----------------------------------------------------------------

    def get(self, workspace_id: int, ritual_id: int) -> RitualSnapshot:
        with self.services.sessions() as session:
            return _in_workspace(session, workspace_id, ritual_id)

    def overview(
        self, workspace_id: int
    ) -> list[tuple[home.PartnershipLine, list[RitualSnapshot]]]:
        with self.services.sessions() as session:
            lines = home.partnership_lines(session, workspace_id)
            return [(p, ritual_store.list_for_partnership(session, p.id)) for p in lines]

    # --- changes -----------------------------------------------------------------

    def save_edit(
        self,
        actor: str,
        workspace_id: int,
        ritual_id: int,
        expected_version: int,
        edit: RitualEdit,
        now: datetime,
    ) -> RitualSnapshot:
        """Apply a checked edit form if nobody saved the ritual since it was opened."""
        with transaction(self.services.sessions) as session:
            before = _in_workspace(session, workspace_id, ritual_id)
            try:
                after = ritual_store.update_ritual(
                    session,
                    ritual_id,
                    expected_version=expected_version,
                    now=now,
                    cron=edit.cron,
                    timezone=edit.timezone,
                    channel_id=edit.channel_id,
                    settings=edit.settings,
                )
            except StaleVersion:
                raise RitualChangeError(STALE_MESSAGE) from None
            except InvalidRitual as error:
                raise RitualChangeError(str(error)) from None
            _audit(session, before, after, actor, "ritual.edit", now)
            target = f"partnership:{before.partnership_id}"
            if edit.partnership_settings:
                old, new = home.change_partnership_settings(
                    session, before.partnership_id, edit.partnership_settings
                )
                if old != new:
                    audit.record(
                        session,
                        workspace_id=workspace_id,
                        actor=actor,
                        action="partnership.settings",
                        target=target,
                        before=old,
                        after=new,
                        now=now,
                    )
            if edit.leaders is not None:
                old_leaders, new_leaders = home.set_leaders(
                    session, before.partnership_id, edit.leaders
                )
                if old_leaders != new_leaders:
                    audit.record(
                        session,
                        workspace_id=workspace_id,
                        actor=actor,
                        action="partnership.leaders",
                        target=target,
                        before={"leaders": old_leaders},
                        after={"leaders": new_leaders},
                        now=now,
                    )
            return after

    def reschedule(
        self,
        actor: str,
        workspace_id: int,
        ritual_id: int,
        *,
        cron: str | None,
        preset: str | None,
        timezone: str | None,
        now: datetime,
    ) -> RitualSnapshot:
        """A new cron (or preset) and maybe zone, keeping everything else."""
        with transaction(self.services.sessions) as session:
            before = _in_workspace(session, workspace_id, ritual_id)
            settings = dict(before.settings)
            chosen = PRESETS.get(preset or "")
            if chosen is not None:
                cron = chosen.cron
                _set(
                    settings,
                    "every_n_weeks",
                    chosen.every_n_weeks if chosen.every_n_weeks > 1 else None,
                )
                _set(
                    settings,
                    "first_working_day_only",
                    True if chosen.first_working_day_only else None,
                )
            if cron is None:
                raise RitualChangeError("Give a cron expression or a preset.")
            if before.kind == RitualKind.STANDUP.value:
                derived = standup_time_and_days(cron)
                if isinstance(derived, str):
                    raise RitualChangeError(derived)
                settings.update(derived)
            try:
                after = ritual_store.update_ritual(
                    session,
                    ritual_id,
                    expected_version=before.version,
                    now=now,
                    cron=cron,
                    timezone=timezone or before.timezone,
                    settings=settings,
                )
            except StaleVersion:
                raise RitualChangeError(STALE_MESSAGE) from None
            except InvalidRitual as error:
                raise RitualChangeError(str(error)) from None
            _audit(session, before, after, actor, "ritual.schedule", now)
            return after

    def pause(self, actor: str, workspace_id: int, ritual_id: int, now: datetime) -> Stopped:
        """Pause it and withdraw what it queued but has not sent; resuming never resends those."""
        with transaction(self.services.sessions) as session:
            ritual = self._set_paused(session, actor, workspace_id, ritual_id, True, now)
            return Stopped(ritual, _withdraw(session, ritual_id, "ritual paused", now))

    def resume(
        self, actor: str, workspace_id: int, ritual_id: int, now: datetime
    ) -> RitualSnapshot:
        with transaction(self.services.sessions) as session:
            return self._set_paused(session, actor, workspace_id, ritual_id, False, now)

    @staticmethod
    def _set_paused(
        session: Session,
        actor: str,
        workspace_id: int,
        ritual_id: int,
        paused: bool,
        now: datetime,
    ) -> RitualSnapshot:
        before = _in_workspace(session, workspace_id, ritual_id)
        if before.paused == paused:
            state = "paused" if paused else "running"
            raise RitualChangeError(f"{words(before).capitalize()} is already {state}.")
        change = ritual_store.pause if paused else ritual_store.resume
        try:
            after = change(session, ritual_id, now, expected_version=before.version)
        except StaleVersion:
            raise RitualChangeError(STALE_MESSAGE) from None
        _audit(session, before, after, actor, "ritual.pause" if paused else "ritual.resume", now)
        return after

    def run_now(self, actor: str, workspace_id: int, ritual_id: int, now: datetime) -> RunResult:
        """One extra occurrence, with a key of its own, built at once (`bot.tick.run_now`)."""
        ritual = self.get(workspace_id, ritual_id)
        try:
            occurrence, status, report = run_and_report(
                self.services, ritual_id, now, builders=self.builders
            )
        except RitualNotFound:
            raise missing(ritual_id) from None
        except Exception as error:
            log.exception("run now of ritual %s failed", ritual_id)
            raise RitualChangeError(
                f"Running {words(ritual)} failed and nothing was sent: {error}"
            ) from None
        with transaction(self.services.sessions) as session:
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=actor,
                action="ritual.run_now",
                target=f"ritual:{ritual_id}",
                before=None,
                after={
                    "occurrence": occurrence.id,
                    "fire_key": occurrence.fire_key,
                    "status": status.value,
                    **(
                        {"reached": report.reached, "skipped": dict(report.skipped)}
                        if report is not None
                        else {}
                    ),
                },
                now=now,
            )
        return RunResult(ritual, occurrence, status, report)

    def delete(self, actor: str, workspace_id: int, ritual_id: int, now: datetime) -> Stopped:
        with transaction(self.services.sessions) as session:
            before = _in_workspace(session, workspace_id, ritual_id)
            withdrawn = _withdraw(session, ritual_id, "ritual deleted", now)
            ritual_store.delete(session, ritual_id)
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=actor,
                action="ritual.delete",
                target=f"ritual:{ritual_id}",
                before=before.audit_fields(),
                after=None,
                now=now,
            )
            return Stopped(before, withdrawn)

    def add(
        self,
        actor: str,
        workspace_id: int,
        partnership: str,
        kind: RitualKind,
        preset: str | None,
        timezone: str | None,
        now: datetime,
    ) -> RitualSnapshot:
        """A ritual with its kind's defaults; a partnership runs at most one of each kind."""
        with transaction(self.services.sessions) as session:
            partnership_id = home.find_partnership_id(session, workspace_id, partnership)
            if partnership_id is None:
                raise RitualChangeError(
                    f"No partnership `{echo(partnership)}` here; `/tandem admin partnership list` names them."
                )
            return add_ritual(
                session,
                actor=actor,
                workspace_id=workspace_id,
                partnership_id=partnership_id,
                kind=kind,
                preset=preset,
                timezone=timezone,
                default_tz=self.services.settings.default_timezone,
                now=now,
            )

    def sync(
        self,
        actor: str,
        workspace_id: int,
        client: WebClient,
        now: datetime,
        *,
        only: str | None = None,
    ) -> list[SyncResult]:
        """Re-read the teams' membership (all, or the one named `only`) from Slack now."""
        results = sync_teams(self.services, client, workspace_id, only)
        if not results:
            return results
        with transaction(self.services.sessions) as session:
            audit.record(
                session,
                workspace_id=workspace_id,
                actor=actor,
                action="team.sync",
                target="teams" if only is None else f"team:{results[0].team}",
                before=None,
                after={
                    r.team: {"members": r.members, "added": r.added, "removed": r.removed}
                    for r in results
                },
                now=now,
            )
        return results


def add_ritual(
    session: Session,
    *,
    actor: str,
    workspace_id: int,
    partnership_id: int,
    kind: RitualKind,
    preset: str | None,
    timezone: str | None,
    default_tz: str,
    now: datetime,
    paused: bool = False,
) -> RitualSnapshot:
    """One ritual of `kind` with its defaults, audited, in the caller's transaction."""
    chosen = PRESETS[preset or DEFAULT_PRESETS[kind]]
    existing = [
        r for r in ritual_store.list_for_partnership(session, partnership_id) if r.kind == kind
    ]
    if existing:
        raise RitualChangeError(
            f"That partnership already has a {kind.value.replace('_', ' ')} ritual "
            f"(#{existing[0].id}); edit that one instead."
        )
    [line] = home.partnership_lines(session, workspace_id, partnership_id)
    fixed_zone = str(line.settings.get("timezone") or default_tz)
    zone = timezone or (MEMBER_LOCAL if kind in MEMBER_LOCAL_KINDS else fixed_zone)
    settings: dict[str, Any] = {}
    _set(settings, "every_n_weeks", chosen.every_n_weeks if chosen.every_n_weeks > 1 else None)
    _set(settings, "first_working_day_only", True if chosen.first_working_day_only else None)
    if kind is RitualKind.STANDUP:
        derived = standup_time_and_days(chosen.cron)
        if isinstance(derived, str):
            raise RitualChangeError(f"Preset `{preset}` does not suit a standup. {derived}")
        settings.update(StandupSettings().to_dict())
        settings.update(derived)
        settings[CHANNEL_TZ_KEY] = fixed_zone
    try:
        created = ritual_store.create(
            session,
            partnership_id=partnership_id,
            kind=kind,
            cron=chosen.cron,
            timezone=zone,
            now=now,
            settings=settings,
            paused=paused,
        )
    except InvalidRitual as error:
        raise RitualChangeError(str(error)) from None
    audit.record(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="ritual.add",
        target=f"ritual:{created.id}",
        before=None,
        after=created.audit_fields(),
        now=now,
    )
    return created


def add_starter_rituals(
    session: Session,
    *,
    actor: str,
    workspace_id: int,
    partnership_id: int,
    default_tz: str,
    now: datetime,
    paused: bool = False,
) -> list[RitualSnapshot]:
    """The four rituals a new partnership starts with, each with its kind's defaults."""
    return [
        add_ritual(
            session,
            actor=actor,
            workspace_id=workspace_id,
            partnership_id=partnership_id,
            kind=kind,
            preset=None,
            timezone=None,
            default_tz=default_tz,
            now=now,
            paused=paused,
        )
        for kind in STARTER_KINDS
    ]


def _in_workspace(session: Session, workspace_id: int, ritual_id: int) -> RitualSnapshot:
    found = ritual_store.get(session, ritual_id)
    if found is None or found.workspace_id != workspace_id:
        raise missing(ritual_id)
    return found


def _set(settings: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        settings.pop(key, None)
    else:
        settings[key] = value


def _audit(
    session: Session,
    before: RitualSnapshot,
    after: RitualSnapshot,
    actor: str,
    action: str,
    now: datetime,
) -> None:
    audit.record(
        session,
        workspace_id=before.workspace_id,
        actor=actor,
        action=action,
        target=f"ritual:{before.id}",
        before=before.audit_fields(),
        after=after.audit_fields(),
        now=now,
    )
