"""The ritual tick: due occurrences built once, catch-up after outages, edits without restarts."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from bot.ritual_builders import BuilderRegistry
from bot.runtime import start_background
from bot.services import Services
from bot.settings import load_settings
from bot.tick import TickReport, run_now, tick
from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import Schedule, slots_between
from storage import occurrences, org, rituals
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Occurrence, Outbox, Ritual
from storage.occurrences import WonOccurrence
from storage.outbox import OutboundCall, enqueue
from storage.rituals import RitualSnapshot

# A Monday in winter: London is on UTC, Berlin on UTC+1, New York on UTC-5.
MONDAY = datetime(2026, 1, 12, tzinfo=UTC)


class Recorder:
    """A builder that enqueues one outbox row per occurrence and remembers its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, list[tuple[str, str]]]] = []
        self.failing = False

    def __call__(
        self,
        session: Session,
        ritual: RitualSnapshot,
        won: list[WonOccurrence],
        now: datetime,
    ) -> None:
        enqueue(
            session,
            [
                OutboundCall(
                    f"test:{ritual.id}:{o.subject}:{o.fire_key}",
                    "chat.postMessage",
                    {"channel": ritual.channel_id, "text": f"{o.subject} {o.fire_key}"},
                )
                for o in won
            ],
            now,
            workspace_id=ritual.workspace_id,
        )
        if self.failing:
            raise RuntimeError("Slack directory unavailable")
        self.calls.append((ritual.id, [(o.subject, o.fire_key) for o in won]))

    @property
    def built(self) -> list[tuple[int, str, str]]:
        return [(ritual, s, k) for ritual, batch in self.calls for s, k in batch]


def make_services(db_url: str, **settings: Any) -> Services:
    values: dict[str, Any] = {"_env_file": None, "TANDEM_DATABASE_URL": db_url}
    values.update(settings)
    engine = make_engine(db_url)
    return Services(load_settings(**values), engine, make_session_factory(engine))


@pytest.fixture
def services(db_url: str) -> Iterator[Services]:
    made = make_services(db_url)
    yield made
    made.close()


def add_partnership(services: Services, zones: Sequence[str | None]) -> tuple[int, list[int]]:
    """Two teams sharing the members (alternately), one per given zone."""
    with transaction(services.sessions) as session:
        workspace = org.ensure_workspace(session, "T1", MONDAY)
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "S1", MONDAY)
        it = org.add_team(session, workspace, "IT", "usergroup", "S2", MONDAY)
        profiles = [org.MemberProfile(f"U{n}", f"member {n}", tz) for n, tz in enumerate(zones)]
        ids = org.upsert_members(session, workspace, profiles, MONDAY)
        member_ids = [ids[f"U{n}"] for n in range(len(zones))]
        org.set_team_roster(session, marketing.id, set(member_ids[::2]), MONDAY)
        org.set_team_roster(session, it.id, set(member_ids[1::2]), MONDAY)
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing", "IT"],
            "CJOINT",
            [],
            InterdependenceType.RECIPROCAL,
            MONDAY,
        )
        return partnership.id, member_ids


def add_ritual(
    services: Services,
    partnership_id: int,
    kind: RitualKind,
    cron: str,
    timezone: str,
    created: datetime = MONDAY,
    settings: dict[str, Any] | None = None,
) -> int:
    with transaction(services.sessions) as session:
        return rituals.create(
            session,
            partnership_id=partnership_id,
            kind=kind,
            cron=cron,
            timezone=timezone,
            now=created,
            settings=settings,
        ).id


def occurrence_rows(services: Services) -> list[tuple[int, str, str, str, bool]]:
    with services.sessions() as session:
        rows = session.execute(
            select(
                Occurrence.ritual_id,
                Occurrence.subject,
                Occurrence.fire_key,
                Occurrence.status,
                Occurrence.tz_fallback,
            ).order_by(Occurrence.ritual_id, Occurrence.fire_at, Occurrence.subject)
        )
        return [(r, s, k, status, fallback) for r, s, k, status, fallback in rows]


def outbox_count(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Outbox)) or 0)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def counted_tick(
    services: Services, now: datetime, builders: BuilderRegistry
) -> tuple[TickReport, int]:
    """A tick and the SQL statements it sent (this thread only: the tick runs here)."""
    sent = 0
    thread = threading.get_ident()

    def count(*_args: Any) -> None:
        nonlocal sent
        if threading.get_ident() == thread:
            sent += 1

    event.listen(services.engine, "before_cursor_execute", count)
    try:
        report = tick(services, now, builders=builders)
    finally:
        event.remove(services.engine, "before_cursor_execute", count)
    return report, sent


def test_a_fixed_zone_ritual_is_built_once_when_it_fires(services: Services) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    ritual_id = add_ritual(
        services, partnership_id, RitualKind.SHADOWING, "0 15 * * 4", "Europe/Berlin"
    )
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.SHADOWING: recorder})

    before = tick(services, at(15, 13, 59, 50), builders=builders)
    fired = tick(services, at(15, 14, 0, 5), builders=builders)
    again = tick(services, at(15, 14, 0, 35), builders=builders)

    assert (before.rituals, before.due, before.won) == (1, 0, 0)
    assert (fired.due, fired.won, fired.skipped, fired.failed) == (1, 1, 0, 0)
    assert (again.due, again.won) == (0, 0)
    assert recorder.built == [(ritual_id, "", "2026-01-15T15:00")]
    assert occurrence_rows(services) == [(ritual_id, "", "2026-01-15T15:00", "done", False)]
    assert outbox_count(services) == 1


def test_member_local_occurrences_reach_each_member_once_in_one_builder_call(
    services: Services,
) -> None:
    zones = ["Europe/London"] * 40 + ["Europe/Berlin"] * 3
    partnership_id, member_ids = add_partnership(services, zones)
    ritual_id = add_ritual(
        services, partnership_id, RitualKind.STANDUP, "30 9 * * 1-5", "member-local"
    )
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.STANDUP: recorder})

    quiet, quiet_statements = counted_tick(services, at(12, 8, 0), builders)
    berlin = tick(services, at(12, 8, 30, 10), builders=builders)  # 09:30 in Berlin
    london, london_statements = counted_tick(services, at(12, 9, 30, 10), builders)

    assert (quiet.due, quiet.won) == (0, 0)
    # One DISTINCT over the roster's zones, and nothing else, when nothing is due.
    assert quiet_statements <= 3
    assert (berlin.won, london.due, london.won) == (3, 40, 40)
    assert [len(batch) for _, batch in recorder.calls] == [3, 40]
    assert {s for _, s, _ in recorder.built} == {f"member:{m}" for m in member_ids}
    # Rituals, zones, members in due zones, one insert, one outbox insert, the advance.
    assert london_statements <= 6
    assert outbox_count(services) == 43
    assert {row[0] for row in occurrence_rows(services)} == {ritual_id}


def test_a_restart_after_three_hours_runs_what_is_within_grace_and_skips_the_rest(
    services: Services,
) -> None:
    # 09:30 local is 09:30 UTC in London, 08:30 UTC in Berlin, 14:30 UTC in New York.
    zones = ["Europe/London", "Europe/Berlin", "America/New_York"]
    partnership_id, (london, berlin, new_york) = add_partnership(services, zones)
    ritual_id = add_ritual(
        services, partnership_id, RitualKind.STANDUP, "30 9 * * 1-5", "member-local"
    )
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.STANDUP: recorder})

    tick(services, at(12, 8, 0), builders=builders)  # the last tick before the bot stops
    restarted = make_services(services.settings.database_url)  # a fresh process
    try:
        first = tick(restarted, at(12, 11, 0), builders=builders)
        second = tick(restarted, at(12, 11, 0, 30), builders=builders)
    finally:
        restarted.close()

    # London's 09:30 is 1.5 h old (within the standup's 2 h grace); Berlin's is 2.5 h old.
    assert (first.won, first.skipped) == (1, 1)
    assert (second.won, second.skipped) == (0, 0)
    assert recorder.built == [(ritual_id, f"member:{london}", "2026-01-12T09:30")]
    assert outbox_count(services) == 1
    with services.sessions() as session:
        assert occurrences.counts_by_status(session, ritual_id) == {
            "done": 1,
            "skipped": 1,
            "failed": 0,
        }
        (latest, missed) = occurrences.recent(session, ritual_id)
    assert (missed.subject, missed.status) == (f"member:{berlin}", "skipped")
    assert missed.detail == "missed: more than 2 hours late when the bot caught up"
    assert latest.subject == f"member:{london}"
    assert f"member:{new_york}" not in {s for _, s, _ in recorder.built}


def test_pausing_on_one_replica_stops_the_ritual_at_the_next_tick_of_another(
    db_url: str, services: Services
) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    ritual_id = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.KUDOS_PROMPT: recorder})
    other = make_services(db_url)
    try:
        assert tick(other, at(12, 8, 59), builders=builders).rituals == 1
        with transaction(services.sessions) as session:
            rituals.pause(session, ritual_id, at(12, 8, 59, 30), expected_version=1)
        paused = tick(other, at(12, 9, 0, 10), builders=builders)
        with transaction(services.sessions) as session:
            rituals.resume(session, ritual_id, at(12, 9, 5))
        resumed = tick(other, at(12, 9, 5, 30), builders=builders)
        next_day = tick(other, at(13, 9, 0, 20), builders=builders)
    finally:
        other.close()

    assert (paused.rituals, paused.won) == (0, 0)
    assert (resumed.rituals, resumed.won, resumed.skipped) == (1, 0, 0)  # no catch-up
    assert next_day.won == 1
    assert recorder.built == [(ritual_id, "", "2026-01-13T09:00")]


def test_editing_the_cron_on_one_replica_moves_the_next_occurrence_on_another(
    db_url: str, services: Services
) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    ritual_id = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.KUDOS_PROMPT: recorder})
    other = make_services(db_url)
    try:
        tick(other, at(12, 8, 0), builders=builders)
        with transaction(services.sessions) as session:
            rituals.update_ritual(
                session, ritual_id, expected_version=1, now=at(12, 8, 1), cron="15 8 * * *"
            )
        moved = tick(other, at(12, 8, 15, 10), builders=builders)
        old_time = tick(other, at(12, 9, 0, 10), builders=builders)
    finally:
        other.close()

    assert moved.won == 1 and old_time.won == 0
    assert recorder.built == [(ritual_id, "", "2026-01-12T08:15")]


def test_a_failing_builder_rolls_back_its_ritual_only_and_is_retried(
    services: Services,
) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    standup = add_ritual(services, partnership_id, RitualKind.STANDUP, "0 9 * * *", "UTC")
    kudos = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    failing, working = Recorder(), Recorder()
    failing.failing = True
    builders = BuilderRegistry({RitualKind.STANDUP: failing, RitualKind.KUDOS_PROMPT: working})

    broken = tick(services, at(12, 9, 0, 10), builders=builders)
    assert (broken.errors, broken.failed, broken.won, broken.failed_rituals) == (1, 1, 1, [standup])
    assert occurrence_rows(services) == [(kudos, "", "2026-01-12T09:00", "done", False)]
    assert outbox_count(services) == 1  # the failing builder's outbox row rolled back too
    with services.sessions() as session:
        snapshot = rituals.get(session, standup)
    assert snapshot is not None and snapshot.scheduled_through == MONDAY

    failing.failing = False
    retried = tick(services, at(12, 9, 0, 40), builders=builders)
    assert (retried.errors, retried.won) == (0, 1)
    assert failing.built == [(standup, "", "2026-01-12T09:00")]
    assert working.built == [(kudos, "", "2026-01-12T09:00")]
    assert outbox_count(services) == 2


def test_a_builder_failing_past_the_grace_window_ends_in_a_skipped_record(
    services: Services,
) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    standup = add_ritual(services, partnership_id, RitualKind.STANDUP, "0 9 * * *", "UTC")
    failing = Recorder()
    failing.failing = True
    builders = BuilderRegistry({RitualKind.STANDUP: failing})

    for minutes in range(0, 120, 30):
        assert tick(
            services, at(12, 9, 0, 10) + timedelta(minutes=minutes), builders=builders
        ).errors
    late = tick(services, at(12, 11, 5), builders=builders)

    assert (late.errors, late.skipped, late.won) == (0, 1, 0)
    assert occurrence_rows(services) == [(standup, "", "2026-01-12T09:00", "skipped", False)]
    assert outbox_count(services) == 0


def test_a_ritual_can_shorten_its_grace_window(services: Services) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    strict = add_ritual(
        services,
        partnership_id,
        RitualKind.KUDOS_PROMPT,
        "0 9 * * *",
        "UTC",
        settings={"grace_minutes": 30},
    )
    lenient = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    recorder = Recorder()

    report = tick(
        services, at(12, 9, 45), builders=BuilderRegistry({RitualKind.KUDOS_PROMPT: recorder})
    )

    assert (report.won, report.skipped) == (1, 1)
    assert recorder.built == [(lenient, "", "2026-01-12T09:00")]
    assert (strict, "", "2026-01-12T09:00", "skipped", False) in occurrence_rows(services)


def test_a_kind_without_a_builder_is_recorded_as_failed_not_dropped(
    services: Services,
) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    digest = add_ritual(services, partnership_id, RitualKind.DIGEST, "0 9 1 * *", "UTC")

    report = tick(services, datetime(2026, 2, 1, 9, 0, 10, tzinfo=UTC), builders=BuilderRegistry())

    assert (report.won, report.failed, report.errors) == (0, 1, 0)
    with services.sessions() as session:
        (entry,) = occurrences.recent(session, digest)
    assert entry.status == "failed"
    assert entry.detail is not None and "No builder is registered for ritual kind 'digest'" in (
        entry.detail
    )


def test_a_member_without_a_usable_zone_gets_the_default_zone_and_is_flagged(
    db_url: str,
) -> None:
    berlin_default = make_services(db_url, TANDEM_DEFAULT_TIMEZONE="Europe/Berlin")
    try:
        partnership_id, (london, nowhere, unknown) = add_partnership(
            berlin_default, ["Europe/London", None, "Mars/Olympus_Mons"]
        )
        ritual_id = add_ritual(
            berlin_default, partnership_id, RitualKind.STANDUP, "30 9 * * 1-5", "member-local"
        )
        recorder = Recorder()
        builders = BuilderRegistry({RitualKind.STANDUP: recorder})
        berlin_time = tick(berlin_default, at(12, 8, 30, 10), builders=builders)
        london_time = tick(berlin_default, at(12, 9, 30, 10), builders=builders)
        rows = occurrence_rows(berlin_default)
    finally:
        berlin_default.close()

    assert (berlin_time.won, london_time.won) == (2, 1)
    assert sorted(rows) == sorted(
        [
            (ritual_id, f"member:{nowhere}", "2026-01-12T09:30", "done", True),
            (ritual_id, f"member:{unknown}", "2026-01-12T09:30", "done", True),
            (ritual_id, f"member:{london}", "2026-01-12T09:30", "done", False),
        ]
    )


def test_a_ritual_never_ticked_looks_back_one_grace_window(services: Services) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    ritual_id = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    with transaction(services.sessions) as session:
        session.execute(update(Ritual).values(scheduled_through=None))
    report = tick(
        services, at(12, 14, 0), builders=BuilderRegistry({RitualKind.KUDOS_PROMPT: Recorder()})
    )
    assert report.won == 1  # 09:00 is within the kudos prompt's 6 h grace
    with services.sessions() as session:
        snapshot = rituals.get(session, ritual_id)
    assert snapshot is not None and snapshot.scheduled_through == at(12, 14, 0)


def test_member_local_standup_through_spring_forward_fires_once_per_member_per_day(
    services: Services,
) -> None:
    # New York springs forward on Sunday 8 March 2026, Berlin on Sunday 29 March.
    zones = ["America/New_York", "Europe/Berlin", "Asia/Tokyo"]
    partnership_id, member_ids = add_partnership(services, zones)
    start = datetime(2026, 3, 6, tzinfo=UTC)
    daily = Schedule("30 9 * * *", "member-local")
    ritual_id = add_ritual(
        services, partnership_id, RitualKind.STANDUP, daily.cron, daily.timezone, start
    )
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.STANDUP: recorder})

    # Two stretches of 20-minute ticks; paused in between so the gap is not caught up.
    windows = (datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 27, tzinfo=UTC))
    for first_day in windows:
        with transaction(services.sessions) as session:
            rituals.resume(session, ritual_id, first_day)
        moment = first_day
        while moment < first_day + timedelta(days=4):
            tick(services, moment, builders=builders)
            moment += timedelta(minutes=20)
        with transaction(services.sessions) as session:
            rituals.pause(session, ritual_id, moment)

    rows = occurrence_rows(services)
    keys = [(subject, key) for _, subject, key, _, _ in rows]
    assert len(keys) == len(set(keys))
    assert {status for _, _, _, status, _ in rows} == {"done"}
    expected = {
        (f"member:{member_id}", slot.fire_key)
        for member_id, zone in zip(member_ids, zones, strict=True)
        for first_day in windows
        for slot in slots_between(
            daily, first_day, first_day + timedelta(days=4, minutes=-20), zone
        )
    }
    assert set(keys) == expected
    for member_id in member_ids:
        days = [key[:10] for subject, key in keys if subject == f"member:{member_id}"]
        assert "2026-03-08" in days and "2026-03-29" in days  # both change-over days
        assert len(days) == len(set(days))
    new_york = f"member:{member_ids[0]}"
    with services.sessions() as session:
        fired = {
            key: fire_at
            for key, fire_at in session.execute(
                select(Occurrence.fire_key, Occurrence.fire_at).where(
                    Occurrence.ritual_id == ritual_id, Occurrence.subject == new_york
                )
            )
        }
    assert fired["2026-03-07T09:30"] == datetime(2026, 3, 7, 14, 30, tzinfo=UTC)
    assert fired["2026-03-08T09:30"] == datetime(2026, 3, 8, 13, 30, tzinfo=UTC)


def test_members_at_odd_offsets_are_built_at_their_instant_and_quiet_ticks_read_nobody(
    services: Services,
) -> None:
    # +05:45, +13:45 (Chatham's summer), +11:00 (Lord Howe), -03:30 and +09:00.
    zones = ["Asia/Kathmandu", "Pacific/Chatham", "Australia/Lord_Howe", "America/St_Johns"]
    zones += ["Asia/Tokyo", "Asia/Tokyo"]
    partnership_id, member_ids = add_partnership(services, zones)
    standup = Schedule("30 9 * * 1-5", "member-local")
    ritual_id = add_ritual(
        services, partnership_id, RitualKind.STANDUP, standup.cron, standup.timezone
    )
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.STANDUP: recorder})
    day_start, day_end = datetime(2026, 1, 13, tzinfo=UTC), datetime(2026, 1, 14, tzinfo=UTC)
    by_instant: dict[datetime, set[str]] = {}
    for member_id, zone in zip(member_ids, zones, strict=True):
        for slot in slots_between(standup, day_start, day_end, zone):
            by_instant.setdefault(slot.fire_at, set()).add(f"member:{member_id}")
    with transaction(services.sessions) as session:
        rituals.resume(session, ritual_id, day_start)

    for fire_at, subjects in sorted(by_instant.items()):
        before = tick(services, fire_at - timedelta(seconds=20), builders=builders)
        fired = tick(services, fire_at + timedelta(seconds=10), builders=builders)
        # Seven minutes past a quarter hour, 09:30 is nowhere: nothing is read.
        quiet, quiet_statements = counted_tick(services, fire_at + timedelta(minutes=7), builders)
        assert before.won == 0
        assert fired.won == len(subjects)
        assert {s for s, _ in recorder.calls[-1][1]} == subjects
        assert (quiet.due, quiet_statements) == (0, 2)

    assert len(by_instant) == 5
    assert sorted(s for _, s, _ in recorder.built) == sorted(f"member:{m}" for m in member_ids)


def test_run_now_builds_an_extra_occurrence_beside_the_schedule(services: Services) -> None:
    partnership_id, _ = add_partnership(services, ["Europe/London"])
    ritual_id = add_ritual(services, partnership_id, RitualKind.KUDOS_PROMPT, "0 9 * * *", "UTC")
    recorder = Recorder()
    builders = BuilderRegistry({RitualKind.KUDOS_PROMPT: recorder})

    manual, status = run_now(services, ritual_id, at(12, 8, 0), builders=builders)
    tick(services, at(12, 9, 0, 10), builders=builders)
    _, unbuildable = run_now(services, ritual_id, at(12, 10, 0), builders=BuilderRegistry())

    assert status == "done" and manual.is_manual
    assert [key for _, _, key in recorder.built] == [manual.fire_key, "2026-01-12T09:00"]
    assert unbuildable == "failed"
    with services.sessions() as session:
        assert occurrences.counts_by_status(session, ritual_id) == {
            "done": 2,
            "skipped": 0,
            "failed": 1,
        }
    with pytest.raises(rituals.RitualNotFound):
        run_now(services, 999, at(12, 10, 0), builders=builders)


def test_the_background_scheduler_ticks_every_tick_seconds(db_url: str) -> None:
    # No outbox senders: they are not under test and would outlive it.
    made = make_services(db_url, TANDEM_TICK_SECONDS=7.5, TANDEM_SENDER_THREADS=0)
    background = start_background(made, WebClient(token="xoxb-test"))
    scheduler = background.scheduler
    try:
        job = scheduler.get_job("ritual-tick")
        assert job is not None
        assert job.trigger.interval == timedelta(seconds=7.5)
        assert (job.max_instances, job.coalesce) == (1, True)
        assert scheduler.get_job("team-sync") is not None
    finally:
        background.stop()
        made.close()
