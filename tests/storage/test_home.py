"""What App Home reads and remembers, and deleting a ritual, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InterdependenceType, RitualKind
from storage import home, org, outbox
from storage import rituals as ritual_store
from storage.db import transaction
from storage.models import Occurrence
from storage.occurrences import insert_manual
from storage.outbox import OutboundCall
from storage.rituals import RitualNotFound

NOW = datetime(2026, 3, 9, 8, tzinfo=UTC)


def _partnership(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(sessions) as session:
        workspace = org.ensure_workspace(session, "T1", NOW)
        org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW)
        org.add_team(session, workspace, "IT", "channel", "C1", NOW)
        ids = org.upsert_members(
            session, workspace, [org.MemberProfile("U1", "Ana", "Europe/London")], NOW
        )
        marketing = org.find_team(session, workspace, "Marketing")
        assert marketing is not None
        org.set_team_roster(session, marketing.id, {ids["U1"]}, NOW)
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing", "IT"],
            "CJOINT",
            ["U1"],
            InterdependenceType.RECIPROCAL,
            NOW,
        )
        return workspace, partnership.id


def test_home_revisions_start_at_zero_and_move_with_each_publish(
    session_factory: sessionmaker[Session],
) -> None:
    workspace, _ = _partnership(session_factory)
    with transaction(session_factory) as session:
        assert home.lock_home(session, workspace, "U1", NOW) == home.HomeRevision(0, "")
        home.record_home(session, workspace, "U1", 1, "abc", NOW)
    with transaction(session_factory) as session:
        assert home.lock_home(session, workspace, "U1", NOW) == home.HomeRevision(1, "abc")
        assert home.lock_home(session, workspace, "U2", NOW) == home.HomeRevision(0, "")


def test_outbox_counts_leave_out_home_publishes(session_factory: sessionmaker[Session]) -> None:
    workspace, _ = _partnership(session_factory)
    with transaction(session_factory) as session:
        outbox.enqueue(
            session,
            [
                OutboundCall("a", "chat.postMessage", {"channel": "C1", "text": "x"}),
                OutboundCall("home:1:U1:r1:x", "views.publish", {"user_id": "U1", "view": {}}),
            ],
            NOW,
            workspace,
        )
    with session_factory() as session:
        counts = home.outbox_counts(session, workspace)
        assert (counts.pending, counts.retrying, counts.dead) == (1, 0, 0)
        assert outbox.counts(session, workspace).pending == 2


def test_partnership_lines_members_and_settings(session_factory: sessionmaker[Session]) -> None:
    workspace, partnership = _partnership(session_factory)
    with transaction(session_factory) as session:
        [line] = home.partnership_lines(session, workspace)
        assert [(t.name, t.member_count) for t in line.teams] == [("Marketing", 1), ("IT", 0)]
        assert line.leader_ids == ("U1",)
        assert home.find_partnership_id(session, workspace, "launch") == partnership
        assert home.find_partnership_id(session, workspace, str(partnership)) == partnership
        assert home.find_partnership_id(session, workspace, "nope") is None
        facts = home.member_facts(session, workspace, "U1")
        assert facts is not None and len(facts.team_ids) == 1
        before, after = home.change_partnership_settings(
            session, partnership, {"kudos_daily_limit": 3, "kudos_values": None}
        )
        assert before == {"kudos_daily_limit": None, "kudos_values": None}
        assert after == {"kudos_daily_limit": 3, "kudos_values": None}
        assert home.set_leaders(session, partnership, ("U2", "U1", "U2")) == (
            ["U1"],
            ["U1", "U2"],
        )
    with session_factory() as session:
        [line] = home.partnership_lines(session, workspace, partnership)
        assert line.settings == {"kudos_daily_limit": 3}
        assert line.leader_ids == ("U1", "U2")


def test_deleting_a_ritual_takes_its_occurrences_with_it(
    session_factory: sessionmaker[Session],
) -> None:
    _, partnership = _partnership(session_factory)
    with transaction(session_factory) as session:
        ritual = ritual_store.create(
            session,
            partnership_id=partnership,
            kind=RitualKind.KUDOS_PROMPT,
            cron="0 15 * * 4",
            timezone="member-local",
            now=NOW,
        )
        insert_manual(session, ritual.id, NOW)
    with transaction(session_factory) as session:
        gone = ritual_store.delete(session, ritual.id)
        assert gone.kind == "kudos_prompt"
    with transaction(session_factory) as session:
        assert ritual_store.get(session, ritual.id) is None
        assert session.scalar(select(func.count()).select_from(Occurrence)) == 0
        with pytest.raises(RitualNotFound):
            ritual_store.delete(session, ritual.id)
