"""The SQL aggregates agree with the plain-Python reference, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session, sessionmaker

from rituals.balance import (
    PairAggregates,
    PairMetrics,
    metrics_from_aggregates,
)
from rituals.interactions import FLOW_KINDS, InteractionKind
from rituals.periods import month_bounds
from storage.balance import (
    own_flows,
    pair_aggregates,
    pair_aggregates_by_window,
    sizes_by_window,
    team_sizes,
)
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
from tests.rituals.balance_reference import AskRecord, InteractionRecord, reference_metrics
from tests.rituals.test_balance import (
    END,
    HAND_AGGREGATES,
    HAND_ASKS,
    HAND_RECORDS,
    HAND_SIZES,
    START,
    check_hand_metrics,
    count_aggregates,
    flatten,
)

K = InteractionKind
A, B, C, OUTSIDE = 1, 2, 3, 4
PARTNERSHIP, OTHER_PARTNERSHIP = 1, 2
PEOPLE = range(1, 41)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
ANSWER = 1


# --- seeding ---------------------------------------------------------------------


def seed_org(sessions: sessionmaker[Session]) -> None:
    """Teams 1-4, people 1-40 (ids as given), partnership 1 of teams 1-3, and a spare one."""
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
                for t in (A, B, C, OUTSIDE)
            ],
        )
        s.execute(
            insert(Member),
            [
                {
                    "id": p,
                    "workspace_id": 1,
                    "slack_user_id": f"U{p:03d}",
                    "display_name": f"person {p}",
                    "tz": "Europe/Berlin",
                    "opted_out": [],
                    "updated_at": T0,
                }
                for p in PEOPLE
            ],
        )
        s.execute(
            insert(Partnership),
            [
                {
                    "id": pid,
                    "workspace_id": 1,
                    "name": f"partnership {pid}",
                    "channel_id": "CJOINT",
                    "interdependence_type": "reciprocal",
                    "settings": {},
                    "created_at": T0,
                }
                for pid in (PARTNERSHIP, OTHER_PARTNERSHIP)
            ],
        )
        s.execute(
            insert(PartnershipTeam),
            [
                {"partnership_id": PARTNERSHIP, "team_id": t, "position": i}
                for i, t in enumerate((A, B, C))
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
            [{"id": ANSWER, "standup_day_id": 1, "member_id": 1, "answers": {}, "revision": 0}],
        )


def log_records(
    session: Session, records: Sequence[InteractionRecord], partnership_id: int = PARTNERSHIP
) -> None:
    if not records:
        return
    session.execute(
        insert(Interaction),
        [
            {
                "workspace_id": 1,
                "partnership_id": partnership_id,
                "kind": r.kind.value,
                "provider_member_id": r.provider,
                "beneficiary_member_id": r.beneficiary,
                "provider_team_id": r.provider_team,
                "beneficiary_team_id": r.beneficiary_team,
                "occurred_at": r.occurred_at,
                "tags": [],
            }
            for r in records
        ],
    )


def log_asks(
    session: Session, asks: Sequence[AskRecord], partnership_id: int = PARTNERSHIP
) -> None:
    if not asks:
        return
    session.execute(
        insert(StandupAsk),
        [
            {
                "answer_id": ANSWER,
                "partnership_id": partnership_id,
                "requester_member_id": 1,
                "requester_team_id": x.requester_team,
                "helper_member_id": None if x.helper_team is None else 2,
                "helper_team_id": x.helper_team,
                "created_at": x.created_at,
                "first_offer_at": x.first_offer_at,
            }
            for x in asks
        ],
    )


def clear_log(session: Session) -> None:
    session.execute(delete(Interaction))
    session.execute(delete(StandupAsk))


# --- comparing -----------------------------------------------------------------------


def normalised(agg: PairAggregates) -> PairAggregates:
    return dataclasses.replace(
        agg,
        cross_counts=tuple(sorted(agg.cross_counts, reverse=True)),
        ask_latencies_from_a=tuple(sorted(agg.ask_latencies_from_a)),
        ask_latencies_from_b=tuple(sorted(agg.ask_latencies_from_b)),
    )


def assert_close(left: Any, right: Any) -> None:
    """Dataclasses equal field by field, floats to a microsecond of wait."""
    flat_left, flat_right = flatten(left), flatten(right)
    assert flat_left.keys() == flat_right.keys()
    for name, value in flat_left.items():
        other = flat_right[name]
        floats = isinstance(value, float) or isinstance(other, float)
        if floats or (isinstance(value, tuple) and value and isinstance(value[0], float)):
            assert value == pytest.approx(other, rel=1e-9, abs=1e-6), name
        else:
            assert value == other, name


def assert_metrics_agree(got: PairMetrics, expected: PairMetrics) -> None:
    assert_close(got, expected)


# --- hand-made months ------------------------------------------------------------------


def test_the_hand_computed_month_comes_out_of_sql(session_factory: sessionmaker[Session]) -> None:
    seed_org(session_factory)
    with transaction(session_factory) as s:
        log_records(s, HAND_RECORDS)
        log_asks(s, HAND_ASKS)
    with session_factory() as s:
        agg = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
        swapped = pair_aggregates(s, PARTNERSHIP, B, A, START, END)
    assert_close(normalised(agg), normalised(HAND_AGGREGATES))
    check_hand_metrics(metrics_from_aggregates(agg, HAND_SIZES))
    assert (swapped.team_a, swapped.flows_a_to_b, swapped.tied_a) == (B, 4, 2)
    assert swapped.ask_latencies_from_a == pytest.approx((6 * 3600.0, 10 * 3600.0))


def test_only_the_partnerships_own_log_counts(session_factory: sessionmaker[Session]) -> None:
    seed_org(session_factory)
    at = START + timedelta(days=3)
    with transaction(session_factory) as s:
        log_records(s, [InteractionRecord(K.KUDOS, 1, 21, A, B, at)])
        log_records(s, [InteractionRecord(K.KUDOS, 2, 22, A, B, at)] * 3, OTHER_PARTNERSHIP)
        log_asks(s, [AskRecord(at, None, A, None)], OTHER_PARTNERSHIP)
    with session_factory() as s:
        agg = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
    assert (agg.flows_a_to_b, agg.flows_b_to_a, agg.asks_from_a) == (1, 0, 0)


def test_one_direction_only(session_factory: sessionmaker[Session]) -> None:
    seed_org(session_factory)
    at = START + timedelta(days=3)
    records = [InteractionRecord(K.HELP_GIVEN, 1 + i % 3, 21, A, B, at) for i in range(6)]
    with transaction(session_factory) as s:
        log_records(s, records)
    with session_factory() as s:
        m = metrics_from_aggregates(pair_aggregates(s, PARTNERSHIP, A, B, START, END), {A: 5, B: 5})
    assert (m.flows_a_to_b, m.flows_b_to_a, m.give_share_a, m.reciprocity) == (6, 0, 1.0, 0.0)


def test_no_activity_gives_empty_aggregates(session_factory: sessionmaker[Session]) -> None:
    seed_org(session_factory)
    with session_factory() as s:
        agg = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
    assert not metrics_from_aggregates(agg, {A: 5, B: 5}).has_activity
    assert agg.cross_counts == () and agg.ask_latencies_from_a == ()


def test_a_member_who_moved_mid_month_counts_for_the_team_at_the_time(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)
    early, late = START + timedelta(days=2), START + timedelta(days=20)
    records = [
        InteractionRecord(K.KUDOS, 7, 21, A, B, early),  # 7 in IT early on
        InteractionRecord(K.KUDOS, 7, 21, A, B, early),
        InteractionRecord(K.KUDOS, 7, 11, B, A, late),  # 7 in Marketing later
        InteractionRecord(K.KUDOS, 7, 11, B, A, late),
    ]
    with transaction(session_factory) as s:
        log_records(s, records)
    with session_factory() as s:
        agg = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
    # 7 is tied on A's side (with 21) and on B's side (with 11).
    assert (agg.flows_a_to_b, agg.flows_b_to_a, agg.tied_a, agg.tied_b) == (2, 2, 2, 2)
    expected = reference_metrics(records, [], {A: 5, B: 5}, A, B, START, END)
    assert_metrics_agree(metrics_from_aggregates(agg, {A: 5, B: 5}), expected)


def test_a_month_with_a_dst_change_is_cut_at_local_midnight(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)
    march = month_bounds(2024, 3, "Europe/Berlin")
    april = month_bounds(2024, 4, "Europe/Berlin")
    assert march[1] - march[0] == timedelta(days=31, hours=-1)
    last_march = datetime(2024, 3, 31, 21, 59, tzinfo=UTC)  # 23:59 CEST
    first_april = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)  # 00:00 CEST
    first_march = datetime(2024, 2, 29, 23, 0, tzinfo=UTC)  # 00:00 CET
    records = [
        InteractionRecord(K.KUDOS, 1, 21, A, B, first_march),
        InteractionRecord(K.KUDOS, 1, 21, A, B, last_march),
        InteractionRecord(K.KUDOS, 21, 1, B, A, first_april),
    ]
    with transaction(session_factory) as s:
        log_records(s, records)
    with session_factory() as s:
        by_month = pair_aggregates_by_window(s, PARTNERSHIP, (A, B), (*march, april[1]))
    assert [(m[(A, B)].flows_a_to_b, m[(A, B)].flows_b_to_a) for m in by_month] == [(2, 0), (0, 1)]


def test_three_teams_are_counted_pair_by_pair(session_factory: sessionmaker[Session]) -> None:
    seed_org(session_factory)
    at = START + timedelta(days=4)
    records = [
        InteractionRecord(K.KUDOS, 1, 21, A, B, at),
        InteractionRecord(K.KUDOS, 1, 31, A, C, at),
        InteractionRecord(K.KUDOS, 31, 1, C, A, at),
        InteractionRecord(K.KUDOS, 21, 31, B, C, at),
        InteractionRecord(K.KUDOS, 1, 35, A, OUTSIDE, at),  # a team outside the partnership
        InteractionRecord(K.BLOCKER, 21, None, B, C, at),
    ]
    asks = [AskRecord(at, None, A, None), AskRecord(at, at + timedelta(hours=1), B, C)]
    with transaction(session_factory) as s:
        log_records(s, records)
        log_asks(s, asks)
    with session_factory() as s:
        (pairs,) = pair_aggregates_by_window(s, PARTNERSHIP, (A, B, C), (START, END))
    assert set(pairs) == {(A, B), (A, C), (B, C)}
    assert (pairs[(A, B)].flows_a_to_b, pairs[(A, B)].flows_b_to_a) == (1, 0)
    assert (pairs[(A, C)].flows_a_to_b, pairs[(A, C)].flows_b_to_a) == (1, 1)
    assert (pairs[(B, C)].flows_a_to_b, pairs[(B, C)].blockers_a_naming_b) == (1, 1)
    assert pairs[(A, B)].blockers_b == 1 and pairs[(A, B)].blockers_b_naming_a == 0
    # The unanswered ask counts for both of A's pairs, the answered one only for B-C.
    assert (pairs[(A, B)].asks_from_a, pairs[(A, C)].asks_from_a) == (1, 1)
    assert (pairs[(A, B)].asks_from_b, pairs[(B, C)].asks_from_a) == (0, 1)
    assert pairs[(B, C)].ask_latencies_from_a == pytest.approx((3600.0,))


def test_bounds_are_checked(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        with pytest.raises(ValueError, match="increase"):
            pair_aggregates_by_window(s, PARTNERSHIP, (A, B), (END, START))
        with pytest.raises(ValueError, match="aware"):
            pair_aggregates_by_window(s, PARTNERSHIP, (A, B), (START.replace(tzinfo=None), END))
        assert pair_aggregates_by_window(s, PARTNERSHIP, (A,), (START, END)) == [{}]


def test_team_sizes_count_everyone_who_belonged_during_the_month(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)
    mid = START + timedelta(days=15)
    with transaction(session_factory) as s:
        s.execute(
            insert(TeamMembership),
            [
                {"team_id": A, "member_id": 1, "joined_at": T0, "left_at": None},
                {"team_id": A, "member_id": 2, "joined_at": T0, "left_at": mid},  # moved...
                {"team_id": B, "member_id": 2, "joined_at": mid, "left_at": None},  # ...to B
                {"team_id": A, "member_id": 3, "joined_at": T0, "left_at": START},  # left before
                {"team_id": A, "member_id": 4, "joined_at": END, "left_at": None},  # joined after
                {"team_id": B, "member_id": 5, "joined_at": T0, "left_at": None},
                {"team_id": B, "member_id": 6, "joined_at": T0, "left_at": None},
            ],
        )
        bot = s.get(Member, 6)
        assert bot is not None
        bot.is_bot = True
    with session_factory() as s:
        assert team_sizes(s, PARTNERSHIP, (A, B, C), START, END) == {A: 2, B: 2, C: 0}
        (sizes,) = sizes_by_window(s, PARTNERSHIP, (A, B, C), (START, END))
    # The mover is in both sizes but one person of the pair.
    assert sizes.people == {(A, B): 3, (A, C): 2, (B, C): 2}


def test_someone_in_two_slack_groups_counts_for_one_team(
    session_factory: sessionmaker[Session],
) -> None:
    """The one-team rule of rituals.roster: the team joined first, ties to the one listed first."""
    seed_org(session_factory)
    mid = START + timedelta(days=15)
    with transaction(session_factory) as s:
        s.execute(
            insert(TeamMembership),
            [
                # 1 joined A and B at once: A is listed first.
                {"team_id": A, "member_id": 1, "joined_at": T0, "left_at": None},
                {"team_id": B, "member_id": 1, "joined_at": T0, "left_at": None},
                # 2 joined B first, then A as well: B.
                {"team_id": B, "member_id": 2, "joined_at": T0, "left_at": None},
                {"team_id": A, "member_id": 2, "joined_at": START, "left_at": None},
                # 3 was in C and joined A too, then left C mid-month: C, then A.
                {"team_id": C, "member_id": 3, "joined_at": T0, "left_at": mid},
                {"team_id": A, "member_id": 3, "joined_at": START, "left_at": None},
                # 4 is in B and in a team outside the partnership: B.
                {"team_id": OUTSIDE, "member_id": 4, "joined_at": T0, "left_at": None},
                {"team_id": B, "member_id": 4, "joined_at": mid, "left_at": None},
                # 5 left C exactly when the month started: not counted in it.
                {"team_id": C, "member_id": 5, "joined_at": T0, "left_at": START},
                {"team_id": A, "member_id": 5, "joined_at": T0, "left_at": None},
            ],
        )
    with session_factory() as s:
        (sizes,) = sizes_by_window(s, PARTNERSHIP, (A, B, C), (START, END))
        (later,) = sizes_by_window(s, PARTNERSHIP, (A, B, C), (END, END + timedelta(days=30)))
    assert sizes.teams == {A: 3, B: 2, C: 1}  # A: 1, 3, 5; B: 2, 4; C: 3
    assert sizes.people == {(A, B): 5, (A, C): 3, (B, C): 3}
    assert later.teams == {A: 3, B: 2, C: 0}


def test_own_flows_are_one_members_cross_team_give_and_take(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)
    at = START + timedelta(days=4)
    records = [
        InteractionRecord(K.HELP_GIVEN, 1, 21, A, B, at),
        InteractionRecord(K.KUDOS, 21, 1, B, A, at),
        InteractionRecord(K.KUDOS, 22, 1, B, A, at),
        InteractionRecord(K.KUDOS, 2, 1, A, A, at),  # inside the team: not a cross flow
        InteractionRecord(K.KUDOS, 22, 23, B, B, at),  # someone else's
        InteractionRecord(K.KUDOS, 22, 1, B, A, END),  # next month
    ]
    with transaction(session_factory) as s:
        log_records(s, records)
    with session_factory() as s:
        mine = own_flows(s, PARTNERSHIP, 1, (A, B, C), START, END)
    assert mine.given == {"help_given": 1} and mine.received == {"kudos": 2}
    assert (mine.gave, mine.took) == (1, 2)


# --- random months against the reference ----------------------------------------------

WINDOW_BOUNDS = (
    *month_bounds(2024, 2, "Europe/Berlin"),
    month_bounds(2024, 3, "Europe/Berlin")[1],  # March: clocks go forward
    month_bounds(2024, 4, "Europe/Berlin")[1],
)
SPAN_MINUTES = int((WINDOW_BOUNDS[-1] - WINDOW_BOUNDS[0]).total_seconds() // 60)

moments = st.one_of(
    st.integers(-2 * 24 * 60, SPAN_MINUTES + 2 * 24 * 60).map(
        lambda m: WINDOW_BOUNDS[0] + timedelta(minutes=m)
    ),
    st.sampled_from(WINDOW_BOUNDS).flatmap(
        lambda b: st.sampled_from([b, b - timedelta(microseconds=1), b + timedelta(seconds=1)])
    ),
)
teams = st.sampled_from([A, A, A, B, B, B, C, C, OUTSIDE])
# People move between teams: each record draws the team the person was in at the time.
record_strategy = st.builds(
    InteractionRecord,
    # Co-delivery makes ties without being a flow; test_balance_exact's reference covers it.
    kind=st.sampled_from(
        [
            *sorted(FLOW_KINDS),
            *sorted(FLOW_KINDS),
            *(k for k in InteractionKind if k is not K.CO_DELIVERY),
        ]
    ),
    provider=st.integers(1, 9),
    beneficiary=st.sampled_from([None, *range(1, 10), *range(1, 10)]),
    provider_team=teams,
    beneficiary_team=st.one_of(st.none(), teams),
    occurred_at=moments,
)
# Repeated pairs of people across A and B, so ties and the busiest two matter.
cross_strategy = st.builds(
    lambda kind, p, b, a_gives, when: InteractionRecord(
        kind, p, b, A if a_gives else B, B if a_gives else A, when
    ),
    st.sampled_from(sorted(FLOW_KINDS)),
    st.integers(1, 5),
    st.integers(6, 9),
    st.booleans(),
    moments,
)
ask_strategy = st.builds(
    lambda created, wait, requester, helper: AskRecord(
        created,
        None if wait is None else created + timedelta(seconds=wait),
        requester,
        helper,
    ),
    moments,
    st.one_of(st.none(), st.integers(-600, 5 * 24 * 3600)),
    teams,
    st.one_of(st.none(), teams),
)
sizes_strategy = st.fixed_dictionaries({t: st.integers(0, 9) for t in (A, B, C)})


def check_against_reference(
    sessions: sessionmaker[Session],
    records: list[InteractionRecord],
    noise: list[InteractionRecord],
    asks: list[AskRecord],
    sizes: dict[int, int],
) -> None:
    with transaction(sessions) as s:
        clear_log(s)
        log_records(s, records)
        log_records(s, noise, OTHER_PARTNERSHIP)
        log_asks(s, asks)
    with sessions() as s:
        by_month = pair_aggregates_by_window(s, PARTNERSHIP, (A, B, C), WINDOW_BOUNDS)
    months = list(pairwise(WINDOW_BOUNDS))
    assert len(by_month) == len(months)
    for (start, end), pairs in zip(months, by_month, strict=True):
        assert set(pairs) == {(A, B), (A, C), (B, C)}
        for (a, b), agg in pairs.items():
            counted = count_aggregates(records, asks, a, b, start, end)
            assert_close(normalised(agg), normalised(counted))
            expected = reference_metrics(records, asks, sizes, a, b, start, end)
            assert_metrics_agree(metrics_from_aggregates(agg, sizes), expected)


def test_sql_agrees_with_the_reference_on_random_months(
    session_factory: sessionmaker[Session],
) -> None:
    seed_org(session_factory)

    @settings(max_examples=25, deadline=None)
    @given(
        st.lists(cross_strategy, max_size=40),
        st.lists(record_strategy, max_size=40),
        st.lists(record_strategy, max_size=5),
        st.lists(ask_strategy, max_size=12),
        sizes_strategy,
    )
    def check(
        cross: list[InteractionRecord],
        other: list[InteractionRecord],
        noise: list[InteractionRecord],
        asks: list[AskRecord],
        sizes: dict[int, int],
    ) -> None:
        check_against_reference(session_factory, cross + other, noise, asks, sizes)

    check()


def test_ask_waits_are_exact_to_the_microsecond_near_a_whole_second(
    session_factory: sessionmaker[Session],
) -> None:
    """SQLite's strftime rounds .9995 s and up to the next second; the wait must not move."""
    seed_org(session_factory)
    created = START + timedelta(days=2, microseconds=999_700)
    offers = [
        created + timedelta(seconds=4, microseconds=400),  # lands on .000100
        created + timedelta(seconds=7, microseconds=299),  # lands on .999999
        created + timedelta(seconds=1),  # .999700 on both sides
    ]
    asks = [AskRecord(created, offer, A, B) for offer in offers]
    with transaction(session_factory) as s:
        log_asks(s, asks)
    with session_factory() as s:
        agg = pair_aggregates(s, PARTNERSHIP, A, B, START, END)
    assert sorted(agg.ask_latencies_from_a) == pytest.approx(
        [1.0, 4.0004, 7.000299], rel=0, abs=1e-7
    )


def test_a_closed_month_never_changes_when_an_open_ask_is_answered_later(
    session_factory: sessionmaker[Session],
) -> None:
    """An ask open at the month's end stays a cross-team, unanswered ask of that month."""
    seed_org(session_factory)
    late = END - timedelta(hours=2)
    with transaction(session_factory) as s:
        log_asks(s, [AskRecord(late, None, A, None)])
    with session_factory() as s:
        (before,) = pair_aggregates_by_window(s, PARTNERSHIP, (A, B, C), (START, END))
    assert (before[(A, B)].asks_from_a, before[(A, C)].asks_from_a) == (1, 1)
    for helper in (A, B, C):  # answered in the next month by its own team, or another
        with transaction(session_factory) as s:
            s.execute(
                update(StandupAsk).values(
                    helper_team_id=helper,
                    helper_member_id=2,
                    first_offer_at=END + timedelta(hours=3),
                )
            )
        with session_factory() as s:
            (after,) = pair_aggregates_by_window(s, PARTNERSHIP, (A, B, C), (START, END))
        assert after == before, helper
