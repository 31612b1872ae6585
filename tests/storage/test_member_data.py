"""A member's own data: the export holds all of it, and forgetting erases it but no figure moves."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.digest import Month, compute_digest
from rituals.interactions import RitualKind
from storage import home, member_data, outbox, standups
from storage import kudos as kudos_store
from storage import rituals as ritual_store
from storage import shadowing as shadow_store
from storage.balance_snapshots import drop_snapshots
from storage.db import transaction
from storage.models import (
    BalanceSnapshot,
    ForgottenMember,
    HomeView,
    Interaction,
    Kudos,
    Member,
    Outbox,
    ShadowPairing,
    StandupAnswer,
    TeamMembership,
)
from tests.bot.test_digest import MARCH, World, add, busy_month, digest_for, flows, seed_world

APRIL = Month(2025, 4)
FORGOTTEN_AT = datetime(2025, 4, 15, 12, 0, tzinfo=UTC)
WHO = "UMAR2"


def _life(sessions: sessionmaker[Session], world: World) -> dict[str, int]:
    """WHO helps, is helped, gives kudos, answers a standup and reflects on a shadowing session."""
    add(sessions, busy_month(world, MARCH, 12, 9) + busy_month(world, APRIL, 5, 7))
    add(sessions, flows(world, "IT", "UIT3", "Marketing", WHO, datetime(2025, 4, 3, tzinfo=UTC), 2))
    me, partner = world.member(WHO), world.member("UIT1")
    with transaction(sessions) as s:
        kudos_id = kudos_store.add_kudos(
            s,
            kudos_store.NewKudos(
                workspace_id=world.workspace_id,
                partnership_id=world.partnership_id,
                giver_member_id=me,
                giver_team_id=world.teams["Marketing"],
                reason="for fixing the launch page",
                values=("craft",),
                receivers=[kudos_store.Receiver(partner, world.teams["IT"])],
                created_at=datetime(2025, 3, 20, tzinfo=UTC),
            ),
        )
        standup = ritual_store.create(
            s,
            partnership_id=world.partnership_id,
            kind=RitualKind.STANDUP,
            cron="30 9 * * 1-5",
            timezone="UTC",
            now=datetime(2025, 3, 1, tzinfo=UTC),
        )
        day = standups.ensure_days(
            s, standup.id, {date(2025, 3, 10): datetime(2025, 3, 10, 17, tzinfo=UTC)}, FORGOTTEN_AT
        )[date(2025, 3, 10)]
        standups.save_answer(
            s,
            day_id=day,
            member_id=me,
            team_id=world.teams["Marketing"],
            answers={"today": "the secret roadmap"},
            answered_at=datetime(2025, 3, 10, 9, 40, tzinfo=UTC),
            late=False,
            message_key=None,
        )
        shadowing = ritual_store.create(
            s,
            partnership_id=world.partnership_id,
            kind=RitualKind.SHADOWING,
            cron="0 10 * * 1",
            timezone="UTC",
            now=datetime(2025, 3, 1, tzinfo=UTC),
        )
        round_id = shadow_store.create_round(s, shadowing.id, 1, date(2025, 3, 3), FORGOTTEN_AT)
        (pairing,) = shadow_store.add_pairings(
            s, round_id, [shadow_store.NewPairing(partner, (me,))], None
        )
        shadow_store.close(
            s, pairing, shadow_store.PairingStatus.MET, met_at=datetime(2025, 3, 4, tzinfo=UTC)
        )
        shadow_store.save_reflection(
            s, pairing, "how deploys work", "send briefs earlier", FORGOTTEN_AT
        )
        home.lock_home(s, world.workspace_id, WHO, FORGOTTEN_AT)
        outbox.enqueue(
            s,
            [
                outbox.OutboundCall(
                    member_data.export_key_prefix(world.workspace_id, WHO) + "1",
                    "chat.postMessage",
                    {"channel": WHO, "text": "your data"},
                ),
                outbox.OutboundCall("prompt:UMAR2", "chat.postMessage", {"channel": WHO}),
                outbox.OutboundCall("prompt:UMAR3", "chat.postMessage", {"channel": "UMAR3"}),
            ],
            FORGOTTEN_AT,
            world.workspace_id,
        )
    return {"kudos": kudos_id, "pairing": pairing}


def test_the_export_holds_everything_about_the_member(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    _life(session_factory, world)
    with session_factory() as s:
        member_id = member_data.find_member_id(s, world.workspace_id, WHO)
        assert member_id is not None
        data = member_data.member_data(s, member_id)
        theirs = s.scalar(
            select(func.count()).where(
                (Interaction.provider_member_id == member_id)
                | (Interaction.beneficiary_member_id == member_id)
            )
        )
    assert data is not None
    assert data.profile.slack_user_id == WHO and data.profile.display_name == "Marketing person 2"
    assert [seat.team for seat in data.teams] == ["Marketing"]
    assert len(data.interactions) == theirs > 0
    received = [i for i in data.interactions if i.occurred_at == datetime(2025, 4, 3, tzinfo=UTC)]
    assert len(received) == 2 and {(i.role, i.other_person) for i in received} == {
        ("beneficiary", "UIT3")
    }
    assert received[0].own_team == "Marketing" and received[0].other_team == "IT"
    (answer,) = data.standup_answers
    assert answer.answers == {"today": "the secret roadmap"}
    (session,) = data.shadowing
    assert (session.role, session.partners) == ("shadower", ("UIT1",))
    assert session.reflection_learned == "how deploys work"
    (kudos,) = data.kudos
    assert (kudos.role, kudos.receivers, kudos.reason) == (
        "given",
        ("UIT1",),
        "for fixing the launch page",
    )
    with session_factory() as s:
        partner = member_data.member_data(s, world.member("UIT1"))
    assert partner is not None
    assert [k.role for k in partner.kudos] == ["received"]
    assert [e.role for e in partner.shadowing] == ["host"]


def _snapshots(sessions: sessionmaker[Session]) -> list[tuple[str, dict[str, Any]]]:
    with sessions() as s:
        return [
            (month, figures)
            for month, figures in s.execute(
                select(BalanceSnapshot.month, BalanceSnapshot.figures).order_by(
                    BalanceSnapshot.month
                )
            )
        ]


def test_forgetting_erases_the_member_and_leaves_every_figure_as_it_was(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    ids = _life(session_factory, world)
    before = [digest_for(session_factory, world, m) for m in (MARCH, APRIL)]
    with transaction(session_factory) as s:  # March is over: its figures are stored
        assert compute_digest(s, world.partnership_id, MARCH, FORGOTTEN_AT) == before[0]
    snapshots = _snapshots(session_factory)
    member_id = world.member(WHO)
    with session_factory() as s:
        log_before = s.execute(select(Interaction).order_by(Interaction.id)).scalars().all()
        log_before = [
            (i.provider_member_id, i.beneficiary_member_id, i.provider_team_id, i.kind)
            for i in log_before
        ]

    with transaction(session_factory) as s:
        done = member_data.forget_member(s, world.workspace_id, WHO, FORGOTTEN_AT)
    assert done is not None
    assert (done.answers, done.reflections, done.teams_left, done.cancelled) == (1, 1, 1, 1)
    assert member_data.is_anonymous(done.anonymous_id)

    after = [digest_for(session_factory, world, m) for m in (MARCH, APRIL)]
    assert after == before
    # The stored months hold teams' figures only: forgetting leaves them, and a recompute
    # from the log, where the placeholder stands in for the member, finds the same.
    assert _snapshots(session_factory) == snapshots
    with transaction(session_factory) as s:
        assert drop_snapshots(s, world.partnership_id) == len(snapshots)
        assert compute_digest(s, world.partnership_id, MARCH, FORGOTTEN_AT) == before[0]
    assert _snapshots(session_factory) == snapshots
    with session_factory() as s:
        log_after = [
            (i.provider_member_id, i.beneficiary_member_id, i.provider_team_id, i.kind)
            for i in s.execute(select(Interaction).order_by(Interaction.id)).scalars()
        ]
        assert log_after == log_before
        placeholder = s.get(Member, member_id)
        assert placeholder is not None
        assert placeholder.slack_user_id == done.anonymous_id
        assert (placeholder.display_name, placeholder.tz, placeholder.is_deleted) == (
            "",
            None,
            True,
        )
        assert s.scalar(select(func.count()).where(Member.slack_user_id == WHO)) == 0
        answer = s.execute(
            select(StandupAnswer.answers, StandupAnswer.answered_at).where(
                StandupAnswer.member_id == member_id
            )
        ).one()
        assert tuple(answer) == ({}, None)
        pairing = s.get(ShadowPairing, ids["pairing"])
        assert pairing is not None
        assert (pairing.reflection_learned, pairing.reflection_handoff) == (None, None)
        assert (
            s.scalar(
                select(func.count()).where(
                    TeamMembership.member_id == member_id, TeamMembership.left_at.is_(None)
                )
            )
            == 0
        )
        assert s.scalar(select(func.count()).select_from(HomeView)) == 0
        statuses = dict(s.execute(select(Outbox.idempotency_key, Outbox.status)).all())
        assert statuses == {"prompt:UMAR2": "cancelled", "prompt:UMAR3": "pending"}
        # Kudos already posted stay, now given by the placeholder.
        kudos = s.get(Kudos, ids["kudos"])
        assert kudos is not None and kudos.giver_member_id == member_id
    with session_factory() as s:
        assert member_data.find_member_id(s, world.workspace_id, WHO) is None
        remains = member_data.member_data(s, member_id)
    assert remains is not None
    assert remains.profile.slack_user_id == done.anonymous_id
    assert [a.answers for a in remains.standup_answers] == [{}]


def test_forgetting_someone_unknown_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    world = seed_world(session_factory)
    with transaction(session_factory) as s:
        assert member_data.forget_member(s, world.workspace_id, "UNOBODY", FORGOTTEN_AT) is None
        assert s.scalar(select(func.count()).where(Member.is_deleted.is_(True))) == 0


def test_each_forgotten_member_gets_an_anonymous_id_of_their_own(
    session_factory: sessionmaker[Session],
) -> None:
    world = seed_world(session_factory)
    with transaction(session_factory) as s:
        first = member_data.forget_member(s, world.workspace_id, "UMAR3", FORGOTTEN_AT)
        second = member_data.forget_member(s, world.workspace_id, "UMAR4", FORGOTTEN_AT)
    assert first is not None and second is not None
    assert first.anonymous_id != second.anonymous_id


def test_forgetting_leaves_a_marker_that_names_nobody(
    session_factory: sessionmaker[Session],
) -> None:
    """Team sync asks which of a page's ids were forgotten; the table holds no Slack id."""
    world = seed_world(session_factory)
    with transaction(session_factory) as s:
        assert member_data.forgotten_among(s, world.workspace_id, [WHO, "UMAR3"]) == set()
        member_data.forget_member(s, world.workspace_id, WHO, FORGOTTEN_AT)
    with session_factory() as s:
        assert member_data.forgotten_among(s, world.workspace_id, [WHO, "UMAR3"]) == {WHO}
        assert member_data.forgotten_among(s, world.workspace_id + 1, [WHO]) == set()
        (marker,) = s.scalars(select(ForgottenMember)).all()
    assert marker.id_hash == member_data.forgotten_hash(WHO) and WHO not in marker.id_hash
    assert marker.forgotten_at == FORGOTTEN_AT


def test_kpi_check_ins_and_an_open_pulse_answer_are_exported_then_forgotten(
    session_factory: sessionmaker[Session],
) -> None:
    from rituals.kpi import Cadence, Direction
    from storage import kpis, pulse
    from storage.models import KpiCheckin, KpiOwner, PulseAnswer, PulseRespondent

    world = seed_world(session_factory)
    me, other = world.member(WHO), world.member("UIT1")
    with transaction(session_factory) as s:
        kpi_id = kpis.add_kpi(
            s,
            kpis.NewKpi(
                world.workspace_id,
                world.partnership_id,
                "Lead time",
                "days",
                Direction.LOWER,
                20.0,
                10.0,
                date(2025, 3, 1),
                date(2025, 6, 30),
                Cadence.WEEKLY,
                "UMAR1",
                ((me, world.teams["Marketing"]), (other, world.teams["IT"])),
            ),
            FORGOTTEN_AT,
        )
        kpis.add_checkin(
            s, kpi_id, me, world.teams["Marketing"], "2025-W15", 18.0, "our secret", FORGOTTEN_AT
        )
        rnd = pulse.open_round(s, world.partnership_id, "2025-04", {world.teams["Marketing"]: 6})
        pulse.answer(s, rnd.id, me, world.teams["Marketing"], 2, "my candid view")
    with session_factory() as s:
        data = member_data.member_data(s, me)
    assert data is not None
    assert data.kpis_owned == ("Lead time",)
    [checkin] = data.kpi_checkins
    assert (checkin.kpi, checkin.value, checkin.note) == ("Lead time", 18.0, "our secret")
    [answer] = data.pulse_answers
    assert (answer.month, answer.score, answer.comment) == ("2025-04", 2, "my candid view")

    with transaction(session_factory) as s:
        member_data.forget_member(s, world.workspace_id, WHO, FORGOTTEN_AT)
    with session_factory() as s:
        row = s.scalars(select(KpiCheckin)).one()
        assert (row.member_id, row.note, row.value) == (None, "", 18.0)
        assert s.scalars(select(KpiOwner.member_id)).all() == [other]
        assert s.scalars(select(PulseRespondent)).all() == []
        assert s.scalar(select(func.count()).select_from(PulseAnswer)) == 1  # kept, unlinked
        data = member_data.member_data(s, me)
    assert data is not None and data.kpi_checkins == () and data.pulse_answers == ()
