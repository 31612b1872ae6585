"""Kudos rows: one write per kudos, +1s once per person, and the counts limits and stats use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from rituals.kudos import WorkTie
from storage import kudos as store
from storage import org, rituals
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import (
    Interaction,
    KudosRecipient,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
    StandupAnswer,
    StandupAsk,
    StandupDay,
)

NOW = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)


@dataclass
class World:
    workspace: int
    partnership: int
    marketing: int
    it: int
    ids: dict[str, int]  # slack id -> member id


def _world(session: Session) -> World:
    workspace = org.ensure_workspace(session, "T1", NOW)
    marketing = org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW).id
    it = org.add_team(session, workspace, "IT", "usergroup", "S2", NOW).id
    ids = org.upsert_members(
        session,
        workspace,
        [
            org.MemberProfile("UANA", "ana", "Europe/London"),
            org.MemberProfile("UBEN", "ben", "Europe/London"),
            org.MemberProfile("UIVY", "ivy", "Asia/Kolkata"),
            org.MemberProfile("UJO", "jo", None),
            org.MemberProfile("UOUT", "out", "UTC"),
        ],
        NOW - timedelta(days=30),
    )
    org.set_team_roster(session, marketing, {ids["UANA"], ids["UBEN"]}, NOW - timedelta(days=30))
    org.set_team_roster(session, it, {ids["UIVY"], ids["UJO"]}, NOW - timedelta(days=30))
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
    return World(workspace, partnership.id, marketing, it, ids)


def _give(
    session: Session,
    w: World,
    giver: str,
    to: list[str],
    at: datetime = NOW,
    values: tuple[str, ...] = (),
) -> int:
    team_of = {"UANA": w.marketing, "UBEN": w.marketing, "UIVY": w.it, "UJO": w.it}
    return store.add_kudos(
        session,
        store.NewKudos(
            workspace_id=w.workspace,
            partnership_id=w.partnership,
            giver_member_id=w.ids[giver],
            giver_team_id=team_of[giver],
            reason="the launch",
            values=values,
            receivers=[store.Receiver(w.ids[u], team_of.get(u)) for u in to],
            created_at=at,
        ),
    )


def test_a_kudos_is_written_with_its_recipients_and_one_interaction_each(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        kudos_id = _give(session, w, "UANA", ["UIVY", "UBEN"], values=("ownership",))
        store.set_post_key(session, kudos_id, "kudos:1:post")
    with session_factory() as session:
        record = store.get_kudos(session, kudos_id)
        assert record is not None
        assert record.cross_team and record.values == ("ownership",)
        assert record.post_key == "kudos:1:post" and record.channel_id == "CJOINT"
        assert record.giver_slack_user_id == "UANA" and record.giver_team_id == w.marketing
        assert {(r.slack_user_id, r.team_id) for r in record.receivers} == {
            ("UIVY", w.it),
            ("UBEN", w.marketing),
        }
        rows = session.scalars(select(Interaction).order_by(Interaction.id)).all()
        # Direction: the receiver gave something to the giver.
        assert {(r.provider_member_id, r.beneficiary_member_id) for r in rows} == {
            (w.ids["UIVY"], w.ids["UANA"]),
            (w.ids["UBEN"], w.ids["UANA"]),
        }
        assert all(r.kind == InteractionKind.KUDOS.value for r in rows)
        assert all(r.tags == ["ownership"] for r in rows)
        assert {r.source for r in rows} == {
            f"kudos:{kudos_id}:{w.ids['UIVY']}",
            f"kudos:{kudos_id}:{w.ids['UBEN']}",
        }


def test_same_team_kudos_are_not_cross_team(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        kudos_id = _give(session, w, "UANA", ["UBEN"])
        record = store.get_kudos(session, kudos_id)
        assert record is not None and not record.cross_team


def test_counted_today_uses_a_half_open_window_and_can_skip_cross_team(
    session_factory: sessionmaker[Session],
) -> None:
    start, end = NOW.replace(hour=0), NOW.replace(hour=0) + timedelta(days=1)
    with transaction(session_factory) as session:
        w = _world(session)
        _give(session, w, "UANA", ["UBEN", "UIVY"])  # one same-team, one cross-team
        _give(session, w, "UANA", ["UBEN"], at=start)  # first instant of the day counts
        _give(session, w, "UANA", ["UBEN"], at=end)  # the next day's first instant does not
        _give(session, w, "UANA", ["UIVY"], at=start - timedelta(microseconds=1))
        _give(session, w, "UBEN", ["UANA"])  # someone else's
    with session_factory() as session:
        giver = w.ids["UANA"]
        assert store.counted_today(session, giver, start, end, cross_team_exempt=False) == 3
        assert store.counted_today(session, giver, start, end, cross_team_exempt=True) == 2


def test_a_second_is_logged_once_per_person(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        kudos_id = _give(session, w, "UANA", ["UIVY", "UJO"], values=("ownership",))
    for _ in range(2):
        with transaction(session_factory) as session:
            record = store.get_kudos(session, kudos_id, lock=True)
            assert record is not None
            added = store.add_second(session, record, w.ids["UBEN"], w.marketing, NOW)
            assert added is (_ == 0)
    with transaction(session_factory) as session:
        record = store.get_kudos(session, kudos_id)
        assert record is not None
        assert store.add_second(session, record, w.ids["UOUT"], None, NOW)
    with session_factory() as session:
        assert store.second_count(session, kudos_id) == 2
        assert store.has_seconded(session, kudos_id, w.ids["UBEN"])
        assert not store.has_seconded(session, kudos_id, w.ids["UANA"])
        seconds = session.scalars(
            select(Interaction).where(Interaction.kind == InteractionKind.KUDOS_SECOND.value)
        ).all()
        # Each receiver -> each seconder, tagged like the kudos.
        assert sorted((r.provider_member_id, r.beneficiary_member_id) for r in seconds) == sorted(
            [
                (w.ids["UIVY"], w.ids["UBEN"]),
                (w.ids["UJO"], w.ids["UBEN"]),
                (w.ids["UIVY"], w.ids["UOUT"]),
                (w.ids["UJO"], w.ids["UOUT"]),
            ]
        )
        ben = [r for r in seconds if r.beneficiary_member_id == w.ids["UBEN"]]
        assert all(r.beneficiary_team_id == w.marketing and r.tags == ["ownership"] for r in ben)


def test_month_stats_are_the_members_own(session_factory: sessionmaker[Session]) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    with transaction(session_factory) as session:
        w = _world(session)
        first = _give(session, w, "UANA", ["UIVY", "UJO"])
        _give(session, w, "UANA", ["UIVY"])
        _give(session, w, "UANA", ["UBEN"])
        _give(session, w, "UANA", ["UIVY"], at=end)  # next month
        _give(session, w, "UIVY", ["UANA"])
        _give(session, w, "UBEN", ["UANA"], at=start - timedelta(seconds=1))  # last month
        record = store.get_kudos(session, first)
        assert record is not None
        store.add_second(session, record, w.ids["UBEN"], w.marketing, NOW)
    with session_factory() as session:
        ana = store.month_stats(session, w.ids["UANA"], start, end)
        ivy = store.month_stats(session, w.ids["UIVY"], start, end)
    assert ana == store.MonthStats(
        given=3,
        people_thanked=3,
        received=1,
        cross_team_given=2,
        cross_team_received=1,
        seconds_received=0,
    )
    assert ivy.received == 2 and ivy.given == 1 and ivy.seconds_received == 1


def test_cross_team_givers_since(session_factory: sessionmaker[Session]) -> None:
    monday = datetime(2026, 3, 9, tzinfo=UTC)
    with transaction(session_factory) as session:
        w = _world(session)
        _give(session, w, "UANA", ["UIVY"], at=monday - timedelta(seconds=1))
        _give(session, w, "UBEN", ["UANA"], at=NOW)  # same team
        _give(session, w, "UIVY", ["UBEN"], at=monday)
        _give(session, w, "UIVY", ["UBEN"], at=NOW)
    with session_factory() as session:
        found = store.cross_team_givers_since(session, w.partnership, monday)
    assert found == {w.ids["UIVY"]: NOW}


def test_known_people_have_one_team_in_the_partnership(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        # Jo joins Marketing later as well; Jo still counts for IT, joined first.
        org.set_team_roster(session, w.marketing, {w.ids["UANA"], w.ids["UBEN"], w.ids["UJO"]}, NOW)
        org.upsert_members(
            session, w.workspace, [org.MemberProfile("UBOT", "", None, is_bot=True)], NOW
        )
        found = store.known_people(
            session, w.workspace, w.partnership, ["UJO", "UOUT", "UBOT", "UNEW"]
        )
    assert set(found) == {"UJO", "UOUT", "UBOT"}
    assert found["UJO"].team_id == w.it
    assert found["UOUT"].team_id is None
    assert found["UBOT"].is_bot and found["UBOT"].team_id is None


def test_member_partnerships_oldest_first(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        org.add_team(session, w.workspace, "Sales", "usergroup", "S3", NOW)
        second = org.add_partnership(
            session,
            w.workspace,
            "Sales",
            ["Sales", "Marketing"],
            "CSALES",
            [],
            InterdependenceType.POOLED,
            NOW,
        )
        second.settings = {"kudos_values": ["ownership"], "kudos_daily_limit": 2}
    with session_factory() as session:
        found = store.member_partnerships(session, w.workspace, "UANA")
        assert [p.channel_id for p in found] == ["CJOINT", "CSALES"]
        assert found[1].kudos == store.KudosSettings(values=("ownership",), daily_limit=2)
        assert [p.channel_id for p in store.member_partnerships(session, w.workspace, "UIVY")] == [
            "CJOINT"
        ]
        assert store.member_partnerships(session, w.workspace, "UOUT") == []


def test_kudos_settings_fall_back_on_bad_values() -> None:
    assert store.KudosSettings.from_partnership(None) == store.KudosSettings()
    odd = {"kudos_values": "ownership", "kudos_daily_limit": "lots", "kudos_cross_team_exempt": 1}
    assert store.KudosSettings.from_partnership(odd) == store.KudosSettings(cross_team_exempt=True)
    assert store.KudosSettings.from_partnership({"kudos_daily_limit": True}).daily_limit == 5


def test_worked_with_reads_shadowing_asks_and_the_log(
    session_factory: sessionmaker[Session],
) -> None:
    since = NOW - timedelta(days=28)
    with transaction(session_factory) as session:
        w = _world(session)
        shadowing = rituals.create(
            session,
            partnership_id=w.partnership,
            kind=RitualKind.SHADOWING,
            cron="0 10 * * 1",
            timezone="UTC",
            now=NOW - timedelta(days=40),
        )
        standup = rituals.create(
            session,
            partnership_id=w.partnership,
            kind=RitualKind.STANDUP,
            cron="30 9 * * 1-5",
            timezone="UTC",
            now=NOW - timedelta(days=40),
        )
        old = ShadowRound(
            ritual_id=shadowing.id,
            round_no=1,
            round_date=date(2026, 1, 5),
            created_at=NOW - timedelta(days=60),
        )
        recent = ShadowRound(
            ritual_id=shadowing.id,
            round_no=2,
            round_date=date(2026, 3, 9),
            created_at=NOW - timedelta(days=3),
        )
        session.add_all([old, recent])
        session.flush()
        for round_, host in ((old, "UJO"), (recent, "UIVY")):
            pairing = ShadowPairing(round_id=round_.id)
            session.add(pairing)
            session.flush()
            session.add_all(
                [
                    ShadowParticipant(pairing_id=pairing.id, member_id=w.ids[host], role="host"),
                    ShadowParticipant(
                        pairing_id=pairing.id, member_id=w.ids["UANA"], role="shadower"
                    ),
                ]
            )
        day = StandupDay(
            ritual_id=standup.id, local_date=date(2026, 3, 10), cutoff_at=NOW, created_at=NOW
        )
        session.add(day)
        session.flush()
        answer = StandupAnswer(standup_day_id=day.id, member_id=w.ids["UBEN"], answers={})
        session.add(answer)
        session.flush()
        session.add_all(
            [
                StandupAsk(
                    answer_id=answer.id,
                    partnership_id=w.partnership,
                    requester_member_id=w.ids["UBEN"],
                    helper_member_id=w.ids["UJO"],
                    created_at=NOW - timedelta(days=2),
                    first_offer_at=NOW - timedelta(days=1),
                ),
                StandupAsk(
                    answer_id=answer.id,
                    partnership_id=w.partnership,
                    requester_member_id=w.ids["UBEN"],
                    helper_member_id=None,
                    created_at=NOW - timedelta(days=2),
                ),
            ]
        )
        log(
            session,
            NewInteraction(
                w.workspace,
                w.partnership,
                InteractionKind.MENTION,
                w.ids["UIVY"],
                w.ids["UBEN"],
                w.it,
                w.marketing,
                NOW - timedelta(days=1),
            ),
            NewInteraction(
                w.workspace,
                w.partnership,
                InteractionKind.KUDOS,
                w.ids["UJO"],
                w.ids["UBEN"],
                w.it,
                w.marketing,
                NOW - timedelta(days=1),
            ),
        )
    with session_factory() as session:
        ties = store.worked_with_since(session, w.partnership, since)
    found = {(t.member_id, t.other_member_id, t.tie) for t in ties}
    assert found == {
        (w.ids["UANA"], w.ids["UIVY"], WorkTie.SHADOWING_PARTNER),
        (w.ids["UIVY"], w.ids["UANA"], WorkTie.SHADOWING_PARTNER),
        (w.ids["UBEN"], w.ids["UJO"], WorkTie.ANSWERED_ASK),
        (w.ids["UBEN"], w.ids["UIVY"], WorkTie.MENTIONED),
    }
    ask = next(t for t in ties if t.tie is WorkTie.ANSWERED_ASK)
    assert ask.at == NOW - timedelta(days=1)


def test_recipients_are_unique_per_kudos(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        w = _world(session)
        kudos_id = _give(session, w, "UANA", ["UIVY"])
    with session_factory() as session:
        rows = session.scalars(
            select(KudosRecipient).where(KudosRecipient.kudos_id == kudos_id)
        ).all()
        assert [r.member_id for r in rows] == [w.ids["UIVY"]]


def test_leaderboard_ranks_receivers_in_the_window_ties_by_name(
    session_factory: sessionmaker[Session],
) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    with transaction(session_factory) as session:
        w = _world(session)
        _give(session, w, "UANA", ["UIVY", "UJO"])  # cross-team
        _give(session, w, "UBEN", ["UIVY"])  # cross-team
        _give(session, w, "UANA", ["UBEN"], at=start)  # same team, first instant counts
        _give(session, w, "UIVY", ["UANA"], at=start - timedelta(seconds=1))  # last month
        _give(session, w, "UJO", ["UANA", "UBEN"], at=end)  # next month
        other = org.add_partnership(
            session, w.workspace, "Other", ["IT"], "COTHER", [], InterdependenceType.POOLED, NOW
        )
        store.add_kudos(  # another partnership's kudos never count here
            session,
            store.NewKudos(
                w.workspace,
                other.id,
                w.ids["UIVY"],
                w.it,
                "x",
                (),
                [store.Receiver(w.ids["UJO"], w.it)],
                NOW,
            ),
        )
    with session_factory() as session:
        board = store.leaderboard(session, w.partnership, start, end, limit=5)
        top_two = store.leaderboard(session, w.partnership, start, end, limit=2)
        empty = store.leaderboard(
            session, w.partnership, end + timedelta(days=1), end + timedelta(days=2)
        )
    assert [(p.slack_user_id, p.received) for p in board.top] == [
        ("UIVY", 2),
        ("UBEN", 1),  # ben before jo: ties by name
        ("UJO", 1),
    ]
    assert board.top[0].display_name == "ivy"
    assert (board.kudos, board.cross_team) == (3, 2)
    assert [p.slack_user_id for p in top_two.top] == ["UIVY", "UBEN"]
    assert empty.is_empty and empty.kudos == 0


def test_the_leaderboard_setting_is_off_unless_true() -> None:
    assert not store.KudosSettings.from_partnership({}).leaderboard
    assert not store.KudosSettings.from_partnership({"kudos_leaderboard": "yes"}).leaderboard
    assert store.KudosSettings.from_partnership({"kudos_leaderboard": True}).leaderboard
