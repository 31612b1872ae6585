"""Joint standups at organisation scale: prompt timeliness, summary cost, Slack calls per answer.

1. Prompts: 2,000 members in two teams across 24 time zones (UTC-10 to
   UTC+14, half-hour and 45-minute offsets included) run the default
   standup (weekdays 09:30 member-local). The real tick, `bot.tick.tick`, is
   driven every 30 s of simulated time for 26 hours, so every zone's
   Tuesday 09:30 passes. Each prompt's outbox row is compared with the
   member's own 09:30: `created_at - local prompt time` must be <= 30 s.
2. Answers and the summary: 1,000 of them answer through the same service
   the modal calls (validate, store, log, rebuild the summary, queue the
   messages, all in one transaction; its time is what the member waits for
   before the modal closes). Then the summary of 1,000 answers is rebuilt
   from the database and rendered to Block Kit, and built from memory.
3. Slack calls per answer: against the fake Slack Web API, with the real
   outbox sender, answers sent one by one (the sender keeps up) and in a
   burst (answers arrive faster than the summary can be updated).

Run: .venv/bin/python benchmarks/bench_standup.py [--members N] [--answers N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.outbox import OutboxSender, Pacer
from bot.services import Services
from bot.settings import load_settings
from bot.standup import Saved, create_standup, submit_answer, summary_for_day
from bot.tick import tick
from bot.views.standup import summary_message
from rituals.interactions import InterdependenceType
from rituals.standup import AnswerView, StandupSettings, TeamProfile, build_summary, prompt_at
from storage import org
from storage import standups as store
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Member, Outbox
from tests.fakes import FakeSlack
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

ZONES = (
    "Pacific/Honolulu",  # -10
    "America/Anchorage",  # -9
    "America/Los_Angeles",  # -8
    "America/Denver",  # -7
    "America/Chicago",  # -6
    "America/New_York",  # -5
    "America/Halifax",  # -4
    "America/St_Johns",  # -3:30
    "America/Sao_Paulo",  # -3
    "America/Noronha",  # -2
    "Atlantic/Azores",  # -1
    "Europe/London",  # 0
    "Europe/Berlin",  # +1
    "Europe/Helsinki",  # +2
    "Europe/Moscow",  # +3
    "Asia/Dubai",  # +4
    "Asia/Kolkata",  # +5:30
    "Asia/Kathmandu",  # +5:45
    "Asia/Bangkok",  # +7
    "Asia/Tokyo",  # +9
    "Australia/Adelaide",  # +10:30 in January
    "Australia/Sydney",  # +11 in January
    "Pacific/Auckland",  # +13 in January
    "Pacific/Kiritimati",  # +14
)
TUESDAY = datetime(2026, 1, 13, tzinfo=UTC).date()
# Ticks fall at hh:mm:29 and hh:mm:59, so a prompt due at hh:mm:00 waits 29 s: the
# worst case of a 30 s tick (a tick exactly on the minute would show 0 s).
START = datetime(2026, 1, 12, 19, 0, 29, tzinfo=UTC)
END = datetime(2026, 1, 13, 21, 0, 29, tzinfo=UTC)
TICK = timedelta(seconds=30)


def _services(url: str) -> Services:
    engine = make_engine(url)
    settings = load_settings(_env_file=None, TANDEM_DATABASE_URL=url)
    return Services(settings, engine, make_session_factory(engine))


def _seed(services: Services, members: int, channel: str = "CJOINT") -> tuple[int, dict[str, str]]:
    """Two teams, members spread over the zones; returns the ritual id and slack id -> zone."""
    workspace = services.workspace_id(TEAM_ID)
    zones = {f"U{n:05d}": ZONES[n % len(ZONES)] for n in range(members)}
    with transaction(services.sessions) as session:
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", START)
        it = org.add_team(session, workspace, "IT", "usergroup", "SIT", START)
        ids = org.upsert_members(
            session,
            workspace,
            [org.MemberProfile(uid, f"Person {uid}", tz) for uid, tz in zones.items()],
            START,
        )
        ordered = [ids[uid] for uid in zones]
        org.set_team_roster(session, marketing.id, set(ordered[::2]), START)
        org.set_team_roster(session, it.id, set(ordered[1::2]), START)
        partnership = org.add_partnership(
            session,
            workspace,
            "Marketing + IT",
            ["Marketing", "IT"],
            channel,
            [],
            InterdependenceType.RECIPROCAL,
            START,
        )
        ritual = create_standup(session, partnership.id, START - timedelta(minutes=1))
    return ritual.id, zones


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_prompts(services: Services, members: int) -> tuple[int, dict[str, str]]:
    ritual_id, zones = _seed(services, members)
    now, ticks, tick_times = START, 0, []
    started = time.perf_counter()
    while now <= END:
        before = time.perf_counter()
        tick(services, now)
        tick_times.append(time.perf_counter() - before)
        ticks += 1
        now += TICK
    elapsed = time.perf_counter() - started

    settings = StandupSettings()
    with services.sessions() as session:
        rows = session.execute(
            select(Outbox.idempotency_key, Outbox.created_at).where(
                Outbox.idempotency_key.like(f"standup:{ritual_id}:%:prompt:%")
            )
        ).all()
        reminders = session.scalar(
            select(func.count()).where(Outbox.idempotency_key.like("%:reminder:%"))
        )
    delays: list[float] = []
    per_date: Counter[str] = Counter()
    tuesday_members: set[str] = set()
    for key, created_at in rows:
        _, _, local, _, slack_id = key.split(":")
        local_date = datetime.fromisoformat(local).date()
        due = prompt_at(local_date, settings, ZoneInfo(zones[slack_id]))
        delays.append((created_at - due).total_seconds())
        per_date[local] += 1
        if local_date == TUESDAY:
            tuesday_members.add(slack_id)
    late = sum(1 for d in delays if d > 30 or d < 0)
    print(f"1. Prompts: {members:,} members, {len(ZONES)} zones, tick every 30 s for 26 h")
    print(
        f"   ticks: {ticks:,} in {elapsed:.1f} s wall (mean {statistics.mean(tick_times) * 1000:.1f} ms, "
        f"p99 {_percentile(tick_times, 0.99) * 1000:.1f} ms, max {max(tick_times) * 1000:.0f} ms)"
    )
    print(
        f"   prompts queued: {len(rows):,} ({', '.join(f'{d}: {n:,}' for d, n in sorted(per_date.items()))}); "
        f"reminders queued: {reminders:,}"
    )
    print(
        f"   every member prompted for Tuesday: {len(tuesday_members) == members} "
        f"({len(tuesday_members):,}/{members:,})"
    )
    print(
        f"   created_at - local 09:30: min {min(delays):.0f} s, mean {statistics.mean(delays):.1f} s, "
        f"max {max(delays):.0f} s; over 30 s (or early): {late}"
    )
    return ritual_id, zones


def _state(text: dict[str, str]) -> dict[str, Any]:
    def rich(value: str) -> dict[str, Any]:
        elements: list[dict[str, Any]] = []
        for part in value.split("@@"):
            if part.startswith("U") and part[1:6].isdigit():
                elements.append({"type": "user", "user_id": part[:6]})
                part = part[6:]
            if part:
                elements.append({"type": "text", "text": part})
        return {
            "type": "rich_text_input",
            "rich_text_value": {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": elements}],
            },
        }

    return {key: {"answer": rich(value)} for key, value in text.items()}


def _answers(n: int, other: str) -> dict[str, str]:
    filler = "Reviewed the campaign brief, fixed two tracking bugs and synced with design. " * 4
    answers = {
        "done": f"{n}: {filler}",
        "today": f"Pairing with @@{other} on the launch page. {filler}",
    }
    if n % 3 == 0:
        answers["blockers"] = f"Waiting on IT for the DNS change (ticket {n})."
    if n % 5 == 0:
        answers["ask"] = f"Could someone review the tracking plan for release {n}?"
    return answers


def bench_answers(services: Services, ritual_id: int, zones: dict[str, str], count: int) -> None:
    with services.sessions() as session:
        day = store.find_day(session, ritual_id, TUESDAY)
        assert day is not None
        members = session.scalars(select(Member.slack_user_id).order_by(Member.id)).all()
    settings = StandupSettings()
    latencies: list[float] = []
    rows_before = _outbox_count(services)
    people = list(members)[:count]
    for n, slack_id in enumerate(people):
        prompt = prompt_at(TUESDAY, settings, ZoneInfo(zones[slack_id]))
        other = people[n - 1] if n else people[1]
        started = time.perf_counter()
        outcome = submit_answer(
            services,
            TEAM_ID,
            slack_id,
            json.dumps({"day": day.id}),
            _state(_answers(n, other)),
            prompt + timedelta(minutes=20),
        )
        latencies.append(time.perf_counter() - started)
        assert isinstance(outcome, Saved), outcome
    rows_added = _outbox_count(services) - rows_before
    with services.sessions() as session:
        statuses = Counter(
            status
            for status in session.scalars(
                select(Outbox.status).where(Outbox.idempotency_key.like(f"standup:day:{day.id}:%"))
            )
        )
    print(f"2. Answers: {count:,} submitted through the modal's service")
    print(
        f"   time before the modal's ack: p50 {_percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {_percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"(first 10 mean {statistics.mean(latencies[:10]) * 1000:.0f} ms, "
        f"last 10 mean {statistics.mean(latencies[-10:]) * 1000:.0f} ms)"
    )
    print(
        f"   outbox rows written: {rows_added:,} ({rows_added / count:.2f} per answer); "
        f"thread rows by status: {dict(statuses)}"
    )

    timings = []
    with services.sessions() as session:
        for _ in range(5):
            started = time.perf_counter()
            message = summary_for_day(session, day.id)
            timings.append(time.perf_counter() - started)
    assert message is not None
    print(
        f"   summary of {count:,} answers from the database to Block Kit: "
        f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms "
        f"({len(message['blocks'])} blocks; {message['text']})"
    )

    views = [
        AnswerView(f"Person {n}", str(n % 2 + 1), _answers(n, "U00001"), START, n % 7 == 0)
        for n in range(count)
    ]
    teams = [
        TeamProfile(
            "1", "Marketing", member_ids=frozenset(f"U{n:05d}" for n in range(0, count, 2))
        ),
        TeamProfile("2", "IT", member_ids=frozenset(f"U{n:05d}" for n in range(1, count, 2))),
    ]
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        summary = build_summary(TUESDAY, views, teams, [], 3, prompted={"1": count, "2": count})
        summary_message(summary, "Marketing + IT", {"1": "Marketing", "2": "IT"})
        timings.append(time.perf_counter() - started)
    print(
        f"   summary of {count:,} answers built in memory and rendered: "
        f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
    )


def _outbox_count(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Outbox)) or 0)


def bench_calls(url: str) -> None:
    with FakeSlack() as fake:
        services = _services(url)
        ritual_id, zones = _seed(services, 48)
        fake.add_channel("CJOINT", "mkt-it", list(zones))
        clock = {"now": START}
        client = WebClient(token=DEFAULT_TOKEN, base_url=fake.url, retry_handlers=[])
        sender = OutboxSender(
            services.sessions,
            client,
            services.settings,
            "bench",
            clock=lambda: clock["now"],
            pacer=Pacer(1000, channel_interval=0.0),
        )

        def drain() -> None:
            while sender.run_once(clock["now"]):
                pass

        london = [uid for uid, tz in zones.items() if tz == "Europe/London"]
        tokyo = [uid for uid, tz in zones.items() if tz == "Asia/Tokyo"]
        prompt_time = datetime(2026, 1, 13, 9, 30, tzinfo=UTC)
        for at in (datetime(2026, 1, 13, 0, 30, 5, tzinfo=UTC), prompt_time + timedelta(seconds=5)):
            clock["now"] = at
            tick(services, at)
            drain()
        with services.sessions() as session:
            day = store.find_day(session, ritual_id, TUESDAY)
            assert day is not None

        def answer(slack_id: str, n: int) -> list[str]:
            before = len(fake.calls)
            submit_answer(
                services,
                TEAM_ID,
                slack_id,
                json.dumps({"day": day.id}),
                _state(_answers(n, tokyo[0])),
                clock["now"],
            )
            drain()
            return [call.method for call in fake.calls[before:]]

        clock["now"] = prompt_time + timedelta(minutes=10)
        first = answer(london[0], 0)
        second = answer(london[1], 1)
        edit = answer(london[0], 2)
        clock["now"] = prompt_time + timedelta(hours=5)
        drain()  # the reminders now due go out first, so they are not counted below
        late = answer(tokyo[1], 3)
        print(
            "3. Slack calls per answer (fake Slack, real outbox sender), plus 1 views.open for the click"
        )
        for label, methods in (
            ("first of the day", first),
            ("next answer", second),
            ("edit before the cutoff", edit),
            ("late answer", late),
        ):
            print(f"   {label}: {len(methods)} calls ({', '.join(sorted(methods))})")

        clock["now"] = prompt_time + timedelta(hours=5, minutes=1)
        before = len(fake.calls)
        burst = [uid for uid in zones if uid not in {london[0], london[1], tokyo[1]}][:20]
        for n, slack_id in enumerate(burst, start=10):
            submit_answer(
                services,
                TEAM_ID,
                slack_id,
                json.dumps({"day": day.id}),
                _state(_answers(n, tokyo[0])),
                clock["now"],
            )
        drain()
        methods = Counter(call.method for call in fake.calls[before:])
        total = sum(methods.values())
        print(
            f"   burst of {len(burst)} answers before the sender runs: {total} calls "
            f"({total / len(burst):.2f} per answer: {dict(methods)}); queued summary updates "
            "superseded by a newer one are cancelled, not sent"
        )
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument(
        "--database-url", help="an empty database (default: a temporary SQLite file)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/standup.db"
        upgrade(url)
        services = _services(url)
        try:
            ritual_id, zones = bench_prompts(services, args.members)
            bench_answers(services, ritual_id, zones, min(args.answers, args.members))
        finally:
            services.close()
        calls_url = f"sqlite:///{tmp}/calls.db"
        upgrade(calls_url)
        bench_calls(calls_url)


if __name__ == "__main__":
    main()
