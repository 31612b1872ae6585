"""Shadowing rounds built from the database, the buttons' rules, departures and `/tandem pair`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.services import Services
from bot.settings import load_settings
from bot.shadowing import (
    SettingsProblem,
    ShadowingConfig,
    ShadowingService,
    build_shadowing_rounds,
    host_bias,
    intro_key,
    meeting_slots,
    notify_departures,
    open_key,
    parse_settings,
    reminder_key,
    round_teams,
    summary_key,
)
from bot.tick import run_now, tick
from rituals.interactions import InteractionKind
from rituals.working_hours import workday_utc
from storage import org, rituals
from storage import shadowing as store
from storage.db import make_engine, make_session_factory, transaction
from storage.interactions import log
from storage.models import (
    Interaction,
    Member,
    Occurrence,
    Outbox,
    ShadowPairing,
    ShadowRound,
    ShadowUnpaired,
)
from storage.occurrences import WonOccurrence
from tests.storage.test_shadowing import World, interaction, make_world

ROOT = Path(__file__).resolve().parents[2]
# Monday 9 March 2026, 10:00 in London (UTC+0 until the 29th): the ritual's fire time.
NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
NEXT_ROUND = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def services(db_url: str) -> Iterator[Services]:
    engine = make_engine(db_url)
    made = Services(
        load_settings(_env_file=None, TANDEM_DATABASE_URL=db_url),
        engine,
        make_session_factory(engine),
    )
    yield made
    made.close()


def world_of(
    services: Services,
    people: Mapping[str, Sequence[tuple[str, str | None]]] | None = None,
    **kw: Any,
) -> World:
    with transaction(services.sessions) as session:
        if people is None:
            return make_world(session, now=NOW - timedelta(days=30), **kw)
        return make_world(session, people, now=NOW - timedelta(days=30), **kw)


def build(services: Services, world: World, now: datetime = NOW) -> None:
    """One round, the way the tick makes it: the registered builder in one transaction."""
    run_now(services, world.ritual.id, now)


def rows(services: Services) -> dict[str, Outbox]:
    with services.sessions() as session:
        return {r.idempotency_key: r for r in session.scalars(select(Outbox))}


def pairings(services: Services) -> list[store.PairingRecord]:
    with services.sessions() as session:
        ids = session.scalars(select(ShadowPairing.id).order_by(ShadowPairing.id)).all()
        found = [store.get_pairing(session, i) for i in ids]
    return [p for p in found if p is not None]


def text_of(row: Outbox) -> str:
    return f"{row.payload['text']}{json.dumps(row.payload.get('blocks', []))}"


def set_member(services: Services, world: World, slack_id: str, **values: Any) -> None:
    with transaction(services.sessions) as session:
        session.execute(update(Member).where(Member.id == world.m(slack_id)).values(**values))


# --- settings and small rules ----------------------------------------------------------------


def test_settings_default_and_parse_into_pairing_settings() -> None:
    assert parse_settings({}) == ShadowingConfig()
    config = parse_settings(
        {
            "pair_size": 3,
            "recency_window": 6,
            "min_overlap_hours": 1.5,
            "workday_start": "08:30",
            "workday_end": "16:00",
            "reminder_days": 2,
            "session_minutes": 30,
            "agendas": {"Marketing > IT": "Show the campaign calendar."},
            "every_n_weeks": 2,  # a schedule key: not ours, ignored
        }
    )
    pairing = config.pairing_settings()
    assert (pairing.pair_size, pairing.allow_trios, pairing.trios_enabled) == (3, True, True)
    assert pairing.recency_window == 6
    assert pairing.min_overlap == timedelta(minutes=90)
    assert (pairing.workday_start, pairing.workday_end) == (time(8, 30), time(16))
    assert (config.reminder_days, config.session_minutes) == (2, 30)
    assert config.agenda_for(" marketing", "it ") == "Show the campaign calendar."
    assert config.agenda_for("IT", "Marketing") is None


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"pair_size": 4}, "pair_size"),
        ({"pair_size": True}, "pair_size"),
        ({"allow_trios": "yes"}, "allow_trios"),
        ({"recency_window": -1}, "recency_window"),
        ({"min_overlap_hours": "two"}, "min_overlap_hours"),
        ({"min_overlap_hours": 30}, "min_overlap_hours"),
        ({"workday_start": "9am"}, "workday_start"),
        ({"workday_start": "09:00", "workday_end": "09:00"}, "workday_end"),
        ({"reminder_days": 1.5}, "reminder_days"),
        ({"session_minutes": 5}, "session_minutes"),
        ({"agendas": {"Marketing": "x"}}, "agendas"),
    ],
)
def test_bad_settings_name_the_key(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(SettingsProblem, match=named):
        parse_settings(settings)


def test_the_team_that_took_more_last_month_hosts_more() -> None:
    assert host_bias(1, 2, 0, 0) == {1: 0.5, 2: 0.5}
    # Team 2 gave 30 and received 10: team 1 took more, so team 1 hosts more.
    bias = host_bias(1, 2, 10, 30)
    assert bias[1] == pytest.approx(2 / 3) and bias[2] == pytest.approx(1 / 3)  # capped
    assert host_bias(1, 2, 45, 55)[1] == pytest.approx(0.55)


def test_rounds_rotate_over_every_pair_of_teams() -> None:
    assert round_teams([7, 3], 1) == (3, 7)
    assert round_teams([7, 3], 2) == (3, 7)
    assert [round_teams([1, 2, 3], n) for n in range(1, 5)] == [(1, 2), (1, 3), (2, 3), (1, 2)]
    assert round_teams([1], 1) is None


def test_meeting_slots_fall_inside_everyones_working_day_on_weekdays() -> None:
    config = ShadowingConfig()
    friday = date(2026, 3, 13)
    slots = meeting_slots(["Europe/London", "America/New_York"], friday, NOW, config)
    assert len(slots) == 3
    assert [s.date() for s in slots] == [date(2026, 3, 13), date(2026, 3, 16), date(2026, 3, 17)]
    for slot in slots:
        for zone in ("Europe/London", "America/New_York"):
            begins, ends = workday_utc(zone, slot.date(), time(9), time(17))
            assert begins <= slot and slot + timedelta(minutes=45) <= ends
    # Early, middle, late across the days.
    assert slots[0].time() < slots[2].time()
    # Nothing already past: today's 09:00-10:00 UTC starts are gone at 10:00.
    today = meeting_slots(["Europe/London", "Europe/Berlin"], NOW.date(), NOW, config, count=1)
    assert today and today[0] > NOW
    # A trio's slot fits the third person too.
    trio = meeting_slots(
        ["Europe/London", "Europe/Berlin", "America/New_York"], friday, NOW, config
    )
    assert trio and all(s.hour >= 14 for s in trio)
    assert meeting_slots(["Asia/Tokyo", "America/Los_Angeles"], friday, NOW, config) == []


def test_the_idle_bot_does_not_load_the_matcher() -> None:
    code = (
        "import sys, bot.app, bot.ritual_builders, bot.runtime, bot.listeners.shadowing\n"
        "print('scipy' in sys.modules)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "False"


# --- building a round ----------------------------------------------------------------------


def test_a_round_writes_pairs_and_every_message_in_one_go(services: Services) -> None:
    world = world_of(services)
    build(services, world)
    found = pairings(services)
    assert len(found) == 2
    pairs = {frozenset(p.slack_user_ids) for p in found}
    assert all(len({u[1] for u in pair}) == 2 for pair in pairs)  # one UM*, one UI* each
    outbox = rows(services)
    summary_row = outbox.pop(next(k for k in outbox if k.startswith("shadow-round:")))
    assert summary_row.payload["channel"] == "CJOINT"
    assert "2 pairs made" in text_of(summary_row)
    assert "Marketing × IT" in text_of(summary_row)
    for pairing in found:
        opened = outbox.pop(open_key(pairing.id))
        assert opened.method == "conversations.open"
        assert sorted(opened.payload["users"].split(",")) == sorted(pairing.slack_user_ids)
        intro = outbox.pop(intro_key(pairing.id))
        assert intro.parent_key == open_key(pairing.id)
        assert intro.payload["channel"] == {"$parent": "channel.id"}
        body = text_of(intro)
        host, (guest,) = pairing.host.slack_user_id, pairing.shadowers
        assert f"<@{host}> (" in body and f"<@{guest.slack_user_id}> (" in body
        assert "hosts" in body and "agenda" in body
        assert body.count("<!date^") == 3
        actions = {
            e["action_id"]
            for b in intro.payload["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        }
        assert actions == {"shadow_met", "shadow_reschedule", "shadow_skip"}
        due = NOW + timedelta(days=3)
        assert pairing.reminder_due_at == due
        reminder = outbox.pop(reminder_key(pairing.id, due))
        assert reminder.next_attempt_at == due and reminder.parent_key == open_key(pairing.id)
    assert outbox == {}  # nobody left out, nothing else sent
    with services.sessions() as session:
        occurrence = session.scalars(select(Occurrence)).one()
        assert occurrence.status == "done"
        round_ = session.scalars(select(ShadowRound)).one()
        assert (round_.round_no, round_.round_date) == (1, NOW.date())


def test_the_agenda_is_written_for_the_direction_of_the_visit(services: Services) -> None:
    world = world_of(
        services,
        {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/London")]},
        settings={"agendas": {"IT > Marketing": "Walk through the incident queue together."}},
    )
    build(services, world)
    (pairing,) = pairings(services)
    body = text_of(rows(services)[intro_key(pairing.id)])
    if pairing.host.slack_user_id == "UI1":
        assert "Walk through the incident queue together." in body
    else:
        assert "how Marketing really works" in body
        assert "The last request Marketing got from IT" in body


def test_whoever_is_left_out_is_told_why_and_when_next(services: Services) -> None:
    world = world_of(
        services,
        {
            "Marketing": [
                ("UM1", "Europe/London"),
                ("UM2", "Europe/London"),
                ("UM3", "Europe/London"),
            ],
            "IT": [("UI1", "Europe/London"), ("UI2", "Europe/London"), ("UI3", "Europe/London")],
        },
    )
    set_member(services, world, "UM3", opted_out=["shadowing"])
    set_member(services, world, "UI3", away_until=date(2026, 3, 13))
    set_member(services, world, "UI2", tz="Asia/Tokyo")  # no shared hours with London
    build(services, world)
    (pairing,) = pairings(services)
    assert set(pairing.slack_user_ids) <= {"UM1", "UM2", "UI1"}
    outbox = rows(services)
    dms = {r.payload["channel"]: text_of(r) for k, r in outbox.items() if ":unpaired:" in k}
    # Opted out and away people are not messaged; the others are, with the reason and next round.
    left = {"UM1", "UM2"} - set(pairing.slack_user_ids)
    assert set(dms) == {"UI2", *left}
    assert "shares 2 h of working hours" in dms["UI2"]
    assert f"<!date^{int(NEXT_ROUND.timestamp())}^" in dms["UI2"]
    (other,) = left
    assert "you will be paired first next round" in dms[other]
    with services.sessions() as session:
        reasons = {
            m: r
            for m, r in session.execute(select(ShadowUnpaired.member_id, ShadowUnpaired.reason))
        }
    assert reasons == {
        world.m("UM3"): "opted_out",
        world.m("UI3"): "away",
        world.m("UI2"): "no_overlap",
        world.m(other): "no_free_partner",
    }
    summary = text_of(next(r for k, r in outbox.items() if k.endswith(":summary")))
    assert "1 pair made" in summary
    assert "2 people without a partner" in summary and "2 people are away or opted out" in summary


@pytest.mark.parametrize(
    ("people", "opted_out", "expected", "told"),
    [
        (
            {"Marketing": [("UM1", "Europe/London")], "IT": []},
            [],
            "IT has nobody in it yet",
            {"UM1"},
        ),
        (
            {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/London")]},
            ["UI1"],
            "nobody in IT is available",
            {"UM1"},
        ),
        (
            {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/London")]},
            ["UM1", "UI1"],
            "everyone is away or has opted out",
            set(),
        ),
        ({"Marketing": [], "IT": []}, [], "both teams are empty", set()),
    ],
    ids=["empty-team", "one-eligible-person", "everyone-opted-out", "nobody-at-all"],
)
def test_rounds_nobody_can_pair_say_so_and_do_not_fail(
    services: Services,
    people: dict[str, list[tuple[str, str]]],
    opted_out: list[str],
    expected: str,
    told: set[str],
) -> None:
    world = world_of(services, people)
    for slack_id in opted_out:
        set_member(services, world, slack_id, opted_out=["shadowing", "kudos"])
    build(services, world)
    assert pairings(services) == []
    outbox = rows(services)
    summary = text_of(next(r for k, r in outbox.items() if k.endswith(":summary")))
    assert f"No pairs this round: {expected}." in summary
    dms = {r.payload["channel"]: text_of(r) for k, r in outbox.items() if ":unpaired:" in k}
    assert set(dms) == told
    for text in dms.values():
        assert "nobody in IT is available this round" in text


def test_next_round_avoids_repeats_reports_the_last_one_and_withdraws_old_reminders(
    services: Services,
) -> None:
    world = world_of(services, settings={"reminder_days": 10})
    build(services, world)
    first = {frozenset(p.slack_user_ids): p for p in pairings(services)}
    met, unmet = sorted(first.values(), key=lambda p: p.id)
    service = ShadowingService(services)
    assert service.met(
        world.workspace_id, met.host.slack_user_id, met.id, NOW + timedelta(days=1)
    ).reflection_for
    build(services, world, NEXT_ROUND)
    second = [p for p in pairings(services) if p.round_no == 2]
    assert len(second) == 2
    assert not {frozenset(p.slack_user_ids) for p in second} & set(first)  # no repeats
    outbox = rows(services)
    assert outbox[reminder_key(unmet.id, NOW + timedelta(days=10))].status == "cancelled"
    with services.sessions() as session:
        round_two = session.scalars(select(ShadowRound).where(ShadowRound.round_no == 2)).one()
    summary = text_of(outbox[summary_key(round_two.id)])
    assert "Last round: 1 of 2 pairs met, and 2 people met someone new to them." in summary


def test_roles_alternate_from_round_to_round(services: Services) -> None:
    world = world_of(
        services, {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/London")]}
    )
    hosts = []
    for week in range(3):
        build(services, world, NOW + timedelta(days=7 * week))
        hosts.append(pairings(services)[-1].host.slack_user_id)
    assert hosts[0] != hosts[1] and hosts[1] != hosts[2]


def test_last_months_balance_tilts_who_hosts(services: Services) -> None:
    london = "Europe/London"
    world = world_of(
        services,
        {
            "Marketing": [("UM1", london), ("UM2", london), ("UM3", london)],
            "IT": [("UI1", london), ("UI2", london), ("UI3", london)],
        },
    )
    february = datetime(2026, 2, 10, tzinfo=UTC)
    with transaction(services.sessions) as session:
        # IT gave Marketing a lot last month: Marketing took more, so Marketing hosts more.
        log(
            session,
            *(interaction(world, "UI1", "UM1" if k % 2 else "UM2", february) for k in range(6)),
        )
    build(services, world)
    hosts = [p.host.slack_user_id for p in pairings(services)]
    assert sum(h.startswith("UM") for h in hosts) == 2


def test_three_teams_take_turns(services: Services) -> None:
    london = "Europe/London"
    world = world_of(
        services,
        {
            "Marketing": [("UM1", london)],
            "IT": [("UI1", london)],
            "Sales": [("US1", london)],
        },
    )
    builds = [NOW, NOW + timedelta(days=7), NOW + timedelta(days=14)]
    for at in builds:
        build(services, world, at)
    found = pairings(services)
    teams_by_round = [sorted(u[1] for u in p.slack_user_ids) for p in found]
    ordered = sorted(world.teams.items(), key=lambda kv: kv[1])
    expected = [
        sorted(name[0] for name, _ in (ordered[0], ordered[1])),
        sorted(name[0] for name, _ in (ordered[0], ordered[2])),
        sorted(name[0] for name, _ in (ordered[1], ordered[2])),
    ]
    assert teams_by_round == expected
    with services.sessions() as session:
        first_round = session.scalars(select(ShadowRound).where(ShadowRound.round_no == 1)).one()
    summary = text_of(rows(services)[summary_key(first_round.id)])
    assert f"Next round: {ordered[0][0]} × {ordered[2][0]}." in summary


def test_a_member_local_or_misconfigured_ritual_fails_visibly(services: Services) -> None:
    world = world_of(services, settings={"pair_size": 5})
    with transaction(services.sessions) as session:
        won = WonOccurrence(1, world.ritual.id, "", "manual:x", NOW, "Europe/London", False)
        session.add(
            Occurrence(
                id=1,
                ritual_id=world.ritual.id,
                subject="",
                fire_key="manual:x",
                fire_at=NOW,
                status="done",
                created_at=NOW,
            )
        )
        session.add(
            Occurrence(
                id=2,
                ritual_id=world.ritual.id,
                subject="member:1",
                fire_key="k",
                fire_at=NOW,
                status="done",
                created_at=NOW,
            )
        )
        session.flush()
        member = WonOccurrence(2, world.ritual.id, "member:1", "k", NOW, "Europe/London", False)
        ritual = rituals.get(session, world.ritual.id)
        assert ritual is not None
        build_shadowing_rounds(session, ritual, [won, member], NOW)
    with services.sessions() as session:
        details = {o.id: (o.status, o.detail or "") for o in session.scalars(select(Occurrence))}
        assert session.scalars(select(ShadowRound)).all() == []
    assert (
        details[1][0] == "failed"
        and "pair_size must be a whole number from 2 to 3" in details[1][1]
    )
    assert details[2][0] == "failed" and "member-local" in details[2][1]
    assert rows(services) == {}


# --- the buttons ---------------------------------------------------------------------------


def one_pair(services: Services) -> tuple[World, store.PairingRecord]:
    world = world_of(
        services, {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/Berlin")]}
    )
    build(services, world)
    (pairing,) = pairings(services)
    return world, pairing


def test_we_met_logs_host_to_shadower_once_and_withdraws_the_reminder(services: Services) -> None:
    world, pairing = one_pair(services)
    service = ShadowingService(services)
    host, guest = pairing.host.slack_user_id, pairing.shadowers[0].slack_user_id
    later = NOW + timedelta(days=1)
    result = service.met(world.workspace_id, guest, pairing.id, later)
    assert result.message is None and result.reflection_for == (pairing.id, (host,))
    again = service.met(world.workspace_id, host, pairing.id, later + timedelta(minutes=5))
    assert again.reflection_for is None and again.message and "Already recorded" in again.message
    with services.sessions() as session:
        (logged,) = session.scalars(select(Interaction)).all()
    assert logged.kind == InteractionKind.SHADOWING.value
    assert (logged.provider_member_id, logged.beneficiary_member_id) == (
        pairing.host.member_id,
        pairing.shadowers[0].member_id,
    )
    team_of = {world.m("UM1"): world.teams["Marketing"], world.m("UI1"): world.teams["IT"]}
    assert logged.provider_team_id == team_of[logged.provider_member_id]
    assert logged.beneficiary_team_id == team_of[pairing.shadowers[0].member_id]
    assert logged.source == f"shadow:{pairing.id}:{pairing.shadowers[0].member_id}"
    assert logged.partnership_id == world.partnership_id and logged.occurred_at == later
    outbox = rows(services)
    assert outbox[reminder_key(pairing.id, NOW + timedelta(days=3))].status == "cancelled"
    met_note = outbox[f"shadow:{pairing.id}:met"]
    assert met_note.parent_key == open_key(pairing.id) and f"<@{guest}> recorded" in text_of(
        met_note
    )
    assert service.skip(world.workspace_id, host, pairing.id, later).message == again.message


def test_someone_outside_the_pair_is_told_whose_pairing_it_is(services: Services) -> None:
    world, pairing = one_pair(services)
    with transaction(services.sessions) as session:
        org.upsert_members(session, world.workspace_id, [org.MemberProfile("UX", "x", "UTC")], NOW)
    service = ShadowingService(services)
    for press in (service.met, service.reschedule, service.skip):
        result = press(world.workspace_id, "UX", pairing.id, NOW)
        assert result.message is not None
        assert "This pairing belongs to" in result.message and "<@UM1>" in result.message
        assert result.reflection_for is None
    assert (
        service.met(world.workspace_id, "UM1", 999_999, NOW).message
        == "I can't find this pairing any more."
    )
    assert pairings(services)[0].status == "proposed"


def test_reschedule_posts_new_times_and_moves_the_reminder(services: Services) -> None:
    world, pairing = one_pair(services)
    service = ShadowingService(services)
    later = NOW + timedelta(days=1)
    first = service.reschedule(world.workspace_id, "UM1", pairing.id, later)
    assert first.message == "Done: I've posted new times in your group DM."
    outbox = rows(services)
    times = outbox[f"shadow:{pairing.id}:times:20260311"]
    assert (
        times.parent_key == open_key(pairing.id)
        and json.dumps(times.payload["blocks"]).count("<!date^") == 3
    )
    assert outbox[reminder_key(pairing.id, NOW + timedelta(days=3))].status == "cancelled"
    moved = outbox[reminder_key(pairing.id, later + timedelta(days=3))]
    assert moved.status == "pending" and moved.next_attempt_at == later + timedelta(days=3)
    second = service.reschedule(world.workspace_id, "UI1", pairing.id, later + timedelta(hours=1))
    assert second.message == "New times are already in your group DM; pick one of those."
    (record,) = pairings(services)
    assert record.status == "rescheduled" and record.reminder_due_at == later + timedelta(
        days=3, hours=1
    )
    assert service.met(world.workspace_id, "UI1", pairing.id, later).reflection_for is not None


def test_skip_closes_the_round_for_the_pair(services: Services) -> None:
    world, pairing = one_pair(services)
    service = ShadowingService(services)
    result = service.skip(world.workspace_id, "UI1", pairing.id, NOW)
    assert result.message == "Done: this round is skipped. No reminder will follow."
    outbox = rows(services)
    assert outbox[reminder_key(pairing.id, NOW + timedelta(days=3))].status == "cancelled"
    assert "skipped this round" in text_of(outbox[f"shadow:{pairing.id}:skipped"])
    again = service.skip(world.workspace_id, "UM1", pairing.id, NOW)
    assert again.message == "Already recorded: this round was skipped. See you next round!"
    assert service.met(world.workspace_id, "UM1", pairing.id, NOW).message == again.message


def test_reflections_are_saved_once_by_someone_in_the_pair(services: Services) -> None:
    world, pairing = one_pair(services)
    service = ShadowingService(services)
    ws = world.workspace_id
    assert (
        service.reflect(ws, "UM1", pairing.id, "a", "b", NOW)
        == "Press “We met” in your group DM first."
    )
    service.met(ws, "UM1", pairing.id, NOW)
    assert service.reflect(ws, "UX", pairing.id, "a", "b", NOW) in (
        "This pairing belongs to um1 and ui1.",
        "This pairing belongs to ui1 and um1.",
    )
    assert service.reflect(ws, "UI1", pairing.id, "Release trains", "Name an owner", NOW) is None
    assert service.reflect(ws, "UM1", pairing.id, "x", "y", NOW) == (
        "A reflection for this session is already saved. Thank you!"
    )
    with services.sessions() as session:
        row = session.get(ShadowPairing, pairing.id)
        assert row is not None
        assert (row.reflection_learned, row.reflection_handoff) == (
            "Release trains",
            "Name an owner",
        )


# --- someone leaves mid-round; /tandem pair ---------------------------------------------------------


def test_a_partner_leaving_closes_the_pairing_and_tells_the_other(services: Services) -> None:
    world, pairing = one_pair(services)
    with transaction(services.sessions) as session:
        org.set_team_roster(session, world.teams["IT"], set(), NOW)  # UI1 left IT
    with transaction(services.sessions) as session:
        assert notify_departures(session, NOW + timedelta(hours=1)) == 1
        assert notify_departures(session, NOW + timedelta(hours=2)) == 0
    (record,) = pairings(services)
    assert record.status == "partner_left"
    outbox = rows(services)
    note = outbox[f"shadow:{pairing.id}:partner_left:{world.m('UM1')}"]
    assert note.payload["channel"] == "UM1"
    assert "<@UI1> is no longer in the partnership's teams" in text_of(note)
    assert f"<!date^{int(NEXT_ROUND.timestamp())}^" in text_of(note)
    assert outbox[reminder_key(pairing.id, NOW + timedelta(days=3))].status == "cancelled"
    assert not any(k.endswith(f"partner_left:{world.m('UI1')}") for k in outbox)
    status = json.dumps(ShadowingService(services).pair_status(world.workspace_id, "UM1", NOW))
    assert "Your partner left the team" in status


def test_a_deactivated_partner_is_noticed_when_a_button_is_pressed(services: Services) -> None:
    world, pairing = one_pair(services)
    set_member(services, world, "UI1", is_deleted=True)
    result = ShadowingService(services).met(world.workspace_id, "UM1", pairing.id, NOW)
    assert result.message and "This pairing is off" in result.message
    assert pairings(services)[0].status == "partner_left"
    with services.sessions() as session:
        assert session.scalars(select(Interaction)).all() == []


def test_pair_status_covers_each_state(services: Services) -> None:
    world, pairing = one_pair(services)
    service = ShadowingService(services)
    ws = world.workspace_id
    assert "not in a shadowing round yet" in json.dumps(service.pair_status(ws, "UNOBODY", NOW))
    host = pairing.host.slack_user_id
    guest = pairing.shadowers[0].slack_user_id
    mine = json.dumps(service.pair_status(ws, host, NOW))
    assert f"you host <@{guest}>" in mine and "Not met yet" in mine
    theirs = json.dumps(service.pair_status(ws, guest, NOW))
    assert f"<@{host}> hosts you" in theirs
    service.met(ws, guest, pairing.id, NOW + timedelta(days=1))
    done = json.dumps(service.pair_status(ws, host, NOW + timedelta(days=1)))
    assert "You met on <!date^" in done and f"<!date^{int(NEXT_ROUND.timestamp())}^" in done
    with transaction(services.sessions) as session:
        org.upsert_members(session, ws, [org.MemberProfile("UM9", "um9", "Asia/Tokyo")], NOW)
        member = session.scalar(select(Member.id).where(Member.slack_user_id == "UM9"))
        assert member is not None
        org.set_team_roster(session, world.teams["Marketing"], {world.m("UM1"), member}, NOW)
    fresh = json.dumps(service.pair_status(ws, "UM9", NOW))
    assert "started before you joined" in fresh
    build(services, world, NEXT_ROUND)
    left_out = json.dumps(service.pair_status(ws, "UM9", NEXT_ROUND))
    assert "not paired this round" in left_out and "working hours" in left_out


# --- what the ritual's settings change ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "settings", "rounds_at"),
    [
        ("0 10 * * 1", {}, [NOW, NOW + timedelta(days=7)]),
        (
            "0 10 * * 1",
            {"every_n_weeks": 2, "anchor_date": "2026-03-09"},
            [NOW, NOW + timedelta(days=14)],
        ),
        ("0 10 9 * *", {}, [NOW, datetime(2026, 4, 9, 9, 0, tzinfo=UTC)]),  # 10:00 BST
    ],
    ids=["weekly", "fortnightly", "monthly"],
)
def test_the_cadence_comes_from_the_schedule(
    services: Services, cron: str, settings: dict[str, Any], rounds_at: list[datetime]
) -> None:
    world = world_of(
        services,
        {
            "Marketing": [("UM1", "Europe/London"), ("UM2", "Europe/London")],
            "IT": [("UI1", "Europe/London")],
        },
        cron=cron,
        settings=settings,
    )
    with transaction(services.sessions) as session:
        rituals.resume(session, world.ritual.id, NOW - timedelta(minutes=1))
    for day in range(0, 32):
        tick(services, NOW + timedelta(days=day))
    with services.sessions() as session:
        made = [
            (r.round_no, r.round_date)
            for r in session.scalars(select(ShadowRound).order_by(ShadowRound.round_no))
        ]
    assert made[:2] == [(1, rounds_at[0].date()), (2, rounds_at[1].date())]
    # The person left out in round 1 was told the date of round 2.
    dm = min((r for k, r in rows(services).items() if ":unpaired:" in k), key=lambda r: r.id)
    assert f"<!date^{int(rounds_at[1].timestamp())}^" in text_of(dm)


def test_trios_seat_the_odd_person_out_when_allowed(services: Services) -> None:
    london = "Europe/London"
    world = world_of(
        services,
        {"Marketing": [("UM1", london), ("UM2", london)], "IT": [("UI1", london)]},
        settings={"pair_size": 3},
    )
    build(services, world)
    (trio,) = pairings(services)
    assert trio.host.slack_user_id == "UI1"  # the extra always shadows: the host is from IT
    assert sorted(p.slack_user_id for p in trio.shadowers) == ["UM1", "UM2"]
    outbox = rows(services)
    assert sorted(outbox[open_key(trio.id)].payload["users"].split(",")) == ["UI1", "UM1", "UM2"]
    assert "(Marketing) shadow." in text_of(outbox[intro_key(trio.id)])
    assert not any(":unpaired:" in k for k in outbox)
    assert "1 pair made (one of them a trio)" in text_of(
        next(r for k, r in outbox.items() if k.endswith(":summary"))
    )


@pytest.mark.parametrize(("hours", "paired"), [(2, True), (5, False)])
def test_the_required_overlap_and_working_day_are_the_rituals(
    services: Services, hours: int, paired: bool
) -> None:
    # London 09-17 and New York 09-17 share 13:00-17:00 UTC: four hours (New York is on
    # summer time from 8 March, London only from the 29th).
    world = world_of(
        services,
        {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "America/New_York")]},
        settings={"min_overlap_hours": hours},
    )
    build(services, world)
    assert bool(pairings(services)) is paired
    if not paired:
        dms = [r for k, r in rows(services).items() if ":unpaired:" in k]
        assert len(dms) == 2 and all("shares 5 h of working hours" in text_of(r) for r in dms)


def test_a_later_working_day_moves_the_suggested_times(services: Services) -> None:
    world = world_of(
        services,
        {"Marketing": [("UM1", "Europe/London")], "IT": [("UI1", "Europe/London")]},
        settings={"workday_start": "13:00", "workday_end": "18:00"},
    )
    build(services, world)
    (pairing,) = pairings(services)
    intro = json.dumps(rows(services)[intro_key(pairing.id)].payload["blocks"])
    starts = [int(part.split("^")[0]) for part in intro.split("<!date^")[1:]]
    assert len(starts) == 3
    for start in starts:
        moment = datetime.fromtimestamp(start, UTC)
        assert time(13) <= moment.time() and (moment + timedelta(minutes=45)).time() <= time(18)


def test_someone_without_a_time_zone_is_told_how_to_fix_it(services: Services) -> None:
    world = world_of(
        services,
        {"Marketing": [("UM1", "Europe/London"), ("UM2", None)], "IT": [("UI1", "Europe/London")]},
    )
    build(services, world)
    (pairing,) = pairings(services)
    assert set(pairing.slack_user_ids) == {"UM1", "UI1"}
    (dm,) = [r for k, r in rows(services).items() if ":unpaired:" in k]
    assert dm.payload["channel"] == "UM2"
    assert "Slack doesn't tell me your time zone" in text_of(dm)
    assert "set it in your Slack profile" in text_of(dm)
