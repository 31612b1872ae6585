"""`tandem demo`: what leaders get, on a made-up organisation, with no Slack workspace.

It writes a separate SQLite database with two teams (Marketing, 12 people;
IT, 9), three months of activity in which Marketing takes more than it
gives and the cross-team work leans on two people in IT, then computes the
balance the same way the monthly ritual does and prints it, with the chart.
The random generator is seeded, so every run prints the same numbers.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage.interactions import NewInteraction, log
from storage.models import StandupAnswer, StandupAsk, StandupDay, TeamMembership

if TYPE_CHECKING:
    from bot.digest import Month

K = InteractionKind
TZ = "Europe/Berlin"
PARTNERSHIP = "Marketing + IT"
MONTHS = ((2025, 1), (2025, 2), (2025, 3))  # March: the clocks go forward on the 30th
SEED = 2025
_CREATED = datetime(2024, 12, 2, 8, 0, tzinfo=UTC)
LIAISON_SHARE = 0.4  # of IT's giving, done by its two liaisons
INTERNAL_FLOWS = 10  # per person and month, inside their own team
SKEW = 1.5  # how unevenly cross-team work spreads over people

# Per month: (Marketing -> IT, IT -> Marketing) flows. Marketing's share of
# the giving falls from half to about a quarter.
_CROSS_FLOWS = {1: (30, 30), 2: (28, 38), 3: (18, 64)}
# Kinds of give, weighted: what the giving side did for the other.
_GIVE_KINDS = (
    (K.HELP_GIVEN, 5),
    (K.HELP_OFFERED, 3),
    (K.KUDOS, 4),
    (K.SHADOWING, 2),
    (K.MENTION, 2),
    (K.KUDOS_SECOND, 1),
)


@dataclass
class _Org:
    workspace_id: int
    partnership_id: int
    marketing: int
    it: int
    people: dict[int, list[int]]  # team id -> member ids
    mover: int  # moves from IT to Marketing on 17 February
    moved_at: datetime
    ritual_id: int
    answers: dict[tuple[date, int], int] = field(default_factory=dict)


def _work_moment(rng: random.Random, year: int, month: int) -> datetime:
    """A weekday moment between 09:00 and 18:00 Berlin time in the given month."""
    zone = ZoneInfo(TZ)
    while True:
        day = rng.randint(1, 31)
        try:
            local = datetime(year, month, day, rng.randint(9, 17), rng.randint(0, 59), tzinfo=zone)
        except ValueError:
            continue
        if local.weekday() < 5:
            return local.astimezone(UTC)


def _kind(rng: random.Random) -> InteractionKind:
    kinds = [kind for kind, _ in _GIVE_KINDS]
    weights = [weight for _, weight in _GIVE_KINDS]
    chosen: InteractionKind = rng.choices(kinds, weights)[0]
    return chosen


def _team_of(org: _Org, member: int, when: datetime) -> int:
    if member == org.mover:
        return org.it if when < org.moved_at else org.marketing
    return org.marketing if member in org.people[org.marketing] else org.it


def _create_org(session: Session, now: datetime) -> _Org:
    from bot.digest import digest_ritual_defaults
    from storage import org
    from storage import rituals as ritual_store

    workspace_id = org.ensure_workspace(session, "TDEMO", _CREATED, name="Demo Company")
    profiles = [
        org.MemberProfile(f"UMKT{i:02d}", f"Marketing person {i}", TZ) for i in range(1, 13)
    ] + [org.MemberProfile(f"UIT{i:02d}", f"IT person {i}", "Europe/Lisbon") for i in range(1, 10)]
    ids = org.upsert_members(session, workspace_id, profiles, _CREATED)
    marketing = org.add_team(session, workspace_id, "Marketing", "usergroup", "SMKT", _CREATED)
    it = org.add_team(session, workspace_id, "IT", "usergroup", "SIT", _CREATED)
    people = {
        marketing.id: [ids[f"UMKT{i:02d}"] for i in range(1, 13)],
        it.id: [ids[f"UIT{i:02d}"] for i in range(1, 10)],
    }
    org.set_team_roster(session, marketing.id, set(people[marketing.id]), _CREATED)
    org.set_team_roster(session, it.id, set(people[it.id]), _CREATED)
    partnership = org.add_partnership(
        session,
        workspace_id,
        PARTNERSHIP,
        ["Marketing", "IT"],
        "CJOINT",
        ["UMKT01", "UIT01"],
        InterdependenceType.RECIPROCAL,
        _CREATED,
    )
    partnership.settings = {"timezone": TZ}
    # One IT person joins Marketing mid-February: counted where they were at the time.
    mover, moved_at = people[it.id][-1], datetime(2025, 2, 17, 8, 0, tzinfo=UTC)
    session.execute(
        update(TeamMembership)
        .where(TeamMembership.member_id == mover, TeamMembership.team_id == it.id)
        .values(left_at=moved_at)
    )
    session.add(TeamMembership(team_id=marketing.id, member_id=mover, joined_at=moved_at))
    standup = ritual_store.create(
        session,
        partnership_id=partnership.id,
        kind=RitualKind.STANDUP,
        cron="30 9 * * 1-5",
        timezone="member-local",
        now=_CREATED,
    )
    defaults = digest_ritual_defaults(TZ)
    ritual_store.create(
        session,
        partnership_id=partnership.id,
        kind=RitualKind.DIGEST,
        cron=defaults["cron"],
        timezone=defaults["timezone"],
        settings={**defaults["settings"], "leaders_channel": "CLEADERS"},
        now=now,
    )
    session.flush()
    return _Org(
        workspace_id,
        partnership.id,
        marketing.id,
        it.id,
        people,
        mover,
        moved_at,
        standup.id,
    )


def _answer_for(session: Session, org: _Org, member: int, when: datetime) -> int:
    """A standup answer to hang an ask on (one per member and day)."""
    local_day = when.astimezone(ZoneInfo(TZ)).date()
    key = (local_day, member)
    if key in org.answers:
        return org.answers[key]
    day_id = session.scalar(
        select(StandupDay.id).where(
            StandupDay.ritual_id == org.ritual_id, StandupDay.local_date == local_day
        )
    )
    if day_id is None:
        day = StandupDay(
            ritual_id=org.ritual_id,
            local_date=local_day,
            cutoff_at=when + timedelta(hours=8),
            created_at=when,
        )
        session.add(day)
        session.flush()
        day_id = day.id
    answer = StandupAnswer(
        standup_day_id=day_id,
        member_id=member,
        team_id=_team_of(org, member, when),
        answers={},
        answered_at=when,
        revision=0,
    )
    session.add(answer)
    session.flush()
    org.answers[key] = answer.id
    return answer.id


def _flows(rng: random.Random, org: _Org) -> Iterator[NewInteraction]:
    marketing, it = org.people[org.marketing], org.people[org.it]
    liaisons = it[:2]  # two IT people carry much of the work
    # A few people do most of the cross-team work on each side (weights 1/rank^SKEW).
    weights = {
        team[0]: [1 / (rank + 1) ** SKEW for rank in range(len(team))] for team in (marketing, it)
    }
    for year, month in MONTHS:
        to_it, to_marketing = _CROSS_FLOWS[month]
        for giver_side, count in ((marketing, to_it), (it, to_marketing)):
            others = marketing if giver_side is it else it
            for _ in range(count):
                when = _work_moment(rng, year, month)
                if giver_side is it and rng.random() < LIAISON_SHARE:
                    provider = rng.choice(liaisons)
                else:
                    provider = rng.choices(giver_side, weights[giver_side[0]])[0]
                beneficiary = rng.choices(others, weights[others[0]])[0]
                yield _interaction(org, _kind(rng), provider, beneficiary, when)
        for team in (marketing, it):  # teams talk among themselves far more
            for _ in range(INTERNAL_FLOWS * len(team)):
                when = _work_moment(rng, year, month)
                provider, beneficiary = rng.sample(team, 2)
                yield _interaction(
                    org, rng.choice((K.KUDOS, K.HELP_GIVEN, K.MENTION)), provider, beneficiary, when
                )
        for member in marketing + it:  # standup participation and blockers
            for _ in range(rng.randint(8, 14)):
                when = _work_moment(rng, year, month)
                yield _interaction(org, K.STANDUP_ANSWER, member, None, when)
            if rng.random() < 0.5:
                when = _work_moment(rng, year, month)
                mine = _team_of(org, member, when)
                other = org.it if mine == org.marketing else org.marketing
                names = (
                    other
                    if (mine == org.marketing and rng.random() < 0.6) or rng.random() < 0.2
                    else None
                )
                yield NewInteraction(
                    org.workspace_id, org.partnership_id, K.BLOCKER, member, None, mine, names, when
                )


def _interaction(
    org: _Org, kind: InteractionKind, provider: int, beneficiary: int | None, when: datetime
) -> NewInteraction:
    return NewInteraction(
        workspace_id=org.workspace_id,
        partnership_id=org.partnership_id,
        kind=kind,
        provider_member_id=provider,
        beneficiary_member_id=beneficiary,
        provider_team_id=_team_of(org, provider, when),
        beneficiary_team_id=None if beneficiary is None else _team_of(org, beneficiary, when),
        occurred_at=when,
    )


def _asks(session: Session, rng: random.Random, org: _Org) -> int:
    """Marketing asks IT often and gets quick answers; IT's few asks wait longer."""
    count = 0
    for year, month in MONTHS:
        for asking, answering, asks, typical_hours in (
            (org.people[org.marketing], org.people[org.it], 14, 4.0),
            (org.people[org.it], org.people[org.marketing], 5, 16.0),
        ):
            for _ in range(asks):
                created = _work_moment(rng, year, month)
                requester = rng.choice(asking)
                requester_team = _team_of(org, requester, created)
                answered = rng.random() < 0.85
                helper = rng.choice(answering) if answered else None
                wait = timedelta(hours=rng.expovariate(1 / typical_hours)) if answered else None
                session.add(
                    StandupAsk(
                        answer_id=_answer_for(session, org, requester, created),
                        partnership_id=org.partnership_id,
                        requester_member_id=requester,
                        requester_team_id=requester_team,
                        helper_member_id=helper,
                        helper_team_id=None if helper is None else _team_of(org, helper, created),
                        created_at=created,
                        first_offer_at=None if wait is None else created + wait,
                    )
                )
                count += 1
    session.flush()
    return count


@dataclass(frozen=True, slots=True)
class DemoResult:
    database: Path
    workspace_id: int
    partnership_id: int
    interactions: int
    asks: int
    kpis: int = 0
    checkins: int = 0
    pulses: tuple[str, ...] = ()
    answers: int = 0


class NotADemoDatabase(Exception):
    """--db names a file the demo did not create; str(self) says what to do."""


def build_demo(database: Path, now: datetime) -> tuple[str, DemoResult]:
    """Create the demo database (replacing an old one) and return the url and what was made.

    Only a file an earlier demo stamped is replaced: anything else at that
    path may be someone's real data.
    """
    from bot.demo_kpi_pulse import seed as seed_kpis_and_pulse
    from storage.db import make_engine, make_session_factory, transaction
    from storage.demo_file import is_demo_file, mark_as_demo
    from storage.migrate import upgrade

    if database.exists() and not is_demo_file(database):
        raise NotADemoDatabase(
            f"{database} exists and is not a Tandem demo database, so the demo leaves it "
            "alone; pass another path with --db (an older demo's file you may delete yourself)"
        )
    for stale in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))):
        stale.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    try:
        mark_as_demo(engine)
        sessions = make_session_factory(engine)
        rng = random.Random(SEED)
        with transaction(sessions) as session:
            org = _create_org(session, now)
            added = log(session, *_flows(rng, org))
            asks = _asks(session, rng, org)
            seeded = seed_kpis_and_pulse(
                session,
                rng,
                workspace_id=org.workspace_id,
                partnership_id=org.partnership_id,
                teams={"Marketing": org.marketing, "IT": org.it},
                people=org.people,
                created=_CREATED,
            )
    finally:
        engine.dispose()
    return url, DemoResult(
        database,
        org.workspace_id,
        org.partnership_id,
        added,
        asks,
        seeded.kpis,
        seeded.checkins,
        seeded.pulses,
        seeded.answers,
    )


def run_demo(database: Path, chart: Path, now: datetime, out: TextIO | None = None) -> int:
    from bot.chart import balance_chart
    from bot.digest import Month, compute_digest
    from bot.digest_sections import sections_text
    from bot.digest_text import render_table
    from storage.db import make_engine, make_session_factory

    out = out or sys.stdout
    url, made = build_demo(database, now)
    month = Month(*MONTHS[-1])
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            digest = compute_digest(session, made.partnership_id, month)
            pair = digest.pairs[0].summary
            member_view = _member_view(
                session, made, [pair.team_a.team.id, pair.team_b.team.id], month
            )
    finally:
        engine.dispose()
    chart.write_bytes(balance_chart(digest))
    print("Tandem demo: a made-up organisation, no Slack workspace needed.", file=out)
    print(
        f"Database: {database} (SQLite, separate from your real one; delete it any time).",
        file=out,
    )
    print(
        f"Teams: Marketing (12 people) and IT (9 people) in the partnership {PARTNERSHIP!r} "
        f"(reciprocal); one IT person joins Marketing on 17 February.",
        file=out,
    )
    print(
        f"Logged: {made.interactions} interactions and {made.asks} standup asks, "
        "January to March 2025.",
        file=out,
    )
    print(
        f"Joint KPIs: {made.kpis}, each owned by one Marketing and one IT person, with "
        f"{made.checkins} weekly check-ins; collaboration pulse: {' and '.join(made.pulses)}, "
        f"{made.answers} anonymous answers in the last one (both shown below the balance).",
        file=out,
    )
    print("", file=out)
    print(render_table(digest), file=out)
    print("", file=out)
    print(sections_text(digest.sections), file=out)
    print("", file=out)
    print(member_view, file=out)
    print("", file=out)
    print(f"Chart written to {chart}.", file=out)
    print(
        "In Slack, each leader gets this as a direct message at 09:00 their time on the first "
        "working day of the month, with the chart and a 'What do these numbers mean?' button.",
        file=out,
    )
    url_setting = shlex.quote(f"TANDEM_DATABASE_URL=sqlite:///{database}")
    print(
        f"Explore it: {url_setting} {tandem_command()} digest "
        f'--partnership "{PARTNERSHIP}" --month {month.key} --json',
        file=out,
    )
    return 0


def tandem_command(cwd: Path | None = None) -> str:
    """How to type `tandem` in this shell, so a line we print works when pasted.

    Plain `tandem` when it is on PATH (an activated virtualenv); otherwise
    the script beside this interpreter (`.venv/bin/tandem` after `make demo`).
    """
    script = Path(sys.executable).parent / "tandem"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m bot.cli"
    found = shutil.which("tandem")
    if found and Path(found).resolve() == script.resolve():
        return "tandem"
    here = (cwd or Path.cwd()).resolve()
    absolute = Path(os.path.abspath(script))
    shown = absolute.relative_to(here) if absolute.is_relative_to(here) else absolute
    return shlex.quote(str(shown))


def _member_view(session: Session, made: DemoResult, teams: list[int], month: Month) -> str:
    """What one Marketing member sees with /tandem balance for March (only to them)."""
    from bot.member_balance import OwnBalance
    from bot.views.digest import KUDOS_NOTE
    from storage.balance import own_flows
    from storage.org import find_member

    member = find_member(session, made.workspace_id, "UMKT02")
    assert member is not None
    start, end = month.bounds(TZ)
    flows = own_flows(session, made.partnership_id, member.id, teams, start, end)
    balance = OwnBalance(PARTNERSHIP, ("IT",), "March 2025", flows)
    return (
        "What one Marketing member sees with /tandem balance (only they see it):\n"
        f"  You gave IT {balance.gave}: {balance.given_text}\n"
        f"  IT gave you {balance.took}: {balance.received_text}\n"
        f"  {balance.advice}\n"
        f"  ({KUDOS_NOTE})"
    )
