"""Closing a month's pulse: a durable job of its own, due when the month is over.

The job is queued when the month's round opens, to run at `closes_at` (the
end of the month in the partnership's time zone), and is not tied to the
pulse ritual: pausing or deleting the ritual must not keep who answered on
record. It closes every round of the partnership that is over, so a job
lost or dead is made up for by the next one (and by the digest, which
closes the month it reports on). Closing a round, in one transaction:

- writes its results: per team, the score counts, and the comments leaders
  may read (only for a team of at least 5 answers with at least 5 comments;
  shuffled, mentions and the names of everyone in the partnership's teams,
  past members included, removed);
- deletes the who-answered rows, after which nothing ties an answer to a
  person;
- posts one line in the joint channel: the pulse has closed, and each
  member's App Home now shows their team's result.

Safe to run twice: a closed round is left as it is.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.services import Services
from rituals.pulse import MAX_SHOWN_COMMENTS, MIN_GROUP, visible_comments
from storage import jobs, pulse
from storage.db import transaction
from storage.outbox import OutboundCall, enqueue

PULSE_CLOSE = "pulse_close"


def close_job(workspace_id: int, partnership_id: int, round_: pulse.Round) -> jobs.NewJob:
    return jobs.NewJob(
        idempotency_key=f"{PULSE_CLOSE}:{round_.id}",
        kind=PULSE_CLOSE,
        payload={"partnership_id": partnership_id, "round_id": round_.id},
        workspace_id=workspace_id,
        run_after=round_.closes_at,
        outlives_ritual=True,
    )


def results_of(session: Session, round_id: int, partnership_id: int) -> list[pulse.TeamCounts]:
    """What may ever be read of a round: counts per team, and the comments leaders may see."""
    counts = pulse.team_counts(session, round_id)
    if not any(sum(c.counts.values()) >= MIN_GROUP and c.comments for c in counts):
        return [pulse.TeamCounts(c.team_id, c.counts, ()) for c in counts]
    names = pulse.people_names(session, partnership_id)
    return [
        pulse.TeamCounts(
            c.team_id,
            c.counts,
            tuple(visible_comments(c.comments, names, limit=MAX_SHOWN_COMMENTS))
            if sum(c.counts.values()) >= MIN_GROUP
            else (),
        )
        for c in counts
    ]


def round_results(session: Session, round_: pulse.Round) -> tuple[pulse.TeamCounts, ...]:
    """A closed round's kept results; worked out again for a round closed before they were kept."""
    if round_.results is not None:
        return round_.results
    return tuple(results_of(session, round_.id, round_.partnership_id))


def close_round(session: Session, round_id: int, now: datetime) -> pulse.Round | None:
    """Close one round (results kept, who answered forgotten); None if it was already closed."""
    found = pulse.lock_open(session, round_id)
    if found is None:
        return None
    pulse.close(session, round_id, now, results_of(session, round_id, found.partnership_id))
    return found


def close_over(
    session: Session, partnership_id: int, now: datetime, through: str | None = None
) -> list[pulse.Round]:
    """Close the partnership's rounds that are over (at `now`, or months up to `through`)."""
    closed = []
    for round_id in pulse.due_to_close(session, partnership_id, now, through):
        found = close_round(session, round_id, now)
        if found is not None:
            closed.append(found)
    return closed


def closed_notice(round_: pulse.Round, channel_id: str) -> OutboundCall:
    text = (
        f"The collaboration pulse for {_label(round_.month)} has closed. Open Tandem's App Home "
        "to see how your team rated the collaboration (a team's result is shown when at least "
        f"{MIN_GROUP} of its members answered). Who answered is no longer on record."
    )
    return OutboundCall(
        f"pulse-closed:{round_.id}", "chat.postMessage", {"channel": channel_id, "text": text}
    )


def _label(month: str) -> str:
    year, number = month.split("-")
    return datetime(int(year), int(number), 1).strftime("%B %Y")


def close_and_tell(
    session: Session,
    workspace_id: int | None,
    partnership_id: int,
    now: datetime,
    through: str | None = None,
) -> list[pulse.Round]:
    """Close what is over and queue the joint channel's notice for each round closed."""
    closed = close_over(session, partnership_id, now, through)
    channel = pulse.joint_channel(session, partnership_id) if closed else None
    if channel:
        enqueue(session, [closed_notice(r, channel) for r in closed], now, workspace_id)
    return closed


def run_close(services: Services, client: WebClient, job: jobs.ClaimedJob, now: datetime) -> None:
    """The job's handler (safe to repeat)."""
    with transaction(services.sessions) as session:
        close_and_tell(session, job.workspace_id, int(job.payload["partnership_id"]), now)
