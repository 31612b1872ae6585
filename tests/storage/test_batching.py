"""Every statement built from a list of any length stays under every driver's parameter limit.

Each test hands its statement a list longer than one batch. SQLite runs with
the 999-parameter limit of its builds before 3.32 (`old_sqlite_limit`), so a
statement that stops batching fails here on SQLite; PostgreSQL shows the
batched statements give the same answers there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from rituals.schedule import DueOccurrence, OccurrenceStatus
from storage import audit, kudos, org, outbox, shadowing, standups
from storage import rituals as ritual_store
from storage.batching import MAX_PARAMETERS, batch_size, batches
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import Interaction, Member, Occurrence, Outbox, TeamMembership
from storage.occurrences import Status, claim, mark

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("old_sqlite_limit")


def more_than_one_batch(per_item: int) -> int:
    return 2 * batch_size(per_item) + 7


def test_batches_keep_order_and_stay_under_the_smallest_limit() -> None:
    assert MAX_PARAMETERS < 999
    assert list(batches(range(7), per_item=MAX_PARAMETERS // 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], per_item=4)) == []
    assert batch_size(10) * 10 <= MAX_PARAMETERS
    assert batch_size(MAX_PARAMETERS * 2) == 1
    with pytest.raises(ValueError):
        batch_size(0)


def test_the_limit_is_real_on_sqlite(session_factory: sessionmaker[Session]) -> None:
    """Guards the guard: one statement over the limit does fail on this SQLite."""
    if session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the lowered limit is SQLite's")
    with session_factory() as session, pytest.raises(Exception, match="too many SQL variables"):
        session.execute(select(Member.id).where(Member.id.in_(list(range(1000))))).all()


def _profiles(n: int, prefix: str = "U") -> list[org.MemberProfile]:
    return [org.MemberProfile(f"{prefix}{i:06d}", f"Person {i}", "Europe/Paris") for i in range(n)]


def _workspace_with_team(session: Session) -> tuple[int, int]:
    workspace = org.ensure_workspace(session, "T1", NOW)
    team = org.add_team(session, workspace, "Big", "usergroup", "SBIG", NOW)
    return workspace, team.id


def test_upsert_members_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(10)
    with transaction(session_factory) as session:
        workspace, _ = _workspace_with_team(session)
        ids = org.upsert_members(session, workspace, _profiles(n), NOW)
    assert len(ids) == n == len(set(ids.values()))
    renamed = [org.MemberProfile(p.slack_user_id, "Renamed", "Asia/Tokyo") for p in _profiles(n)]
    with transaction(session_factory) as session:
        again = org.upsert_members(session, workspace, [*renamed, renamed[0]], NOW)
        assert again == ids
        assert session.scalar(select(func.count()).select_from(Member)) == n
        assert set(session.scalars(select(Member.display_name))) == {"Renamed"}


def test_team_roster_and_member_teams_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(3)
    with transaction(session_factory) as session:
        workspace, team = _workspace_with_team(session)
        other = org.add_team(session, workspace, "Other", "channel", "COTHER", NOW).id
        ids = org.upsert_members(session, workspace, _profiles(n), NOW)
        everyone = set(ids.values())
        assert org.set_team_roster(session, team, everyone, NOW) == (n, 0)
        partnership = org.add_partnership(
            session,
            workspace,
            "Pair",
            ["Big", "Other"],
            "CJOINT",
            [],
            InterdependenceType.POOLED,
            NOW,
        )
        assert org.member_teams(session, partnership.id, everyone) == dict.fromkeys(everyone, team)
        org.set_team_roster(session, other, everyone, NOW)
        keep = set(sorted(everyone)[:5])
        later = NOW + timedelta(hours=1)
        assert org.set_team_roster(session, team, keep, later) == (0, n - 5)
        assert org.member_teams(session, partnership.id, everyone) == {
            m: team if m in keep else other for m in everyone
        }
        current = select(func.count()).where(
            TeamMembership.team_id == team, TeamMembership.left_at.is_(None)
        )
        assert session.scalar(current) == 5


def _partnership(session: Session, n: int) -> tuple[int, int, list[int]]:
    workspace, team = _workspace_with_team(session)
    org.add_team(session, workspace, "Other", "channel", "COTHER", NOW)
    ids = org.upsert_members(session, workspace, _profiles(n), NOW)
    org.set_team_roster(session, team, set(ids.values()), NOW)
    partnership = org.add_partnership(
        session, workspace, "Pair", ["Big", "Other"], "CJOINT", [], InterdependenceType.POOLED, NOW
    )
    return workspace, partnership.id, [ids[p.slack_user_id] for p in _profiles(n)]


def test_interaction_log_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(10)
    with transaction(session_factory) as session:
        workspace, partnership, members = _partnership(session, 2)
        entries = [
            NewInteraction(
                workspace_id=workspace,
                partnership_id=partnership,
                kind=InteractionKind.KUDOS,
                provider_member_id=members[0],
                beneficiary_member_id=members[1],
                provider_team_id=None,
                beneficiary_team_id=None,
                occurred_at=NOW,
                source=f"test:{i}",
            )
            for i in range(n)
        ]
        assert log(session, *entries) == n
        assert log(session, *entries) == 0
        assert session.scalar(select(func.count()).select_from(Interaction)) == n


def test_known_people_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(1)
    with transaction(session_factory) as session:
        workspace, partnership, _ = _partnership(session, n)
        wanted = [p.slack_user_id for p in _profiles(n)] + ["UNOBODY"]
        found = kudos.known_people(session, workspace, partnership, wanted)
    assert set(found) == set(wanted) - {"UNOBODY"}


def test_kudos_with_many_receivers_reads_back(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(1)
    with transaction(session_factory) as session:
        workspace, partnership, members = _partnership(session, n + 1)
        giver, receivers = members[0], members[1:]
        kudos_id = kudos.add_kudos(
            session,
            kudos.NewKudos(
                workspace_id=workspace,
                partnership_id=partnership,
                giver_member_id=giver,
                giver_team_id=None,
                reason="everyone",
                values=(),
                receivers=[kudos.Receiver(m, None) for m in receivers],
                created_at=NOW,
            ),
        )
        record = kudos.get_kudos(session, kudos_id)
    assert record is not None and len(record.receivers) == n


def _standup(session: Session, n: int) -> tuple[int, int, list[int]]:
    workspace, partnership, members = _partnership(session, n)
    ritual = ritual_store.create(
        session,
        partnership_id=partnership,
        kind=RitualKind.STANDUP,
        cron="30 9 * * 1-5",
        timezone="UTC",
        now=NOW,
    )
    return workspace, ritual.id, members


def test_standup_days_and_prompts_in_batches(session_factory: sessionmaker[Session]) -> None:
    n_days = more_than_one_batch(4)
    n_people = more_than_one_batch(7)
    with transaction(session_factory) as session:
        _, ritual, members = _standup(session, n_people)
        team = session.scalars(select(TeamMembership.team_id)).first()
        assert team is not None
        cutoffs = {date(2026, 1, 1) + timedelta(days=i): NOW for i in range(n_days)}
        days = standups.ensure_days(session, ritual, cutoffs, NOW)
        assert sorted(days) == sorted(cutoffs)
        day = days[date(2026, 1, 1)]
        prompts = [standups.Prompt(m, team, NOW) for m in members]
        assert standups.record_prompts(session, day, prompts) == set()
        answered = members[-3:]
        for member in answered:
            standups.save_answer(
                session,
                day_id=day,
                member_id=member,
                team_id=team,
                answers={"today": "x"},
                answered_at=NOW,
                late=False,
                message_key=None,
            )
        assert standups.record_prompts(session, day, prompts) == set(answered)


def test_outbox_and_audit_lookups_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(1)
    keys = [f"test:{i}" for i in range(n)]
    with transaction(session_factory) as session:
        workspace, _ = _workspace_with_team(session)
        outbox.enqueue(
            session,
            [outbox.OutboundCall(k, "chat.postMessage", {"channel": "C1"}) for k in keys],
            NOW,
        )
        assert standups.outbox_status(session, [*keys, "missing"]) == dict.fromkeys(keys, "pending")
        for key in keys[:3]:
            audit.record(
                session,
                workspace_id=workspace,
                actor="UADMIN",
                action="noted",
                target=key,
                before=None,
                after=None,
                now=NOW,
            )
        assert standups.already_noted(session, workspace, "noted", keys) == set(keys[:3])
        assert outbox.cancel(session, keys, "test") == n
        assert set(session.scalars(select(Outbox.status))) == {"cancelled"}


def test_occurrence_marks_in_batches(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(1)
    with transaction(session_factory) as session:
        _, ritual, _ = _standup(session, 1)
        session.add_all(
            Occurrence(
                ritual_id=ritual,
                subject=f"member:{i}",
                fire_key="2026-03-02",
                fire_at=NOW,
                status="done",
                created_at=NOW,
            )
            for i in range(n)
        )
        session.flush()
        ids = list(session.scalars(select(Occurrence.id)))
        assert mark(session, ids, Status.SKIPPED, "away") == n
        assert set(session.scalars(select(Occurrence.status))) == {"skipped"}


# --- lists of parameter sets: SQLAlchemy splits them under the dialect's limit -----------


def test_occurrence_claims_of_any_size(session_factory: sessionmaker[Session]) -> None:
    n = more_than_one_batch(8)
    with transaction(session_factory) as session:
        _, ritual, _ = _standup(session, 1)
        due = [
            DueOccurrence(ritual, f"member:{i}", "2026-03-02", NOW, "UTC", OccurrenceStatus.DUE)
            for i in range(n)
        ]
        assert len(claim(session, due, NOW).won) == n
        assert claim(session, due, NOW).won == []


def test_shadowing_rounds_of_any_size(session_factory: sessionmaker[Session]) -> None:
    pairs = more_than_one_batch(3)
    with transaction(session_factory) as session:
        _, partnership, members = _partnership(session, 3 * pairs)
        ritual = ritual_store.create(
            session,
            partnership_id=partnership,
            kind=RitualKind.SHADOWING,
            cron="0 10 * * 1",
            timezone="UTC",
            now=NOW,
        )
        round_id = shadowing.create_round(session, ritual.id, 1, NOW.date(), NOW)
        hosts, guests, left = members[:pairs], members[pairs : 2 * pairs], members[2 * pairs :]
        ids = shadowing.add_pairings(
            session,
            round_id,
            [shadowing.NewPairing(h, (g,)) for h, g in zip(hosts, guests, strict=True)],
            None,
        )
        assert len(set(ids)) == pairs
        assert (
            shadowing.add_unpaired(session, round_id, [(m, "odd_one_out") for m in left]) == pairs
        )
        record = shadowing.get_pairing(session, ids[-1])
        assert record is not None
        assert [p.member_id for p in record.participants] == [hosts[-1], guests[-1]]


def test_withdrawing_a_rituals_work_reaches_every_waiting_row(
    session_factory: sessionmaker[Session],
) -> None:
    """Many DMs each with a post waiting on it: the waiting rows are withdrawn in batches."""
    n = more_than_one_batch(1)
    with transaction(session_factory) as session:
        _, ritual_id, _ = _standup(session, 1)
        calls: list[outbox.OutboundCall] = []
        for i in range(n):
            calls.append(outbox.OutboundCall(f"dm:{i}", "conversations.open", {"users": "U1"}))
            calls.append(
                outbox.OutboundCall(
                    f"post:{i}",
                    "chat.postMessage",
                    {"channel": outbox.from_parent("channel.id"), "text": "hi"},
                    parent_key=f"dm:{i}",
                )
            )
        outbox.enqueue(session, calls, NOW, ritual_id=ritual_id)
        # Only the DMs carry the ritual: the posts are reached through their parents.
        session.execute(
            Outbox.__table__.update().where(Outbox.parent_key.is_not(None)).values(ritual_id=None)
        )
    with transaction(session_factory) as session:
        assert outbox.withdraw_for_ritual(session, ritual_id, "paused") == 2 * n
        assert set(session.scalars(select(Outbox.status))) == {"cancelled"}
