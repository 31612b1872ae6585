"""The job runner: finishes the durable follow-up work queued in the job table.

A handler gets the job's payload and must be safe to run twice: a worker
that dies mid-job loses its lease, and the next worker starts the job over.
While a handler runs, its worker renews the lease every third of it, so a
long job (a team sync that waits out Slack's rate limits) keeps its lease
for as long as its worker lives, and no longer.
A handler that raises is retried with backoff; after MAX_ATTEMPTS the job
is `dead` and listed by `tandem jobs` (and `tandem outbox`) with its last
error; `tandem jobs retry ID` or `--all-dead` queues it again.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.clock import utcnow
from bot.services import Services
from bot.threads import LoopThreads
from storage import jobs
from storage.db import transaction

log = logging.getLogger(__name__)

Handler = Callable[[Services, WebClient, jobs.ClaimedJob, datetime], None]

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=5)
RENEW_SECONDS = LEASE.total_seconds() / 3
POLL_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 5.0


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 10 s, 20 s, 40 s … up to an hour, with jitter."""
    base = min(3600.0, 10.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


class JobRunner:
    def __init__(
        self,
        services: Services,
        client: WebClient,
        handlers: Mapping[str, Handler],
        index: int = 0,
        *,
        clock: Callable[[], datetime] = utcnow,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.services = services
        self.client = client
        self.handlers = dict(handlers)
        self.clock = clock
        self.renew_seconds = renew_seconds
        self.worker_id = f"{socket.gethostname()[:40]}:{os.getpid()}:job{index}"

    def run_once(self, limit: int = 1) -> int:
        """Claim and run up to `limit` due jobs; returns how many were claimed."""
        with transaction(self.services.sessions) as session:
            claimed = jobs.claim(session, self.worker_id, self.clock(), limit, LEASE)
        for job in claimed:
            self._run(job)
        return len(claimed)

    @contextmanager
    def _lease_kept(self, job: jobs.ClaimedJob) -> Iterator[None]:
        """While the block runs, push the job's lease LEASE ahead every `renew_seconds`."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.renew_seconds):
                try:
                    with transaction(self.services.sessions) as session:
                        until = self.clock() + LEASE
                        kept = jobs.extend_lease(session, job.id, self.worker_id, until)
                except Exception:
                    log.warning("job %s: renewing its lease failed", job.id, exc_info=True)
                    continue
                if not kept:
                    log.warning("job %s: lease lost; another worker may run it", job.id)
                    return

        renewer = threading.Thread(target=renew, name=f"lease-{job.id}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _run(self, job: jobs.ClaimedJob) -> None:
        handler = self.handlers.get(job.kind)
        attempts = job.attempts + 1
        failure: Exception | None = None
        with self._lease_kept(job):
            try:
                if handler is None:
                    raise LookupError(f"no handler for job kind {job.kind!r}")
                handler(self.services, self.client, job, self.clock())
            except Exception as error:
                failure = error
        if failure is None:
            with transaction(self.services.sessions) as session:
                jobs.mark_done(session, job.id, self.worker_id, self.clock())
            return
        reason = f"{type(failure).__name__}: {failure}"
        now = self.clock()
        log.warning("job %s (%s) failed, attempt %d: %s", job.id, job.kind, attempts, reason)
        with transaction(self.services.sessions) as session:
            if attempts >= MAX_ATTEMPTS or handler is None:
                jobs.mark_dead(
                    session, job.id, self.worker_id, now, attempts=attempts, error=reason
                )
            else:
                jobs.retry_at(
                    session,
                    job.id,
                    self.worker_id,
                    now + backoff(attempts),
                    attempts=attempts,
                    error=reason,
                )

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:
                log.exception(
                    "job runner %s: claiming failed; trying again shortly", self.worker_id
                )
                stop.wait(ERROR_PAUSE_SECONDS)
                continue
            stop.wait(POLL_SECONDS)


class JobPool:
    """TANDEM_JOB_THREADS job runners in this process."""

    def __init__(
        self, services: Services, client: WebClient, handlers: Mapping[str, Handler], count: int
    ) -> None:
        self.runners = [JobRunner(services, client, handlers, i) for i in range(count)]
        self._threads = LoopThreads("job-runner", [r.run_forever for r in self.runners])

    def start(self) -> None:
        self._threads.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._threads.stop(timeout)


def job_listing(counts: Mapping[str, int], waiting: list[jobs.JobRow]) -> str:
    """`tandem jobs` (and the jobs part of `tandem outbox`): counts, then each pending or dead job."""
    pending, dead = counts.get(jobs.JobState.PENDING, 0), counts.get(jobs.JobState.DEAD, 0)
    lines = [f"jobs: {pending} pending, {dead} dead"]
    for job in waiting:
        error = f" — {job.last_error}" if job.last_error else ""
        lines.append(
            f"  job {job.id} {job.kind} {job.state}, {job.attempts} attempt(s), "
            f"due {job.run_after:%Y-%m-%d %H:%M:%S} UTC{error}"
        )
    if dead:
        lines.append(
            "  re-queue dead jobs with `tandem jobs retry ID` or `tandem jobs retry --all-dead`"
        )
    return "\n".join(lines)
