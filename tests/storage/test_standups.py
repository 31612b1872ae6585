"""Standup rows on both backends: days, prompts, answers, asks, holidays, opt-outs, cancelled rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage import holidays, member_settings, org, outbox
from storage import rituals as ritual_store
from storage import standups as store
from storage.db import transaction
from storage.interactions import NewInteraction, log
from storage.models import Interaction, Member, Outbox, StandupAsk

NOW = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
MONDAY = date(2026, 1, 12)


def _setup(sessions: sessionmaker[Session]) -> dict[str, int]:
    with transaction(sessions) as session:
        workspace = org.ensure_workspace(session, "T1", NOW)
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", NOW)
        it = org.add_team(session, workspace, "IT", "channel", "CIT", NOW)
        ids = org.upsert_members(
            session,
            workspace,
            [
                org.MemberProfile("UM1", "Ana", "Europe/London"),
                org.MemberProfile("UI1", "Raj", "Asia/Kolkata"),
            ],
            NOW,
        )
        org.set_team_roster(session, marketing.id, {ids["UM1"]}, NOW)
        org.set_team_roster(session, it.id, {ids["UI1"]}, NOW)
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
        ritual = ritual_store.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.STANDUP,
            cron="30 9 * * 1-5",
            timezone="member-local",
            now=NOW,
        )
        return {
            "workspace": workspace,
            "marketing": marketing.id,
            "it": it.id,
            "ana": ids["UM1"],
            "raj": ids["UI1"],
            "partnership": partnership.id,
            "ritual": ritual.id,
        }


def test_days_are_created_once_and_their_cutoff_only_moves_later(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    early, late = NOW + timedelta(hours=4), NOW + timedelta(hours=9)
    with transaction(session_factory) as session:
        first = store.ensure_days(session, ids["ritual"], {MONDAY: late}, NOW)
        again = store.ensure_days(session, ids["ritual"], {MONDAY: early}, NOW)
        assert first == again
        day = store.get_day(session, first[MONDAY])
        assert day is not None and day.cutoff_at == late and day.summary_key is None
        store.ensure_days(session, ids["ritual"], {MONDAY: late + timedelta(hours=1)}, NOW)
        locked = store.lock_day(session, first[MONDAY])
        assert locked is not None and locked.cutoff_at == late + timedelta(hours=1)
        store.set_summary_key(session, locked.id, "standup:day:1:summary")
        found = store.find_day(session, ids["ritual"], MONDAY)
        assert found is not None and found.summary_key == "standup:day:1:summary"
        assert store.lock_day(session, 999_999) is None


def test_prompts_keep_the_first_time_and_report_who_already_answered(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        day_id = store.ensure_days(session, ids["ritual"], {MONDAY: NOW}, NOW)[MONDAY]
        prompts = [
            store.Prompt(ids["ana"], ids["marketing"], NOW),
            store.Prompt(ids["raj"], ids["it"], NOW - timedelta(hours=4)),
        ]
        assert store.record_prompts(session, day_id, prompts) == set()
        store.save_answer(
            session,
            day_id=day_id,
            member_id=ids["ana"],
            team_id=ids["marketing"],
            answers={"done": "shipped"},
            answered_at=NOW + timedelta(minutes=5),
            late=False,
            message_key="k",
        )
        later = [store.Prompt(ids["ana"], ids["marketing"], NOW + timedelta(hours=1))]
        assert store.record_prompts(session, day_id, later) == {ids["ana"]}
        answer = store.get_answer(session, day_id, ids["ana"])
        assert answer is not None
        assert answer.prompted_at == NOW and answer.revision == 1 and answer.message_key == "k"
        assert store.prompted_by_team(session, day_id) == {ids["marketing"]: 1, ids["it"]: 1}


def test_saving_again_bumps_the_revision_and_keeps_answering_order(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        day_id = store.ensure_days(session, ids["ritual"], {MONDAY: NOW}, NOW)[MONDAY]
        for member, team, minutes in [("raj", "it", 1), ("ana", "marketing", 2)]:
            store.save_answer(
                session,
                day_id=day_id,
                member_id=ids[member],
                team_id=ids[team],
                answers={"today": member},
                answered_at=NOW + timedelta(minutes=minutes),
                late=False,
                message_key=None,
            )
        edited = store.save_answer(
            session,
            day_id=day_id,
            member_id=ids["raj"],
            team_id=ids["it"],
            answers={"today": "raj again"},
            answered_at=NOW + timedelta(minutes=3),
            late=True,
            message_key="late-key",
        )
        assert (edited.revision, edited.late, edited.answers) == (2, True, {"today": "raj again"})
        rows = store.day_answers(session, day_id)
        assert [(r.display_name, r.answers["today"]) for r in rows] == [
            ("Ana", "ana"),
            ("Raj", "raj again"),
        ]


def test_latest_answers_come_from_the_last_answered_day_before(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        days = store.ensure_days(
            session,
            ids["ritual"],
            {MONDAY - timedelta(days=3): NOW, MONDAY - timedelta(days=4): NOW, MONDAY: NOW},
            NOW,
        )
        store.record_prompts(
            session, days[MONDAY - timedelta(days=3)], [store.Prompt(ids["ana"], 1, NOW)]
        )
        store.save_answer(
            session,
            day_id=days[MONDAY - timedelta(days=4)],
            member_id=ids["ana"],
            team_id=ids["marketing"],
            answers={"today": "thursday plan"},
            answered_at=NOW,
            late=False,
            message_key=None,
        )
        # Friday was prompted but not answered: Thursday's answers are the latest.
        assert store.latest_answers(session, ids["ritual"], ids["ana"], MONDAY) == {
            "today": "thursday plan"
        }
        assert store.latest_answers(session, ids["ritual"], ids["raj"], MONDAY) is None


def test_asks_open_withdraw_offer_and_resolve(session_factory: sessionmaker[Session]) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        days = store.ensure_days(
            session, ids["ritual"], {MONDAY - timedelta(days=5): NOW, MONDAY: NOW}, NOW
        )
        answer = store.save_answer(
            session,
            day_id=days[MONDAY - timedelta(days=5)],
            member_id=ids["ana"],
            team_id=ids["marketing"],
            answers={"ask": "a staging login"},
            answered_at=NOW,
            late=False,
            message_key=None,
        )
        ask = store.open_ask(
            session,
            answer_id=answer.id,
            partnership_id=ids["partnership"],
            requester_member_id=ids["ana"],
            requester_team_id=ids["marketing"],
            now=NOW,
        )
        same = store.open_ask(
            session,
            answer_id=answer.id,
            partnership_id=ids["partnership"],
            requester_member_id=ids["ana"],
            requester_team_id=ids["marketing"],
            now=NOW,
        )
        assert same.id == ask.id
        listed = store.open_asks(session, ids["partnership"], MONDAY)
        assert [(a.requester_name, a.text, a.asked_on) for a in listed] == [
            ("Ana", "a staging login", MONDAY - timedelta(days=5))
        ]
        assert store.open_asks(session, ids["partnership"], MONDAY - timedelta(days=5)) == []
        store.record_offer(session, ask.id, ids["raj"], ids["it"], NOW)
        store.record_offer(session, ask.id, 12345, None, NOW + timedelta(hours=1))
        offered = store.get_ask(session, ask.id)
        assert offered is not None
        assert (offered.helper_member_id, offered.first_offer_at) == (ids["raj"], NOW)
        assert not store.withdraw_ask(session, ask.id)  # someone offered: it stays
        context = store.ask_context(session, ask.id)
        assert context is not None and context.requester_slack_id == "UM1"
        assert store.resolve_ask(session, ask.id, NOW)
        assert not store.resolve_ask(session, ask.id, NOW)
        assert store.open_asks(session, ids["partnership"], MONDAY) == []

        other = store.save_answer(
            session,
            day_id=days[MONDAY],
            member_id=ids["raj"],
            team_id=ids["it"],
            answers={"ask": "copy review"},
            answered_at=NOW,
            late=False,
            message_key=None,
        )
        fresh = store.open_ask(
            session,
            answer_id=other.id,
            partnership_id=ids["partnership"],
            requester_member_id=ids["raj"],
            requester_team_id=ids["it"],
            now=NOW,
        )
        assert store.withdraw_ask(session, fresh.id)
        assert session.scalars(select(StandupAsk.id)).all() == [ask.id]


def test_an_edit_forgets_what_the_answer_no_longer_says(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        day_id = store.ensure_days(session, ids["ritual"], {MONDAY: NOW}, NOW)[MONDAY]
        answer = store.save_answer(
            session,
            day_id=day_id,
            member_id=ids["ana"],
            team_id=ids["marketing"],
            answers={"done": "x"},
            answered_at=NOW,
            late=False,
            message_key=None,
        )

        def entry(kind: InteractionKind, source: str) -> NewInteraction:
            return NewInteraction(
                ids["workspace"],
                ids["partnership"],
                kind,
                ids["ana"],
                None,
                None,
                None,
                NOW,
                source,
            )

        log(
            session,
            entry(InteractionKind.STANDUP_ANSWER, store.answer_source(answer.id)),
            entry(InteractionKind.MENTION, store.answer_source(answer.id, "mention", 7)),
            entry(InteractionKind.BLOCKER, store.answer_source(answer.id, "blocker", "none")),
        )
        keep = [store.answer_source(answer.id, "blocker", "none")]
        assert store.forget_answer_interactions(session, answer.id, keep) == 1
        sources = set(session.scalars(select(Interaction.source)))
        assert sources == {store.answer_source(answer.id), *keep}


def test_holidays_and_member_choices(session_factory: sessionmaker[Session]) -> None:
    ids = _setup(session_factory)
    with transaction(session_factory) as session:
        assert holidays.add(session, ids["it"], MONDAY)
        assert not holidays.add(session, ids["it"], MONDAY)
        holidays.add(session, ids["it"], MONDAY + timedelta(days=30))
        assert holidays.by_team(session, [ids["it"], ids["marketing"]], [MONDAY]) == {
            ids["it"]: frozenset({MONDAY})
        }
        assert holidays.listed(session, [ids["it"]], since=MONDAY + timedelta(days=1)) == [
            (ids["it"], MONDAY + timedelta(days=30))
        ]
        assert holidays.remove(session, ids["it"], MONDAY)
        assert not holidays.remove(session, ids["it"], MONDAY)

        assert member_settings.set_away(session, ids["ana"], MONDAY, NOW) is None
        assert member_settings.set_away(session, ids["ana"], None, NOW) == MONDAY
        assert member_settings.set_opted_out(session, ids["ana"], "standup", True, NOW)
        assert not member_settings.set_opted_out(session, ids["ana"], "standup", True, NOW)
        assert member_settings.set_opted_out(session, ids["ana"], "kudos_prompt", True, NOW)
        ana = session.get(Member, ids["ana"])
        assert ana is not None
        session.refresh(ana)
        assert ana.opted_out == ["kudos_prompt", "standup"] and ana.away_until is None
        assert member_settings.set_opted_out(session, ids["ana"], "standup", False, NOW)
        session.refresh(ana)
        assert ana.opted_out == ["kudos_prompt"]

        assert store.standup_rituals_of(session, ids["ana"]) == [ids["ritual"]]
        info = store.partnership_info(session, ids["partnership"])
        assert info is not None
        assert [(t.name, t.usergroup_id) for t in info.teams] == [
            ("Marketing", "SMKT"),
            ("IT", None),
        ]


def test_cancel_withdraws_only_rows_nobody_is_sending(
    session_factory: sessionmaker[Session],
) -> None:
    _setup(session_factory)
    calls = [
        outbox.OutboundCall(key, "chat.postMessage", {"channel": "U1", "text": key})
        for key in ("delivered", "held", "queued")
    ]
    with transaction(session_factory) as session:
        outbox.enqueue(session, calls, NOW)
        claimed = outbox.claim(session, "w1", NOW, 2, timedelta(minutes=1))
        by_key = {row.idempotency_key: row for row in claimed}
        assert set(by_key) == {"delivered", "held"}
        outbox.mark_sent(session, by_key["delivered"].id, "w1", {"ts": "1"}, NOW)
    with transaction(session_factory) as session:
        # Sent already, or leased to a sender that may be calling Slack right now.
        assert outbox.cancel(session, ["delivered", "held"], "answered") == 0
        assert outbox.cancel(session, ["queued", "missing"], "answered") == 1
        assert outbox.counts(session) == outbox.OutboxCounts(pending=1, retrying=0, dead=0)
        statuses = {row.idempotency_key: row.status for row in session.scalars(select(Outbox))}
        assert store.outbox_status(session, ["queued", "missing"]) == {"queued": "cancelled"}
    assert statuses == {"delivered": "sent", "held": "pending", "queued": "cancelled"}
    with transaction(session_factory) as session:
        later = outbox.claim(session, "w2", NOW + timedelta(hours=1), 10, timedelta(minutes=1))
    assert [row.idempotency_key for row in later] == ["held"]  # its lease ran out; never "queued"


def test_the_roster_matches_the_partnership_roster_of_active_members(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _setup(session_factory)
    later = NOW + timedelta(hours=1)
    with transaction(session_factory) as session:
        extra = org.upsert_members(
            session,
            ids["workspace"],
            [
                org.MemberProfile("UBOTH", "Both", "UTC"),
                org.MemberProfile("UGONE", "Gone", "UTC", is_deleted=True),
                org.MemberProfile("UROBOT", "Robot", None, is_bot=True),
            ],
            NOW,
        )
        org.set_team_roster(
            session, ids["it"], {ids["raj"], extra["UBOTH"], extra["UGONE"], extra["UROBOT"]}, NOW
        )
        # Joined Marketing later than IT: counted for IT, the team joined first.
        org.set_team_roster(session, ids["marketing"], {ids["ana"], extra["UBOTH"]}, later)
        member_settings.set_opted_out(session, extra["UBOTH"], "standup", True, NOW)
    with session_factory() as session:
        expected = [e for e in org.partnership_roster(session, ids["partnership"]) if e.active]
        assert store.roster(session, ids["partnership"]) == expected
        teams = {e.slack_user_id: e.team_id for e in expected}
    assert teams == {"UM1": ids["marketing"], "UI1": ids["it"], "UBOTH": ids["it"]}
