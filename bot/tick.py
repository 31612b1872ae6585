"""The ritual tick: every replica runs it; the occurrence table decides who builds what.

Each tick re-reads the active rituals (so an admin's pause or new cron
applies at the next tick on every replica, with no restart and no cached
schedule) and, per ritual, in one transaction:
1. computes the occurrences due since the ritual's `scheduled_through`
   (kept in the database, so a restarted or brand-new replica carries on
   where scheduling stopped), with the catch-up rules of rituals.schedule;
2. inserts them with ON CONFLICT DO NOTHING in one statement (a few on
   SQLite for thousands of rows); the rows RETURNed are the ones this
   replica won;
3. hands the won due occurrences to the kind's builder in one call, which
   writes domain rows and outbox rows in the same transaction;
4. advances `scheduled_through` to `now`, never backwards (for rituals
   with nothing in the window, in one UPDATE at the end of the tick).

When a builder raises, that ritual's transaction rolls back: its
occurrences are not recorded and `scheduled_through` stays put, so the next
tick (on any replica) computes them again and retries while they are still
within grace; after that they are recorded as skipped. Recording them as
failed instead would turn a passing fault (a lock timeout, a deploy in the
middle of a tick) into a lost standup. Other rituals are not affected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.ritual_builders import BuilderRegistry, default_registry, missing_detail
from bot.services import Services
from rituals.run_report import RunReport
from rituals.schedule import (
    DueOccurrence,
    OccurrenceStatus,
    due_occurrences,
    fires_in_some_zone,
)
from storage import occurrences as occurrence_store
from storage import rituals as ritual_store
from storage.db import on_behalf_of_ritual, transaction
from storage.occurrences import Status, WonOccurrence, member_subject
from storage.rituals import RitualSnapshot

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one tick did on this replica; another replica may have won the rest."""

    rituals: int = 0  # active rituals looked at
    due: int = 0  # due occurrences computed, whoever inserted them
    won: int = 0  # due occurrences this replica inserted and built
    skipped: int = 0  # skipped occurrences this replica recorded
    failed: int = 0  # recorded as failed (no builder) or rolled back (builder raised)
    errors: int = 0  # rituals whose transaction rolled back
    failed_rituals: list[int] = field(default_factory=list)


@dataclass
class _RitualOutcome:
    due: int = 0
    won: int = 0
    skipped: int = 0
    failed: int = 0


def tick(
    services: Services, now: datetime, *, builders: BuilderRegistry | None = None
) -> TickReport:
    """Schedule every active ritual up to `now` (aware UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    registry = builders if builders is not None else default_registry()
    report = TickReport()
    # One session (one pooled connection) for the whole tick, one transaction
    # per ritual with work to build, and one write for all the idle ones.
    with services.sessions() as session:
        with session.begin():
            active = ritual_store.list_active(session)
        report.rituals = len(active)
        idle: list[int] = []
        for ritual in active:
            outcome = _RitualOutcome()
            try:
                with session.begin():
                    if _tick_ritual(session, ritual, now, services, registry, outcome):
                        ritual_store.advance_scheduled_through(session, [ritual.id], now)
                    else:
                        idle.append(ritual.id)
            except Exception:
                log.exception(
                    "ritual %s (%s) failed at %s; rolled back, the next tick retries it",
                    ritual.id,
                    ritual.kind,
                    now.isoformat(),
                )
                report.errors += 1
                report.failed_rituals.append(ritual.id)
                outcome.failed += outcome.won
                outcome.won = outcome.skipped = 0
            report.due += outcome.due
            report.won += outcome.won
            report.skipped += outcome.skipped
            report.failed += outcome.failed
        if idle:
            with session.begin():
                ritual_store.advance_scheduled_through(session, idle, now)
    return report


def run_now(
    services: Services, ritual_id: int, now: datetime, *, builders: BuilderRegistry | None = None
) -> tuple[WonOccurrence, Status]:
    """`run_and_report` without the report."""
    occurrence, status, _ = run_and_report(services, ritual_id, now, builders=builders)
    return occurrence, status


def run_and_report(
    services: Services, ritual_id: int, now: datetime, *, builders: BuilderRegistry | None = None
) -> tuple[WonOccurrence, Status, RunReport | None]:
    """An extra occurrence of a ritual, built at once ("run now" for admins).

    The occurrence is for the whole ritual (subject ""), even a member-local
    one. Raises storage.rituals.RitualNotFound; a builder's exception rolls
    everything back and propagates, so the admin sees it. The builder's
    report (whom it reached and skipped) comes back when it gives one.
    """
    registry = builders if builders is not None else default_registry()
    with transaction(services.sessions) as session:
        ritual = ritual_store.get(session, ritual_id)
        if ritual is None:
            raise ritual_store.RitualNotFound(ritual_id)
        zone = services.settings.default_timezone if ritual.is_member_local else ritual.timezone
        occurrence = occurrence_store.insert_manual(session, ritual.id, now, tz=zone)
        builder = registry.get(ritual.kind)
        if builder is None:
            occurrence_store.mark(
                session, [occurrence.id], Status.FAILED, missing_detail(ritual.kind)
            )
            return occurrence, Status.FAILED, None
        with on_behalf_of_ritual(session, ritual.id):
            report = builder(session, ritual, [occurrence], now)
        return occurrence, Status.DONE, report


def tick_job(services: Services, builders: BuilderRegistry | None = None) -> Callable[[], None]:
    """The scheduler's job: one tick at the current time, never raising."""
    registry = builders if builders is not None else default_registry()

    def run() -> None:
        try:
            report = tick(services, utcnow(), builders=registry)
        except Exception:
            log.exception("ritual tick failed")
            return
        if report.won or report.skipped or report.failed:
            log.info(
                "tick: %d built, %d skipped, %d failed over %d rituals",
                report.won,
                report.skipped,
                report.failed,
                report.rituals,
            )

    return run


def _tick_ritual(
    session: Session,
    ritual: RitualSnapshot,
    now: datetime,
    services: Services,
    registry: BuilderRegistry,
    outcome: _RitualOutcome,
) -> bool:
    """Claim and build what is due; False when nothing fell in the window."""
    due = _due(session, ritual, now, services.settings.default_timezone)
    if not due:
        return False
    outcome.due = sum(1 for o in due if o.status is OccurrenceStatus.DUE)
    builder = registry.get(ritual.kind)
    claimed = occurrence_store.claim(
        session,
        due,
        now,
        grace=ritual.grace,
        failed_detail=None if builder is not None else missing_detail(ritual.kind),
    )
    outcome.skipped = claimed.skipped
    if builder is None:
        outcome.failed = len(claimed.won)
        if claimed.won:
            log.warning(
                "ritual %s: no builder for kind %r; %d occurrences recorded as failed",
                ritual.id,
                ritual.kind,
                len(claimed.won),
            )
    elif claimed.won:
        outcome.won = len(claimed.won)
        with on_behalf_of_ritual(session, ritual.id):
            builder(session, ritual, claimed.won, now)
    return True


def _due(
    session: Session, ritual: RitualSnapshot, now: datetime, default_tz: str
) -> list[DueOccurrence]:
    def compute(subjects: list[tuple[str, str | None]]) -> list[DueOccurrence]:
        return due_occurrences(
            ritual.id,
            ritual.schedule,
            subjects,
            ritual.scheduled_through,
            now,
            ritual.grace,
            default_tz=default_tz,
        )

    if not ritual.is_member_local:
        return compute([("", None)])
    # Most ticks fall between fire times in every zone on Earth: no query.
    if not fires_in_some_zone(ritual.schedule, ritual.scheduled_through, now, ritual.grace):
        return []
    # Else ask which of the members' zones have anything due (one DISTINCT),
    # and load only the members in those zones.
    zones = ritual_store.roster_zones(session, ritual.partnership_id)
    probe = compute([(str(index), zone) for index, zone in enumerate(zones)])
    due_zones = {zones[int(o.subject)] for o in probe}
    if not due_zones:
        return []
    members = ritual_store.roster_members(session, ritual.partnership_id, due_zones)
    return compute([(member_subject(member_id), tz) for member_id, tz in members])
