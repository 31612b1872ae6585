"""Claiming occurrences: one row per natural key, and the claim says who won."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import DueOccurrence, OccurrenceStatus
from storage import occurrences, org, rituals
from storage.db import transaction
from storage.models import Occurrence

NOW = datetime(2026, 3, 9, 9, 31, tzinfo=UTC)


def _ritual(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        workspace = org.ensure_workspace(session, "T1", NOW)
        org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW)
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing"],
            "C1",
            [],
            InterdependenceType.RECIPROCAL,
            NOW,
        )
        ritual = rituals.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.STANDUP,
            cron="30 9 * * 1-5",
            timezone="member-local",
            now=NOW - timedelta(days=30),
        )
    return ritual.id


def _due(
    ritual_id: int,
    subject: str,
    day: int,
    status: OccurrenceStatus = OccurrenceStatus.DUE,
    tz_fallback: bool = False,
) -> DueOccurrence:
    fire_at = datetime(2026, 3, day, 9, 30, tzinfo=UTC)
    key = fire_at.strftime("%Y-%m-%dT%H:%M")
    return DueOccurrence(ritual_id, subject, key, fire_at, "UTC", status, tz_fallback)


def test_a_claim_wins_new_rows_once_and_records_skipped_ones(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    batch = [
        _due(ritual_id, "member:1", 9),
        _due(ritual_id, "member:2", 9, tz_fallback=True),
        _due(ritual_id, "member:1", 6, OccurrenceStatus.SKIPPED),
    ]
    with transaction(session_factory) as session:
        first = occurrences.claim(session, batch, NOW, grace=timedelta(hours=2))
    with transaction(session_factory) as session:
        again = occurrences.claim(session, batch, NOW, grace=timedelta(hours=2))

    assert [(o.subject, o.fire_key, o.member_id) for o in first.won] == [
        ("member:1", "2026-03-09T09:30", 1),
        ("member:2", "2026-03-09T09:30", 2),
    ]
    assert first.won[1].tz_fallback
    assert first.skipped == 1
    assert again.won == [] and again.skipped == 0
    with session_factory() as session:
        assert occurrences.counts_by_status(session, ritual_id) == {
            "done": 2,
            "skipped": 1,
            "failed": 0,
        }
        entries = occurrences.recent(session, ritual_id, limit=10)
    assert [e.fire_key for e in entries][-1] == "2026-03-06T09:30"
    skipped = entries[-1]
    assert skipped.status == "skipped"
    assert skipped.detail == "missed: more than 2 hours late when the bot caught up"
    assert [e.tz_fallback for e in entries if e.subject == "member:2"] == [True]


def test_an_overlapping_claim_wins_only_the_rows_not_yet_there(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        occurrences.claim(session, [_due(ritual_id, "member:1", 9)], NOW)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "member:1", 9), _due(ritual_id, "member:3", 9)], NOW
        )
    assert [o.subject for o in claimed.won] == ["member:3"]


def test_a_claim_of_thousands_of_rows_wins_every_row_once(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    count = occurrences.INSERT_PAGE_SIZE + 500
    batch = [_due(ritual_id, f"member:{n}", 9) for n in range(count)]
    with transaction(session_factory) as session:
        claimed = occurrences.claim(session, batch, NOW)
    assert len(claimed.won) == count
    assert len({o.id for o in claimed.won}) == count
    with transaction(session_factory) as session:
        assert occurrences.claim(session, batch, NOW).won == []


def test_a_claim_for_a_kind_nobody_builds_records_failed_rows_with_the_reason(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "", 9)], NOW, failed_detail="no builder for 'standup'"
        )
    assert len(claimed.won) == 1
    with session_factory() as session:
        (entry,) = occurrences.recent(session, ritual_id)
        assert occurrences.counts_by_status(session, ritual_id)["failed"] == 1
    assert (entry.status, entry.detail) == ("failed", "no builder for 'standup'")


def test_a_rolled_back_claim_leaves_the_rows_to_be_won_again(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with session_factory() as session, session.begin():
        occurrences.claim(session, [_due(ritual_id, "", 9)], NOW)
        session.rollback()
    with transaction(session_factory) as session:
        assert len(occurrences.claim(session, [_due(ritual_id, "", 9)], NOW).won) == 1


def test_manual_runs_never_collide_and_are_listed(session_factory: sessionmaker[Session]) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        first = occurrences.insert_manual(session, ritual_id, NOW)
        second = occurrences.insert_manual(session, ritual_id, NOW, tz="Europe/Berlin")
    assert first.fire_key != second.fire_key
    assert first.is_manual and first.fire_key.startswith("manual:")
    assert (second.subject, second.tz, second.member_id) == ("", "Europe/Berlin", None)
    with session_factory() as session:
        assert occurrences.counts_by_status(session, ritual_id)["done"] == 2


def test_a_builder_can_mark_occurrences_it_decided_not_to_run(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "member:1", 9), _due(ritual_id, "member:2", 9)], NOW
        )
        changed = occurrences.mark(
            session, [claimed.won[0].id], occurrences.Status.SKIPPED, "away until Friday"
        )
    assert changed == 1
    with session_factory() as session:
        counts = occurrences.counts_by_status(session, ritual_id)
        total = session.scalar(select(func.count()).select_from(Occurrence))
    assert counts == {"done": 1, "skipped": 1, "failed": 0}
    assert total == 2


def test_counts_can_be_limited_to_recent_fire_times(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        occurrences.claim(session, [_due(ritual_id, "", day) for day in (2, 3, 4, 5, 6)], NOW)
    with session_factory() as session:
        since = datetime(2026, 3, 5, tzinfo=UTC)
        assert occurrences.counts_by_status(session, ritual_id, since=since)["done"] == 2
