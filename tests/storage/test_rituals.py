"""Rituals as rows: validated on save, versioned for admins, paused and resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import Schedule
from storage import org, rituals
from storage.db import transaction

NOW = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def _partnership(session: Session) -> int:
    workspace = org.ensure_workspace(session, "T1", NOW)
    org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW)
    org.add_team(session, workspace, "IT", "usergroup", "S2", NOW)
    partnership = org.add_partnership(
        session,
        workspace,
        "Launch",
        ["Marketing", "IT"],
        "CJOINT",
        [],
        InterdependenceType.RECIPROCAL,
        NOW,
    )
    return partnership.id


def _standup(
    session: Session, partnership_id: int, settings: dict[str, object] | None = None
) -> rituals.RitualSnapshot:
    return rituals.create(
        session,
        partnership_id=partnership_id,
        kind=RitualKind.STANDUP,
        cron="30 9 * * 1-5",
        timezone="member-local",
        now=NOW,
        settings=settings,
    )


def test_a_new_ritual_starts_scheduling_from_its_creation(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        created = _standup(session, _partnership(session), settings={"grace_minutes": 45})
    assert created.version == 1 and not created.paused
    assert created.scheduled_through == NOW
    assert created.channel_id == "CJOINT"
    assert created.is_member_local
    assert created.grace == timedelta(minutes=45)
    assert created.schedule == Schedule("30 9 * * 1-5", "member-local")


def test_schedule_extras_and_default_grace_come_from_settings(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        created = rituals.create(
            session,
            partnership_id=_partnership(session),
            kind=RitualKind.SHADOWING,
            cron="0 15 * * 4",
            timezone="Europe/Berlin",
            channel_id="CSHADOW",
            settings={"every_n_weeks": 2, "anchor_date": "2026-03-05"},
            now=NOW,
        )
    assert created.grace == timedelta(days=1)
    assert created.channel_id == "CSHADOW"
    assert created.schedule.every_n_weeks == 2
    assert created.schedule.anchor_date is not None


@pytest.mark.parametrize(
    "kind, cron, timezone, settings, reason",
    [
        ("retro", "0 9 * * 1", "UTC", {}, "Unknown ritual kind"),
        ("standup", "0 9 * *", "UTC", {}, "needs 5 fields"),
        ("standup", "0 9 * * 1", "Mars/Olympus", {}, "Unknown time zone"),
        ("standup", "0 9 * * 1", "UTC", {"grace_minutes": 0}, "grace_minutes"),
        ("standup", "0 9 * * 1", "UTC", {"every_n_weeks": 0}, "every_n_weeks"),
    ],
)
def test_an_invalid_ritual_is_refused_with_the_reason(
    session_factory: sessionmaker[Session],
    kind: str,
    cron: str,
    timezone: str,
    settings: dict[str, object],
    reason: str,
) -> None:
    with transaction(session_factory) as session:
        partnership_id = _partnership(session)
    with pytest.raises(rituals.InvalidRitual, match=reason), transaction(session_factory) as s:
        rituals.create(
            s,
            partnership_id=partnership_id,
            kind=kind,
            cron=cron,
            timezone=timezone,
            settings=settings,
            now=NOW,
        )


def test_an_edit_needs_the_version_it_was_based_on(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        created = _standup(session, _partnership(session))
    later = NOW + timedelta(minutes=5)
    with transaction(session_factory) as session:
        edited = rituals.update_ritual(
            session, created.id, expected_version=1, now=later, cron="0 10 * * 1-5"
        )
    assert (edited.cron, edited.version, edited.timezone) == ("0 10 * * 1-5", 2, "member-local")
    with pytest.raises(rituals.StaleVersion) as raised, transaction(session_factory) as session:
        rituals.update_ritual(session, created.id, expected_version=1, now=later, cron="0 8 * * *")
    assert raised.value.current == 2
    with pytest.raises(rituals.InvalidRitual), transaction(session_factory) as session:
        rituals.update_ritual(session, created.id, expected_version=2, now=later, cron="nope")
    with pytest.raises(rituals.RitualNotFound), transaction(session_factory) as session:
        rituals.update_ritual(session, 999, expected_version=1, now=later, cron="0 8 * * *")


def test_the_tick_bookkeeping_never_makes_an_admin_save_stale(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        created = _standup(session, _partnership(session))
    with transaction(session_factory) as session:
        assert rituals.advance_scheduled_through(session, [created.id], NOW + timedelta(hours=1))
        assert not rituals.advance_scheduled_through(session, [created.id], NOW)
    with transaction(session_factory) as session:
        edited = rituals.update_ritual(
            session, created.id, expected_version=1, now=NOW, channel_id="COTHER"
        )
    assert edited.scheduled_through == NOW + timedelta(hours=1)
    assert edited.channel_id == "COTHER"


def test_paused_rituals_are_not_active_and_resume_from_now(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        partnership_id = _partnership(session)
        first = _standup(session, partnership_id)
        second = _standup(session, partnership_id)
    with transaction(session_factory) as session:
        rituals.pause(session, first.id, NOW, expected_version=1)
    with session_factory() as session:
        assert [r.id for r in rituals.list_active(session)] == [second.id]
        assert len(rituals.list_for_partnership(session, partnership_id)) == 2
    resumed_at = NOW + timedelta(days=3)
    with transaction(session_factory) as session:
        resumed = rituals.resume(session, first.id, resumed_at)
    assert not resumed.paused and resumed.version == 3
    assert resumed.scheduled_through == resumed_at
    assert resumed.audit_fields()["paused"] is False


def test_the_roster_is_the_current_active_members_of_the_partnership_teams(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        partnership_id = _partnership(session)
        workspace = org.ensure_workspace(session, "T1", NOW)
        ids = org.upsert_members(
            session,
            workspace,
            [
                org.MemberProfile("U1", "ana", "Europe/Berlin"),
                org.MemberProfile("U2", "bo", None),
                org.MemberProfile("U3", "cy", "Europe/Berlin", is_bot=True),
                org.MemberProfile("U4", "di", "Asia/Tokyo"),
                org.MemberProfile("U5", "ed", "America/New_York"),
            ],
            NOW,
        )
        marketing = org.find_team(session, workspace, "Marketing")
        it = org.find_team(session, workspace, "IT")
        assert marketing is not None and it is not None
        org.set_team_roster(session, marketing.id, {ids["U1"], ids["U2"], ids["U3"]}, NOW)
        org.set_team_roster(session, it.id, {ids["U1"], ids["U4"], ids["U5"]}, NOW)
        org.set_team_roster(session, it.id, {ids["U1"], ids["U4"]}, NOW)  # U5 left
    with session_factory() as session:
        zones = rituals.roster_zones(session, partnership_id)
        berlin_or_none = rituals.roster_members(session, partnership_id, {"Europe/Berlin", None})
        tokyo = rituals.roster_members(session, partnership_id, {"Asia/Tokyo"})
    assert set(zones) == {"Europe/Berlin", None, "Asia/Tokyo"}
    assert berlin_or_none == [(ids["U1"], "Europe/Berlin"), (ids["U2"], None)]
    assert tokyo == [(ids["U4"], "Asia/Tokyo")]
