"""The loop that drains the outbox: claim a batch, pace it, call Slack, record each outcome.

Each outcome is written as soon as it is known, so a sender that dies loses
at most the rows it holds, and those come back when their lease runs out.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.outbox.calls import Attempt, SlackCalls
from bot.outbox.failures import Failed, RateLimited, RetryPolicy, Sent
from bot.outbox.pacing import CHANNEL_PACED_METHODS, Pacer
from bot.settings import Settings
from storage import outbox
from storage.db import transaction
from storage.outbox import ClaimedRow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
POLL_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 5.0
# Pauses between attempts to record an outcome while the database connection is being restored.
OUTCOME_RETRY_PAUSES = (0.1, 0.5, 2.0)
MAX_BATCH = 100

Clock = Callable[[], datetime]


class OutboxSender:
    """One sender; several may run at once, in threads or processes, on one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient | Callable[[], WebClient],
        settings: Settings,
        worker_id: str,
        clock: Clock = utcnow,
        *,
        pacer: Pacer | None = None,
        policy: RetryPolicy | None = None,
        lease_for: timedelta = LEASE,
        batch_size: int | None = None,
        poll_seconds: float = POLL_SECONDS,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.client = client if isinstance(client, WebClient) else client()
        self.worker_id = worker_id
        self.clock = clock
        rate = settings.workspace_rate_per_second
        self.pacer = pacer or Pacer(rate)
        self.policy = policy or RetryPolicy()
        self.lease_for = lease_for
        # About two seconds of sending at the workspace rate: short leases, few round trips.
        self.batch_size = batch_size or max(1, min(MAX_BATCH, round(rate * 2)))
        self.poll_seconds = poll_seconds
        self._rng = rng or random.Random()
        # The only place a sender waits in line; tests count these instead of timing them.
        self._sleep = sleep
        self._calls = SlackCalls(self.client)
        self._stop = threading.Event()
        # Never start a call that could outlive the lease: lookup, open and post, each timing out.
        self._lease_margin = timedelta(seconds=3 * (self.client.timeout or 30) + 5)

    def run_once(self, now: datetime | None = None) -> int:
        """Claim one batch as of `now` and see it through; returns how many rows were claimed."""
        started = now or self.clock()
        ticks = time.monotonic()

        def current() -> datetime:
            return started + timedelta(seconds=time.monotonic() - ticks)

        with transaction(self.sessions) as session:
            rows = outbox.claim(session, self.worker_id, started, self.batch_size, self.lease_for)
        for index, row in enumerate(rows):
            if self._stop.is_set() or current() + self._lease_margin >= row.lease_until:
                self._release(rows[index:], None)
                break
            with self.pacer.turn(row.workspace_id, _paced_channel(row)) as slot:
                if slot.reserved and slot.wait > 0:
                    self._sleep(slot.wait)
            if not slot.reserved:
                self._release([row], current() + timedelta(seconds=slot.wait))
                continue
            self._record(row, self._calls.attempt(row), current())
        return len(rows)

    def run_forever(self, stop_event: threading.Event, *, until_drained: bool = False) -> None:
        """Send until `stop_event` is set (or, with until_drained, until nothing is pending)."""
        self._stop = stop_event
        log.info("outbox sender %s started", self.worker_id)
        while not stop_event.is_set():
            try:
                if self.run_once():
                    continue
                wait = self._idle_wait(until_drained)
            except Exception:
                log.exception(
                    "outbox sender %s: batch failed; trying again shortly", self.worker_id
                )
                wait = ERROR_PAUSE_SECONDS
            if wait is None:
                break
            stop_event.wait(wait)
        log.info("outbox sender %s stopped", self.worker_id)

    def _idle_wait(self, until_drained: bool) -> float | None:
        now = self.clock()
        with self.sessions() as session:
            if until_drained and not outbox.has_pending(session):
                return None
            due = outbox.next_due(session, now)
        if due is None:
            return self.poll_seconds
        return min(self.poll_seconds, max(0.01, (due - now).total_seconds()))

    # --- outcomes -------------------------------------------------------------

    def _record(self, row: ClaimedRow, attempt: Attempt, now: datetime) -> None:
        """Write the call's outcome; a dropped database connection is retried, not lost.

        The call has been made: giving up here would leave the row leased until
        its lease runs out and then checked against Slack, a needless delay.
        """
        for pause in OUTCOME_RETRY_PAUSES:
            try:
                self._write_outcome(row, attempt, now)
                return
            except OperationalError as error:
                log.warning("recording %s failed (%s); retrying", row.idempotency_key, error.code)
                time.sleep(pause)  # the database reconnecting, not a schedule
        self._write_outcome(row, attempt, now)

    def _write_outcome(self, row: ClaimedRow, attempt: Attempt, now: datetime) -> None:
        outcome = attempt.outcome
        where = (row.idempotency_key, row.method, row.channel_key)
        with transaction(self.sessions) as session:
            if isinstance(outcome, Sent):
                self.pacer.succeeded(row.workspace_id)
                held = outbox.mark_sent(session, row.id, self.worker_id, outcome.result, now)
                if held:
                    log.info("sent %s (%s to %s)", *where)
            elif isinstance(outcome, RateLimited):
                if outcome.paced_call:
                    self.pacer.rate_limited(
                        row.workspace_id, _paced_channel(row), outcome.retry_after
                    )
                held = outbox.reschedule(
                    session,
                    row.id,
                    self.worker_id,
                    now + timedelta(seconds=outcome.retry_after),
                    attempts=row.attempts,
                    error=outcome.error,
                    unconfirmed=attempt.unconfirmed,
                )
                log.info("rate limited %s (%s to %s): %s", *where, outcome.error)
            else:
                held = self._record_failure(session, row, outcome, attempt.unconfirmed, now)
        if not held:
            log.warning("lost the lease on %s (%s to %s) before recording it", *where)

    def _record_failure(
        self, session: Session, row: ClaimedRow, failed: Failed, unconfirmed: bool, now: datetime
    ) -> bool:
        where = (row.idempotency_key, row.method, row.channel_key)
        attempts = row.attempts + 1
        if failed.permanent or attempts >= self.policy.max_attempts:
            error = (
                failed.error
                if failed.permanent
                else f"gave up after {attempts} attempts: {failed.error}"
            )
            if unconfirmed:
                error += " (the last attempt may have reached Slack)"
            log.warning("dead %s (%s to %s): %s", *where, error)
            return outbox.mark_dead(
                session,
                row.id,
                self.worker_id,
                attempts=attempts,
                error=error,
                unconfirmed=unconfirmed,
            )
        delay = self.policy.delay(attempts, self._rng)
        log.info("retrying %s (%s to %s) in %.1fs: %s", *where, delay, failed.error)
        return outbox.reschedule(
            session,
            row.id,
            self.worker_id,
            now + timedelta(seconds=delay),
            attempts=attempts,
            error=failed.error,
            unconfirmed=unconfirmed,
        )

    def _release(self, rows: list[ClaimedRow], at: datetime | None) -> None:
        with transaction(self.sessions) as session:
            outbox.release(session, [r.id for r in rows], self.worker_id, at)


def _paced_channel(row: ClaimedRow) -> str:
    return row.channel_key if row.method in CHANNEL_PACED_METHODS else ""
