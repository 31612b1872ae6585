"""The worker's background work: the ritual tick, team sync, housekeeping, the outbox
senders and the job runners.

Periodic work lives in an in-memory APScheduler; nothing about it is stored,
so every worker can run the same schedule (the database decides who does what).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy import select

from bot.clock import utcnow
from bot.job_handlers import HANDLERS
from bot.jobs import JobPool
from bot.middleware import prune_job
from bot.outbox import SenderPool
from bot.services import Services
from bot.shadowing import DEPARTURE_CHECK_MINUTES, departure_job
from bot.sync import scheduled_sync_job
from bot.tick import tick_job
from storage import jobs
from storage.db import transaction
from storage.housekeeping import prune_all
from storage.models import Workspace

log = logging.getLogger(__name__)

Job = Callable[[], None]
PRUNE_MINUTES = 15


def periodic_sync(services: Services) -> Job:
    """Queue one team sync job per workspace per interval, for a job runner to do.

    Every worker runs this schedule; the job's key (workspace and interval
    slot) lets only one of them queue it, so replicas do not each walk Slack's
    directory under the same rate limit.
    """
    interval = services.settings.sync_interval_minutes * 60

    def run() -> None:
        now = utcnow()
        slot = int(now.timestamp() // interval)
        try:
            with transaction(services.sessions) as session:
                for workspace_id in session.scalars(select(Workspace.id)).all():
                    jobs.enqueue(session, scheduled_sync_job(workspace_id, slot), now)
        except Exception:
            log.exception("queueing the periodic team sync failed; the next run tries again")

    return run


HOUSEKEEPING_HOURS = 24


def housekeeping(services: Services) -> Job:
    """Daily pruning (storage.housekeeping); the same on every worker, so no coordination."""

    def run() -> None:
        retention = timedelta(days=services.settings.retention_days)
        try:
            with transaction(services.sessions) as session:
                pruned = prune_all(session, utcnow(), retention)
        except Exception:
            log.exception("housekeeping failed; the next run tries again")
            return
        log.info(
            "housekeeping: pruned %d outbox rows, %d jobs, %d occurrences, %d event ids",
            pruned.outbox,
            pruned.jobs,
            pruned.occurrences,
            pruned.events,
        )

    return run


@dataclass(frozen=True)
class Background:
    scheduler: BackgroundScheduler
    senders: SenderPool | None
    jobs: JobPool | None

    def stop(self) -> None:
        """Stop starting work, and let each sender and job runner finish what it holds."""
        self.scheduler.shutdown(wait=False)
        if self.senders is not None:
            self.senders.stop()
        if self.jobs is not None:
            self.jobs.stop()


def start_background(services: Services, client: WebClient) -> Background:
    scheduler = BackgroundScheduler(daemon=True)
    scheduler.add_job(
        periodic_sync(services),
        IntervalTrigger(minutes=services.settings.sync_interval_minutes),
        id="team-sync",
        max_instances=1,
        coalesce=True,
    )
    # Every replica ticks; the occurrence table's unique key decides who builds.
    scheduler.add_job(
        tick_job(services),
        IntervalTrigger(seconds=services.settings.tick_seconds),
        id="ritual-tick",
        max_instances=1,
        coalesce=True,
    )
    # A shadowing partner who left a team (seen by team sync) is told promptly.
    scheduler.add_job(
        departure_job(services),
        IntervalTrigger(minutes=DEPARTURE_CHECK_MINUTES),
        id="shadowing-departures",
        max_instances=1,
        coalesce=True,
    )
    # Request keys outlive the replay window only by a margin (storage.events).
    scheduler.add_job(
        prune_job(services),
        IntervalTrigger(minutes=PRUNE_MINUTES),
        id="request-key-prune",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        housekeeping(services),
        IntervalTrigger(hours=HOUSEKEEPING_HOURS),
        id="housekeeping",
        max_instances=1,
        coalesce=True,
        # A worker restarted more often than daily still prunes: first run soon after start.
        next_run_time=utcnow() + timedelta(minutes=5),
    )
    scheduler.start()
    return Background(scheduler, start_senders(services), start_job_runners(services, client))


def start_job_runners(services: Services, client: WebClient) -> JobPool | None:
    """TANDEM_JOB_THREADS job runners in this process."""
    count = services.settings.job_threads
    if count <= 0:
        return None
    pool = JobPool(services, client, HANDLERS, count)
    pool.start()
    return pool


def start_senders(services: Services) -> SenderPool | None:
    """TANDEM_SENDER_THREADS outbox senders in this process."""
    count = services.settings.sender_threads
    if count <= 0:
        return None
    pool = SenderPool(services.sessions, services.settings, count)
    pool.start()
    log.info("started %d outbox sender thread(s)", count)
    return pool
