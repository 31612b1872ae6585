"""Every balance metric, from SQL, against a reference written from the definitions alone.

The reference below knows nothing of storage.balance or rituals.balance's
formulas: it reads the raw rows of a random organisation (memberships,
interactions, asks) and applies ARCHITECTURE.md and docs/balance.md with
plain loops and networkx. Organisations have 3 to 200 people, people in two
Slack groups of the partnership at once, movers, a third team and a team
outside the partnership, bots, empty months, and rows on and around the
month edges of nine time zones (DST and half-hour zones among them).
Both databases; hypothesis keeps the number of organisations bounded.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from itertools import combinations, pairwise
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session, sessionmaker

from bot.digest import Month, compute_digest
from rituals.balance import Metric, PairMetrics, metrics_from_aggregates
from rituals.interactions import FLOW_KINDS, InteractionKind
from rituals.periods import month_bounds
from storage.balance import oriented, pair_aggregates_by_window, sizes_by_window
from storage.db import transaction
from storage.models import (
    Interaction,
    Member,
    Partnership,
    PartnershipTeam,
    Ritual,
    StandupAnswer,
    StandupAsk,
    StandupDay,
    Team,
    TeamMembership,
    Workspace,
)

K = InteractionKind
T0 = datetime(2020, 1, 1, tzinfo=UTC)
PARTNERSHIP = 1
OUTSIDE = 9  # a team of the workspace outside the partnership
TEAM_IDS = (1, 2, 3)
ANSWER_OWNER = 10_000  # owns the standup answer that asks hang from; a bot, in no team
ZONES = (
    "UTC",
    "Europe/Berlin",  # DST
    "America/New_York",  # DST
    "America/St_Johns",  # half-hour, DST
    "Asia/Kolkata",  # half-hour
    "Asia/Kathmandu",  # quarter-hour
    "Australia/Adelaide",  # half-hour, southern DST
    "Pacific/Chatham",  # quarter-hour, DST
    "America/Sao_Paulo",
)
# Three consecutive months starting here: each run crosses a DST change somewhere.
FIRST_MONTHS = ((2024, 2), (2024, 9), (2024, 3), (2023, 12))


# --- a random organisation ----------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    person: int
    team: int
    joined: datetime
    left: datetime | None


@dataclass(frozen=True)
class Row:
    kind: InteractionKind
    provider: int
    beneficiary: int | None
    provider_team: int
    beneficiary_team: int | None
    at: datetime


@dataclass(frozen=True)
class Ask:
    requester: int
    requester_team: int
    created: datetime
    helper: int | None
    helper_team: int | None
    offered: datetime | None


@dataclass
class Organisation:
    zone: str
    bounds: list[datetime]
    teams: list[int]  # the partnership's teams, in its order
    people: list[int]
    bots: set[int]
    seats: list[Seat]
    rows: list[Row]
    asks: list[Ask]

    def seats_of(self, person: int) -> list[Seat]:
        if not hasattr(self, "_by_person"):
            by_person: dict[int, list[Seat]] = {}
            for seat in self.seats:
                by_person.setdefault(seat.person, []).append(seat)
            self._by_person = by_person
        return self._by_person.get(person, [])


def team_at(org: Organisation, person: int, moment: datetime) -> int | None:
    """The one team a person counts for at `moment` (rituals/roster.py's rule, restated).

    Among the partnership's teams whose seat is open then, the one joined
    first; at the same instant, the one listed first. Outside the partnership
    only when no partnership seat is open.
    """
    open_seats = [
        s
        for s in org.seats_of(person)
        if s.joined <= moment and (s.left is None or moment < s.left)
    ]
    inside = [s for s in open_seats if s.team in org.teams]
    if inside:
        return min(inside, key=lambda s: (s.joined, org.teams.index(s.team))).team
    return OUTSIDE if open_seats else None


def build(seed: int, zone: str, first: tuple[int, int], size: int, three: bool) -> Organisation:
    rnd = random.Random(seed)
    year, month = first
    months = [(year + (month - 1 + i) // 12, (month - 1 + i) % 12 + 1) for i in range(3)]
    bounds = [month_bounds(*months[0], zone)[0], *(month_bounds(y, m, zone)[1] for y, m in months)]
    teams = list(TEAM_IDS if three else TEAM_IDS[:2])
    rnd.shuffle(teams)  # the partnership's order decides ties
    quiet = rnd.choice([None, 0, 1, 2])  # a month with nothing logged

    def moment() -> datetime:
        """On an edge, a hair either side of one, or anywhere around the three months."""
        edge = rnd.choice(bounds)
        pick = rnd.random()
        if pick < 0.15:
            return edge
        if pick < 0.3:
            return edge + rnd.choice(
                [timedelta(microseconds=-1), timedelta(seconds=1), timedelta(microseconds=999_700)]
            )
        span = (bounds[-1] - bounds[0]).total_seconds()
        offset = rnd.uniform(-2 * 86400, span + 2 * 86400)
        return bounds[0] + timedelta(seconds=int(offset), microseconds=rnd.randrange(1_000_000))

    def active_moment() -> datetime:
        while True:
            when = moment()
            index = next((i for i, (s, e) in enumerate(pairwise(bounds)) if s <= when < e), None)
            if index is None or index != quiet:
                return when

    people = list(range(1, size + 1))
    seats: list[Seat] = []
    bots: set[int] = set()
    everywhere = [*teams, OUTSIDE]
    for person in people:
        role = rnd.random()
        home = rnd.choice(everywhere) if rnd.random() < 0.9 else OUTSIDE
        start = T0 if rnd.random() < 0.7 else moment()
        if person == 1 or role < 0.1:  # in two of the partnership's Slack groups at once
            first_team, second_team = rnd.sample(teams, 2)
            seats.append(Seat(person, first_team, start, None))
            later = start if rnd.random() < 0.5 else max(start, moment())
            seats.append(Seat(person, second_team, later, None))
        elif person == 2 or role < 0.2:  # moves from one team to another
            first_team, second_team = rnd.sample(everywhere, 2)
            if person == 2:
                first_team, second_team = teams[0], teams[1]
            when = moment()
            seats.append(Seat(person, first_team, min(start, when - timedelta(days=1)), when))
            seats.append(Seat(person, second_team, when, None))
        elif role < 0.25:  # leaves
            when = moment()
            seats.append(Seat(person, home, min(start, when - timedelta(days=1)), when))
        elif role < 0.28:
            bots.add(person)
            seats.append(Seat(person, home, start, None))
        else:
            seats.append(Seat(person, home, start, None))
    org = Organisation(zone, bounds, teams, people, bots, seats, [], [])

    humans = [p for p in people if p not in bots]
    regulars = [tuple(rnd.sample(humans, 2)) for _ in range(max(1, size // 4))]
    for _ in range(rnd.randrange(0, 260)):
        when = active_moment()
        if rnd.random() < 0.5:
            provider, beneficiary = rnd.choice(regulars)  # repeated pairs make ties
        else:
            provider, beneficiary = rnd.choice(humans), rnd.choice(humans)
        kind = rnd.choice([*sorted(FLOW_KINDS), *sorted(FLOW_KINDS), *InteractionKind])
        provider_team = team_at(org, provider, when)
        if provider_team is None:
            continue
        if kind is K.BLOCKER:
            named = rnd.choice([None, *everywhere])
            org.rows.append(Row(kind, provider, None, provider_team, named, when))
            continue
        if rnd.random() < 0.05:
            org.rows.append(Row(kind, provider, None, provider_team, None, when))
            continue
        beneficiary_team = team_at(org, beneficiary, when)
        if beneficiary_team is None:
            continue
        org.rows.append(Row(kind, provider, beneficiary, provider_team, beneficiary_team, when))
    for _ in range(rnd.randrange(0, 25)):
        requester = rnd.choice(humans)
        created = active_moment()
        requester_team = team_at(org, requester, created)
        if requester_team not in teams:
            continue
        offered = None
        helper = helper_team = None
        if rnd.random() < 0.75:
            wait = timedelta(seconds=rnd.randrange(-60, 5 * 86400))
            offered = created + wait + timedelta(microseconds=rnd.choice([0, 300, 999_999]))
            helper = rnd.choice(humans)
            helper_team = team_at(org, helper, offered)
            if helper_team is None:
                continue
        org.asks.append(Ask(requester, requester_team, created, helper, helper_team, offered))
    return org


# --- the reference ---------------------------------------------------------------------


def members_in(org: Organisation, team: int, start: datetime, end: datetime) -> set[int]:
    """People (bots aside) who counted for `team` at some instant of [start, end).

    The one-team assignment only changes when a seat opens or closes, so it is
    enough to look at `start` and at every seat edge inside the window.
    """
    found: set[int] = set()
    for person in org.people:
        if person in org.bots:
            continue
        edges = {start}
        for s in org.seats_of(person):
            edges |= {t for t in (s.joined, s.left) if t is not None and start < t < end}
        if any(team_at(org, person, t) == team for t in edges):
            found.add(person)
    return found


@dataclass(frozen=True)
class Expected:
    """The metrics one pair of teams should get for one window, each from its definition."""

    size_a: int
    size_b: int
    flows_a_to_b: int
    flows_b_to_a: int
    give_share_a: float | None
    reciprocity: float | None
    tied_a: int
    tied_b: int
    reach_a: float | None
    reach_b: float | None
    external_ties: int
    internal_ties: int
    openness: float | None
    top_two_share: float | None
    gini: float | None
    blockers_a: int
    blockers_b: int
    blocker_share: float | None
    asks: int
    asks_unanswered: int
    ask_median_hours: float | None
    unanswered_share: float | None
    reply_median_hours_a: float | None
    reply_median_hours_b: float | None


def expected(org: Organisation, a: int, b: int, start: datetime, end: datetime) -> Expected:
    month = [r for r in org.rows if start <= r.at < end]
    # Contacts: flows and co-deliveries; co-delivery makes ties, never give/take.
    contacts = [
        r
        for r in month
        if (r.kind in FLOW_KINDS or r.kind is K.CO_DELIVERY)
        and r.beneficiary is not None
        and r.beneficiary_team is not None
        and r.provider != r.beneficiary
    ]
    flows = [r for r in contacts if r.kind in FLOW_KINDS]
    cross = [r for r in flows if {r.provider_team, r.beneficiary_team} == {a, b}]
    cross_contacts = [r for r in contacts if {r.provider_team, r.beneficiary_team} == {a, b}]
    internal = [
        r for r in contacts if r.provider_team == r.beneficiary_team and r.provider_team in (a, b)
    ]
    a_to_b = sum(1 for r in cross if r.provider_team == a)
    b_to_a = len(cross) - a_to_b

    team_a, team_b = members_in(org, a, start, end), members_in(org, b, start, end)
    size_a, size_b = len(team_a), len(team_b)

    # People as graph nodes; a multigraph keeps one edge per cross flow.
    crossing = nx.MultiGraph()
    for r in cross:
        crossing.add_edge(r.provider, r.beneficiary)
    touched = nx.MultiGraph()
    for r in cross_contacts:
        touched.add_edge(r.provider, r.beneficiary)
    tied: dict[int, set[int]] = {a: set(), b: set()}
    for r in cross_contacts:
        assert r.beneficiary is not None and r.beneficiary_team is not None
        if touched.number_of_edges(r.provider, r.beneficiary) >= 2:
            tied[r.provider_team].add(r.provider)
            tied[r.beneficiary_team].add(r.beneficiary)
    inside = nx.Graph()
    inside.add_edges_from((r.provider, r.beneficiary) for r in internal)
    external_ties = nx.Graph(touched).number_of_edges()
    internal_ties = inside.number_of_edges()
    possible_inside = size_a * (size_a - 1) / 2 + size_b * (size_b - 1) / 2
    d_ext = min(1.0, external_ties / (size_a * size_b)) if size_a * size_b else 0.0
    d_int = min(1.0, internal_ties / possible_inside) if possible_inside else 0.0

    degree = dict(crossing.degree())
    busiest = sorted(degree, key=lambda person: (-degree[person], person))[:2]
    touching = [r for r in cross if r.provider in busiest or r.beneficiary in busiest]

    # Everyone in either team, once, and anyone else with a cross flow.
    population = sorted(team_a | team_b | set(degree))
    counts = [degree.get(person, 0) for person in population]
    total = sum(counts)
    gini = None
    if total:
        spread = sum(abs(x - y) for x in counts for y in counts)
        gini = spread / (2 * len(counts) ** 2 * (total / len(counts)))

    blockers = [r for r in month if r.kind is K.BLOCKER and r.provider_team in (a, b)]
    naming = [r for r in blockers if r.beneficiary_team == (b if r.provider_team == a else a)]

    waits: dict[int, list[float]] = {a: [], b: []}
    raised: Counter[int] = Counter()
    for x in org.asks:
        if x.requester_team not in (a, b) or not start <= x.created < end:
            continue
        other = b if x.requester_team == a else a
        answered = x.offered is not None and x.offered < end
        # What happened after the month's end cannot change the month.
        if answered and x.helper_team != other:
            continue
        raised[x.requester_team] += 1
        if answered:
            assert x.offered is not None
            waits[x.requester_team].append(max(0.0, (x.offered - x.created).total_seconds()))
    all_waits = waits[a] + waits[b]
    asks = raised[a] + raised[b]

    def hours(values: Sequence[float]) -> float | None:
        return statistics.median(values) / 3600 if values else None

    n = len(cross)
    return Expected(
        size_a=size_a,
        size_b=size_b,
        flows_a_to_b=a_to_b,
        flows_b_to_a=b_to_a,
        give_share_a=a_to_b / n if n else None,
        reciprocity=2 * min(a_to_b, b_to_a) / n if n else None,
        tied_a=len(tied[a]),
        tied_b=len(tied[b]),
        reach_a=min(1.0, len(tied[a]) / size_a) if size_a else None,
        reach_b=min(1.0, len(tied[b]) / size_b) if size_b else None,
        external_ties=external_ties,
        internal_ties=internal_ties,
        openness=(d_ext - d_int) / (d_ext + d_int) if d_ext + d_int else None,
        top_two_share=len(touching) / n if n else None,
        gini=gini,
        blockers_a=sum(1 for r in blockers if r.provider_team == a),
        blockers_b=sum(1 for r in blockers if r.provider_team == b),
        blocker_share=len(naming) / len(blockers) if blockers else None,
        asks=asks,
        asks_unanswered=asks - len(all_waits),
        ask_median_hours=hours(all_waits),
        unanswered_share=(asks - len(all_waits)) / asks if asks else None,
        reply_median_hours_a=hours(waits[b]),
        reply_median_hours_b=hours(waits[a]),
    )


# --- the database --------------------------------------------------------------------------


def seed_base(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        s.execute(insert(Workspace), [{"id": 1, "slack_team_id": "T1", "created_at": T0}])
        s.execute(
            insert(Team),
            [
                {
                    "id": t,
                    "workspace_id": 1,
                    "name": f"team {t}",
                    "source_kind": "usergroup",
                    "source_id": f"S{t}",
                    "aliases": [],
                    "created_at": T0,
                }
                for t in (*TEAM_IDS, OUTSIDE)
            ],
        )
        s.execute(insert(Member), [member_row(ANSWER_OWNER, bot=True)])
        s.execute(
            insert(Partnership),
            [
                {
                    "id": PARTNERSHIP,
                    "workspace_id": 1,
                    "name": "random",
                    "channel_id": "CJOINT",
                    "interdependence_type": "reciprocal",
                    "settings": {},
                    "created_at": T0,
                }
            ],
        )
        s.execute(
            insert(Ritual),
            [
                {
                    "id": 1,
                    "partnership_id": PARTNERSHIP,
                    "kind": "standup",
                    "cron": "30 9 * * 1-5",
                    "timezone": "member-local",
                    "settings": {},
                    "paused": False,
                    "version": 1,
                    "created_at": T0,
                    "updated_at": T0,
                }
            ],
        )
        s.execute(
            insert(StandupDay),
            [
                {
                    "id": 1,
                    "ritual_id": 1,
                    "local_date": date(2024, 1, 1),
                    "cutoff_at": T0,
                    "created_at": T0,
                }
            ],
        )
        s.execute(
            insert(StandupAnswer),
            [
                {
                    "id": 1,
                    "standup_day_id": 1,
                    "member_id": ANSWER_OWNER,
                    "answers": {},
                    "revision": 0,
                }
            ],
        )


def member_row(person: int, bot: bool = False) -> dict[str, Any]:
    return {
        "id": person,
        "workspace_id": 1,
        "slack_user_id": f"U{person:05d}",
        "display_name": f"person {person}",
        "tz": "UTC",
        "opted_out": [],
        "is_bot": bot,
        "updated_at": T0,
    }


def load(sessions: sessionmaker[Session], org: Organisation) -> None:
    with transaction(sessions) as s:
        s.execute(delete(Interaction))
        s.execute(delete(StandupAsk))
        s.execute(delete(TeamMembership))
        s.execute(delete(PartnershipTeam))
        s.execute(delete(Member).where(Member.id != ANSWER_OWNER))
        s.execute(insert(Member), [member_row(p, p in org.bots) for p in org.people])
        s.execute(
            insert(PartnershipTeam),
            [
                {"partnership_id": PARTNERSHIP, "team_id": t, "position": i}
                for i, t in enumerate(org.teams)
            ],
        )
        s.execute(
            insert(TeamMembership),
            [
                {"team_id": x.team, "member_id": x.person, "joined_at": x.joined, "left_at": x.left}
                for x in org.seats
            ],
        )
        if org.rows:
            s.execute(
                insert(Interaction),
                [
                    {
                        "workspace_id": 1,
                        "partnership_id": PARTNERSHIP,
                        "kind": r.kind.value,
                        "provider_member_id": r.provider,
                        "beneficiary_member_id": r.beneficiary,
                        "provider_team_id": r.provider_team,
                        "beneficiary_team_id": r.beneficiary_team,
                        "occurred_at": r.at,
                        "tags": [],
                    }
                    for r in org.rows
                ],
            )
        if org.asks:
            s.execute(
                insert(StandupAsk),
                [
                    {
                        "answer_id": 1,
                        "partnership_id": PARTNERSHIP,
                        "requester_member_id": x.requester,
                        "requester_team_id": x.requester_team,
                        "helper_member_id": x.helper,
                        "helper_team_id": x.helper_team,
                        "created_at": x.created,
                        "first_offer_at": x.offered,
                    }
                    for x in org.asks
                ],
            )


def as_expected(m: PairMetrics) -> Expected:
    """The production metrics of one pair, laid out as the reference's."""
    return Expected(
        size_a=m.team_a.size,
        size_b=m.team_b.size,
        flows_a_to_b=m.flows_a_to_b,
        flows_b_to_a=m.flows_b_to_a,
        give_share_a=m.give_share_a,
        reciprocity=m.reciprocity,
        tied_a=m.team_a.tied,
        tied_b=m.team_b.tied,
        reach_a=m.team_a.reach,
        reach_b=m.team_b.reach,
        external_ties=m.external_ties,
        internal_ties=m.internal_ties,
        openness=m.openness,
        top_two_share=m.top_two_share,
        gini=m.gini,
        blockers_a=m.team_a.blockers,
        blockers_b=m.team_b.blockers,
        blocker_share=m.blocker_share,
        asks=m.asks,
        asks_unanswered=m.asks_unanswered,
        ask_median_hours=m.ask_median_hours,
        unanswered_share=m.unanswered_share,
        reply_median_hours_a=m.team_a.reply_median_hours,
        reply_median_hours_b=m.team_b.reply_median_hours,
    )


def from_sql(
    sessions: sessionmaker[Session], org: Organisation
) -> list[dict[tuple[int, int], Expected]]:
    """The production path: grouped queries, sizes, then rituals.balance's formulas."""
    with sessions() as s:
        by_window = pair_aggregates_by_window(s, PARTNERSHIP, org.teams, org.bounds)
        sizes = sizes_by_window(s, PARTNERSHIP, org.teams, org.bounds)
    found: list[dict[tuple[int, int], Expected]] = []
    for window, window_sizes in zip(by_window, sizes, strict=True):
        month: dict[tuple[int, int], Expected] = {}
        for a, b in combinations(org.teams, 2):  # in the partnership's order
            key = (min(a, b), max(a, b))
            m = metrics_from_aggregates(
                oriented(window[key], a), window_sizes.teams, window_sizes.people[key]
            )
            month[(a, b)] = as_expected(m)
        found.append(month)
    return found


def assert_agree(got: Expected, want: Expected, where: str) -> None:
    for f in fields(Expected):
        left, right = getattr(got, f.name), getattr(want, f.name)
        if isinstance(right, float) and left is not None:
            assert left == pytest.approx(right, rel=1e-9, abs=1e-9), f"{where} {f.name}"
        else:
            assert left == right, f"{where} {f.name}"


def check(sessions: sessionmaker[Session], org: Organisation) -> None:
    load(sessions, org)
    got = from_sql(sessions, org)
    for index, (start, end) in enumerate(pairwise(org.bounds)):
        for a, b in combinations(org.teams, 2):
            want = expected(org, a, b, start, end)
            assert_agree(got[index][(a, b)], want, f"{org.zone} month {index} pair {a}-{b}:")


# --- the tests ----------------------------------------------------------------------------


organisations = st.builds(
    build,
    seed=st.integers(0, 2**32 - 1),
    zone=st.sampled_from(ZONES),
    first=st.sampled_from(FIRST_MONTHS),
    size=st.one_of(st.integers(3, 12), st.integers(13, 200)),
    three=st.booleans(),
)


def test_every_metric_agrees_with_the_reference_on_random_organisations(
    session_factory: sessionmaker[Session],
) -> None:
    seed_base(session_factory)

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(organisations)
    def run(org: Organisation) -> None:
        check(session_factory, org)

    run()


@pytest.mark.parametrize("zone", ZONES)
def test_each_zone_once_with_a_large_organisation(
    session_factory: sessionmaker[Session], zone: str
) -> None:
    """Every zone is covered whatever hypothesis draws, with 200 people and three teams.

    The leaders' digest for the last month shows the reference's values too.
    """
    seed_base(session_factory)
    org = build(ZONES.index(zone), zone, FIRST_MONTHS[0], 200, True)
    check(session_factory, org)
    with transaction(session_factory) as s:
        partnership = s.get(Partnership, PARTNERSHIP)
        assert partnership is not None
        partnership.settings = {"timezone": zone, "min_group_size": 1}
    last = FIRST_MONTHS[0][0], FIRST_MONTHS[0][1] + 2
    with session_factory() as s:
        digest = compute_digest(s, PARTNERSHIP, Month(*last))
    start, end = org.bounds[-2:]
    shown = {(p.summary.team_a.team.id, p.summary.team_b.team.id): p.summary for p in digest.pairs}
    assert set(shown) == set(combinations(org.teams, 2))
    for (a, b), summary in shown.items():
        want = expected(org, a, b, start, end)
        assert (summary.flows_a_to_b, summary.flows_b_to_a) == (
            want.flows_a_to_b,
            want.flows_b_to_a,
        )
        assert (summary.asks, summary.asks_unanswered) == (want.asks, want.asks_unanswered)
        values = {
            Metric.GIVE_SHARE: want.give_share_a,
            Metric.RECIPROCITY: want.reciprocity,
            Metric.OPENNESS: want.openness,
            Metric.TOP_TWO_SHARE: want.top_two_share,
            Metric.GINI: want.gini,
            Metric.BLOCKER_SHARE: want.blocker_share,
            Metric.ASK_MEDIAN_HOURS: want.ask_median_hours,
            Metric.UNANSWERED_SHARE: want.unanswered_share,
        }
        lines = [(summary.line(metric), value) for metric, value in values.items()]
        lines += [(summary.line(Metric.REACH, a), want.reach_a)]
        lines += [(summary.line(Metric.REACH, b), want.reach_b)]
        for line, value in lines:
            assert line is not None
            if value is None:
                assert line.value is None, line.metric
            else:
                assert line.value == pytest.approx(value, rel=1e-9, abs=1e-9), line.metric


def test_the_generator_makes_the_cases_that_matter() -> None:
    """Two groups at once, a mover, a third team, bots, an empty month, rows on the edges."""
    org = build(7, "Europe/Berlin", (2024, 2), 120, True)
    by_person = Counter(s.person for s in org.seats)
    assert by_person[1] == 2 and by_person[2] == 2
    assert len(org.teams) == 3 and org.bots
    assert any(r.at in org.bounds for r in org.rows)
    assert any(r.provider_team == OUTSIDE or r.beneficiary_team == OUTSIDE for r in org.rows)


def test_the_generator_leaves_some_months_empty() -> None:
    def quiet_months(org: Organisation) -> int:
        return sum(
            1
            for start, end in pairwise(org.bounds)
            if not any(start <= r.at < end for r in org.rows)
        )

    assert any(quiet_months(build(seed, "UTC", (2024, 2), 50, False)) for seed in range(20))
