from __future__ import annotations

import dataclasses
import types
import typing
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.balance import (
    DEFAULT_MIN_GROUP_SIZE,
    NOT_ENOUGH_ACTIVITY,
    Action,
    Arrow,
    Band,
    BandThresholds,
    Metric,
    PairAggregates,
    PairMetrics,
    PairSummary,
    TeamRef,
    apply_privacy,
    band_for,
    metrics_from_aggregates,
    summarize,
    team_pairs,
    trend,
    worst_band,
)
from rituals.interactions import FLOW_KINDS, InteractionKind, InterdependenceType
from tests.rituals.balance_reference import AskRecord, InteractionRecord, reference_metrics

K = InteractionKind
A, B, C = 1, 2, 3
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)
NAMES = {A: "IT", B: "Marketing", C: "Sales"}
RECIPROCAL = InterdependenceType.RECIPROCAL
SEQUENTIAL = InterdependenceType.SEQUENTIAL
POOLED = InterdependenceType.POOLED


def at(day: int, hour: int = 12) -> datetime:
    return START + timedelta(days=day - 1, hours=hour - 12)


def flow(
    kind: InteractionKind,
    provider: int,
    provider_team: int,
    beneficiary: int | None,
    beneficiary_team: int | None,
    when: datetime | None = None,
) -> InteractionRecord:
    return InteractionRecord(
        kind, provider, beneficiary, provider_team, beneficiary_team, when or at(10)
    )


def blocker(author: int, team: int, names: int | None) -> InteractionRecord:
    return InteractionRecord(K.BLOCKER, author, None, team, names, at(5))


def ask(requester: int, helper: int | None, hours: float | None, created: datetime) -> AskRecord:
    offer = None if hours is None else created + timedelta(hours=hours)
    return AskRecord(created, offer, requester, helper)


# --- a small month worked by hand ------------------------------------------------
# IT (team 1): people 11-15, size 5. Marketing (team 2): people 21-26, size 6.

HAND_RECORDS = [
    flow(K.SHADOWING, 11, A, 21, B),  # A->B
    flow(K.SHADOWING, 11, A, 21, B),  # A->B
    flow(K.KUDOS, 21, B, 11, A),  # B->A
    flow(K.HELP_GIVEN, 12, A, 22, B),  # A->B
    flow(K.MENTION, 22, B, 12, A),  # B->A
    flow(K.HELP_GIVEN, 23, B, 13, A),  # B->A
    flow(K.KUDOS, 24, B, 11, A),  # B->A
    flow(K.KUDOS, 11, A, 12, A),  # internal {11,12}
    flow(K.KUDOS, 12, A, 11, A),  # internal {11,12} again
    flow(K.HELP_OFFERED, 13, A, 14, A),  # internal {13,14}
    flow(K.KUDOS_SECOND, 21, B, 22, B),  # internal {21,22}
    flow(K.KUDOS, 15, A, 15, A),  # to oneself: ignored
    flow(K.MENTION, 14, A, None, None),  # no beneficiary: ignored
    flow(K.SHADOWING, 11, A, 21, B, START - timedelta(seconds=1)),  # February: ignored
    flow(K.SHADOWING, 11, A, 21, B, END),  # April: ignored
    flow(K.HELP_GIVEN, 11, A, 31, C),  # with a third team: not this pair
    InteractionRecord(K.STANDUP_ANSWER, 11, None, A, None, at(3)),  # participation only
    blocker(11, A, B),
    blocker(12, A, None),
    blocker(13, A, B),
    blocker(21, B, A),
    blocker(22, B, C),
]
HAND_ASKS = [
    ask(A, B, 2, at(3, 10)),  # 2 h
    ask(A, None, None, at(4)),  # unanswered
    ask(A, A, 1, at(4)),  # a teammate answered first: not a cross-team ask
    ask(B, A, 6, at(6)),  # 6 h
    ask(B, A, 10, at(7)),  # 10 h
    ask(B, A, 2, END - timedelta(hours=1)),  # answered after the month ended: unanswered
    ask(B, A, 1, START - timedelta(hours=5)),  # February: ignored
    ask(C, A, 1, at(8)),  # another pair
]
HAND_SIZES = {A: 5, B: 6, C: 9}

# The same month as the storage query should count it.
HAND_AGGREGATES = PairAggregates(
    team_a=A,
    team_b=B,
    flows_a_to_b=3,
    flows_b_to_a=4,
    # 11: 2+1+1 = 4, 21: 3, 12: 2, 22: 2, 13: 1, 23: 1, 24: 1
    cross_counts=(4, 3, 2, 2, 1, 1, 1),
    # busiest 11 (4) and 21 (3): the three 11<->21 flows plus 24->11
    top_two_interactions=4,
    tied_a=2,  # {11,21} has 3 flows, {12,22} has 2: 11 and 12
    tied_b=2,  # 21 and 22
    external_ties=4,  # {11,21} {12,22} {13,23} {11,24}
    internal_ties=3,  # {11,12} {13,14} {21,22}
    blockers_a=3,
    blockers_a_naming_b=2,
    blockers_b=2,
    blockers_b_naming_a=1,
    asks_from_a=2,
    asks_from_b=3,
    ask_latencies_from_a=(2 * 3600.0,),
    ask_latencies_from_b=(6 * 3600.0, 10 * 3600.0),
)


def check_hand_metrics(m: PairMetrics) -> None:
    assert (m.flows_a_to_b, m.flows_b_to_a, m.cross_events) == (3, 4, 7)
    assert m.give_share_a == pytest.approx(3 / 7)  # A gave 3 of the 7 cross flows
    assert m.reciprocity == pytest.approx(6 / 7)  # 2·min(3,4)/7
    assert m.team_a.reach == pytest.approx(2 / 5)  # 11 and 12 tied, of 5
    assert m.team_b.reach == pytest.approx(2 / 6)  # 21 and 22 tied, of 6
    # dE = 4 / (5·6) = 2/15; dI = 3 / (C(5,2)+C(6,2)) = 3/25
    # (2/15 − 3/25) / (2/15 + 3/25) = (10/75 − 9/75) / (19/75) = 1/19
    assert m.openness == pytest.approx(1 / 19)
    assert m.top_two_share == pytest.approx(4 / 7)
    # 11 members, counts sorted 0,0,0,0,1,1,1,2,2,3,4 (sum 14).
    # Σ_{i<j} |x_i − x_j| = Σ_j x_j·(2j − n − 1) = −2+0+2+8+12+24+40 = 84
    # G = 84 / (n·Σx) = 84 / (11·14) = 6/11
    assert m.gini == pytest.approx(6 / 11)
    assert m.blocker_share == pytest.approx(3 / 5)  # (2 + 1) naming the other, of 3 + 2
    assert (m.asks, m.asks_unanswered) == (5, 2)
    assert m.ask_median_hours == pytest.approx(6.0)  # median of 2, 6, 10
    assert m.unanswered_share == pytest.approx(2 / 5)
    assert m.team_a.reply_median_hours == pytest.approx(8.0)  # IT answered in 6 and 10 h
    assert m.team_b.reply_median_hours == pytest.approx(2.0)  # Marketing answered in 2 h
    assert (m.team_a.blockers, m.team_a.blockers_naming_other) == (3, 2)
    assert (m.team_b.blockers, m.team_b.blockers_naming_other) == (2, 1)
    assert (m.team_a.asks_raised, m.team_a.asks_unanswered) == (2, 1)
    assert (m.team_b.asks_raised, m.team_b.asks_unanswered) == (3, 1)


def test_reference_metrics_match_the_hand_computed_month() -> None:
    check_hand_metrics(reference_metrics(HAND_RECORDS, HAND_ASKS, HAND_SIZES, A, B, START, END))


def test_metrics_from_aggregates_match_the_hand_computed_month() -> None:
    check_hand_metrics(metrics_from_aggregates(HAND_AGGREGATES, HAND_SIZES))


def test_the_counting_helper_reproduces_the_hand_aggregates() -> None:
    agg = count_aggregates(HAND_RECORDS, HAND_ASKS, A, B, START, END)
    assert dataclasses.replace(agg, cross_counts=tuple(sorted(agg.cross_counts, reverse=True))) == (
        HAND_AGGREGATES
    )


def test_a_member_who_moves_team_counts_where_they_were_at_the_time() -> None:
    records = [
        flow(K.KUDOS, 7, A, 21, B, at(2)),  # 7 in IT early in the month
        flow(K.KUDOS, 7, B, 11, A, at(20)),  # 7 in Marketing later
    ]
    m = reference_metrics(records, [], {A: 5, B: 5}, A, B, START, END)
    assert (m.flows_a_to_b, m.flows_b_to_a) == (1, 1)
    assert m.give_share_a == 0.5


def test_reach_needs_two_interactions_with_the_same_person() -> None:
    # 11 meets 21 once and 22 once: two cross flows but no tie.
    records = [flow(K.KUDOS, 11, A, 21, B), flow(K.KUDOS, 22, B, 11, A)]
    m = reference_metrics(records, [], {A: 5, B: 5}, A, B, START, END)
    assert m.team_a.reach == 0.0
    assert m.external_ties == 2  # openness counts any contact


def test_openness_is_undefined_without_any_ties_and_minus_one_when_only_internal() -> None:
    assert reference_metrics([], [], {A: 5, B: 5}, A, B, START, END).openness is None
    internal = [flow(K.KUDOS, 11, A, 12, A)]
    assert reference_metrics(internal, [], {A: 5, B: 5}, A, B, START, END).openness == -1.0


def test_reference_rejects_a_team_paired_with_itself() -> None:
    with pytest.raises(ValueError):
        reference_metrics([], [], {}, A, A, START, END)


# --- pairs -------------------------------------------------------------------------


def test_team_pairs_are_every_pair_once_smaller_id_first() -> None:
    assert team_pairs([3, 1, 2, 2]) == [(1, 2), (1, 3), (2, 3)]
    assert team_pairs([4]) == []


def test_three_teams_are_measured_pair_by_pair() -> None:
    records = [flow(K.KUDOS, 11, A, 21, B), flow(K.KUDOS, 11, A, 31, C)]
    sizes = {A: 5, B: 5, C: 5}
    ab, ac, bc = (
        reference_metrics(records, [], sizes, x, y, START, END) for x, y in team_pairs(sizes)
    )
    assert (ab.flows_a_to_b, ac.flows_a_to_b, bc.cross_events) == (1, 1, 0)


# --- reference against the aggregate path on random data ----------------------------


def _side(record: InteractionRecord, team: int) -> int:
    assert record.beneficiary is not None
    return record.provider if record.provider_team == team else record.beneficiary


def count_aggregates(
    records: Iterable[InteractionRecord],
    asks: Iterable[AskRecord],
    a: int,
    b: int,
    start: datetime,
    end: datetime,
) -> PairAggregates:
    """The aggregates as the SQL query is specified: one GROUP BY per field."""
    rows = [r for r in records if start <= r.occurred_at < end]
    flows = [
        r
        for r in rows
        if r.kind in FLOW_KINDS
        and r.beneficiary is not None
        and r.beneficiary_team is not None
        and r.provider != r.beneficiary
    ]

    def key(r: InteractionRecord) -> tuple[int, int]:
        assert r.beneficiary is not None
        return min(r.provider, r.beneficiary), max(r.provider, r.beneficiary)

    cross = [r for r in flows if (r.provider_team, r.beneficiary_team) in ((a, b), (b, a))]
    internal = [r for r in flows if r.provider_team == r.beneficiary_team in (a, b)]
    per_person: defaultdict[int, int] = defaultdict(int)
    for r in cross:
        for person in key(r):
            per_person[person] += 1
    top = {p for p, _ in sorted(per_person.items(), key=lambda kv: (-kv[1], kv[0]))[:2]}
    per_pair = Counter(key(r) for r in cross)
    tied = [r for r in cross if per_pair[key(r)] >= 2]
    block = [r for r in rows if r.kind == K.BLOCKER]
    latencies: dict[int, list[float]] = {a: [], b: []}
    raised = {a: 0, b: 0}
    for x in asks:
        if x.requester_team not in (a, b) or not start <= x.created_at < end:
            continue
        answered = x.first_offer_at is not None and x.first_offer_at < end
        if answered and x.helper_team not in (None, b if x.requester_team == a else a):
            continue
        raised[x.requester_team] += 1
        if x.first_offer_at is not None and x.first_offer_at < end:
            seconds = (x.first_offer_at - x.created_at).total_seconds()
            latencies[x.requester_team].append(max(0.0, seconds))
    return PairAggregates(
        team_a=a,
        team_b=b,
        flows_a_to_b=sum(r.provider_team == a for r in cross),
        flows_b_to_a=sum(r.provider_team == b for r in cross),
        cross_counts=tuple(per_person.values()),
        top_two_interactions=sum(bool(set(key(r)) & top) for r in cross),
        tied_a=len({_side(r, a) for r in tied}),
        tied_b=len({_side(r, b) for r in tied}),
        external_ties=len(per_pair),
        internal_ties=len({key(r) for r in internal}),
        blockers_a=sum(r.provider_team == a for r in block),
        blockers_a_naming_b=sum(r.provider_team == a and r.beneficiary_team == b for r in block),
        blockers_b=sum(r.provider_team == b for r in block),
        blockers_b_naming_a=sum(r.provider_team == b and r.beneficiary_team == a for r in block),
        asks_from_a=raised[a],
        asks_from_b=raised[b],
        ask_latencies_from_a=tuple(latencies[a]),
        ask_latencies_from_b=tuple(latencies[b]),
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            out.update(flatten(getattr(value, f.name), f"{prefix}{f.name}."))
        return out
    return {prefix.rstrip("."): value}


def assert_same_metrics(left: PairMetrics, right: PairMetrics) -> None:
    flat_left, flat_right = flatten(left), flatten(right)
    assert flat_left.keys() == flat_right.keys()
    for name, value in flat_left.items():
        other = flat_right[name]
        if isinstance(value, float) and isinstance(other, float):
            assert value == pytest.approx(other, rel=1e-9, abs=1e-12), name
        else:
            assert value == other, name


# Weighted towards what matters (flows between the pair, repeated pairs of people),
# with a share of everything that must be ignored: other kinds, a third team,
# missing beneficiaries, self-interactions and moments outside the month.
in_month = st.integers(0, 31 * 24 * 60 - 1).map(lambda m: START + timedelta(minutes=m))
moments = st.one_of(
    in_month,
    st.integers(-3 * 24 * 60, 34 * 24 * 60).map(lambda m: START + timedelta(minutes=m)),
    st.sampled_from(
        [START, END, START - timedelta(microseconds=1), END - timedelta(microseconds=1)]
    ),
)
pair_teams = st.sampled_from([A, A, A, B, B, B, C])
record_strategy = st.builds(
    InteractionRecord,
    kind=st.sampled_from([*sorted(FLOW_KINDS), *InteractionKind, K.BLOCKER, K.BLOCKER]),
    provider=st.integers(1, 7),
    beneficiary=st.sampled_from([None, *range(1, 8), *range(1, 8)]),
    provider_team=pair_teams,
    beneficiary_team=st.sampled_from([None, A, A, A, B, B, B, C]),
    occurred_at=moments,
)
cross_flow_strategy = st.builds(
    lambda kind, provider, beneficiary, giver_is_a, when: flow(
        kind, provider, A if giver_is_a else B, beneficiary, B if giver_is_a else A, when
    ),
    st.sampled_from(sorted(FLOW_KINDS)),
    st.integers(1, 6),
    st.integers(1, 6),
    st.booleans(),
    in_month,
)
month_of_records = st.builds(
    lambda core, noise: core + noise,
    st.lists(cross_flow_strategy, max_size=50),
    st.lists(record_strategy, max_size=40),
)
ask_strategy = st.builds(
    lambda created, wait, requester, helper: AskRecord(
        created, None if wait is None else created + timedelta(minutes=wait), requester, helper
    ),
    moments,
    st.one_of(st.none(), st.integers(-30, 3000)),
    pair_teams,
    st.sampled_from([None, A, B, C]),
)


@settings(max_examples=100, deadline=None)
@given(
    month_of_records,
    st.lists(ask_strategy, max_size=12),
    st.integers(0, 8),
    st.integers(0, 8),
)
def test_reference_and_aggregate_paths_agree_on_random_months(
    records: list[InteractionRecord], asks: list[AskRecord], size_a: int, size_b: int
) -> None:
    sizes = {A: size_a, B: size_b}
    expected = reference_metrics(records, asks, sizes, A, B, START, END)
    counted = metrics_from_aggregates(count_aggregates(records, asks, A, B, START, END), sizes)
    assert_same_metrics(counted, expected)


TEAM_OF = {person: A if person <= 6 else B if person <= 12 else C for person in range(1, 16)}
fixed_flow_strategy = st.builds(
    lambda kind, provider, beneficiary, day: flow(
        kind, provider, TEAM_OF[provider], beneficiary, TEAM_OF[beneficiary], at(day)
    ),
    st.sampled_from(sorted(FLOW_KINDS)),
    st.integers(1, 15),
    st.integers(1, 15),
    st.integers(1, 31),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(fixed_flow_strategy, max_size=60))
def test_tie_metrics_agree_with_networkx(records: list[InteractionRecord]) -> None:
    sizes = {A: 6, B: 6}
    m = reference_metrics(records, [], sizes, A, B, START, END)
    flows = [r for r in records if r.provider != r.beneficiary]
    crossing = nx.MultiGraph()
    inside = nx.Graph()
    for r in flows:
        teams = {r.provider_team, r.beneficiary_team}
        if teams == {A, B}:
            crossing.add_edge(r.provider, r.beneficiary)
        elif teams in ({A}, {B}):
            inside.add_edge(r.provider, r.beneficiary)
    simple = nx.Graph(crossing)
    assert m.external_ties == simple.number_of_edges()
    assert m.internal_ties == inside.number_of_edges()

    strong = nx.Graph((u, v) for u, v in simple.edges if crossing.number_of_edges(u, v) >= 2)
    assert m.team_a.tied == sum(1 for n in strong if TEAM_OF[n] == A)
    assert m.team_b.tied == sum(1 for n in strong if TEAM_OF[n] == B)

    d_ext = simple.number_of_edges() / (6 * 6)
    d_int = inside.number_of_edges() / (15 + 15)
    if d_ext + d_int:
        assert m.openness == pytest.approx((d_ext - d_int) / (d_ext + d_int))
    else:
        assert m.openness is None

    if crossing.number_of_edges():
        degree = dict(crossing.degree())
        busiest = sorted(degree, key=lambda n: (-degree[n], n))[:2]
        covered = {(min(u, v), max(u, v), k) for u, v, k in crossing.edges(busiest, keys=True)}
        assert m.top_two_share == pytest.approx(len(covered) / crossing.number_of_edges())
    else:
        assert m.top_two_share is None


# --- bands -------------------------------------------------------------------------


def make_aggregates(**overrides: Any) -> PairAggregates:
    """A busy, healthy reciprocal month; override any aggregate to make a point."""
    fields: dict[str, Any] = {
        "team_a": A,
        "team_b": B,
        "flows_a_to_b": 25,
        "flows_b_to_a": 25,
        "cross_counts": (10,) * 10,
        "top_two_interactions": 10,
        "tied_a": 5,
        "tied_b": 5,
        "external_ties": 20,
        "internal_ties": 20,
        "blockers_a": 5,
        "blockers_a_naming_b": 1,
        "blockers_b": 5,
        "blockers_b_naming_a": 1,
        "asks_from_a": 5,
        "asks_from_b": 5,
        "ask_latencies_from_a": (3600.0,) * 5,
        "ask_latencies_from_b": (3600.0,) * 5,
    }
    fields.update(overrides)
    return PairAggregates(**fields)


def make_metrics(**overrides: Any) -> PairMetrics:
    """The healthy month with two teams of 10 (dE = 20/100, dI = 20/90, Gini 0.5)."""
    return metrics_from_aggregates(make_aggregates(**overrides), {A: 10, B: 10})


def test_the_healthy_month_is_green_everywhere() -> None:
    m = make_metrics()
    thresholds = BandThresholds.defaults(RECIPROCAL)
    assert band_for(Metric.GIVE_SHARE, m, thresholds) is Band.GREEN
    assert band_for(Metric.REACH, m, thresholds, A) is Band.GREEN
    assert band_for(Metric.OPENNESS, m, thresholds) is Band.GREEN  # dE 0.2, dI 20/90
    assert band_for(Metric.TOP_TWO_SHARE, m, thresholds) is Band.GREEN
    assert band_for(Metric.GINI, m, thresholds) is Band.GREEN  # 10 of 20 at zero: 0.5
    assert band_for(Metric.BLOCKER_SHARE, m, thresholds) is Band.GREEN
    assert band_for(Metric.ASK_MEDIAN_HOURS, m, thresholds) is Band.GREEN
    assert band_for(Metric.UNANSWERED_SHARE, m, thresholds) is Band.GREEN
    assert band_for(Metric.RECIPROCITY, m, thresholds) is None  # shown, never banded


@pytest.mark.parametrize(
    ("a_to_b", "b_to_a", "band"),
    [
        (40, 60, Band.GREEN),
        (60, 40, Band.GREEN),
        (39, 61, Band.AMBER),
        (30, 70, Band.AMBER),
        (70, 30, Band.AMBER),
        (29, 71, Band.RED),
        (71, 29, Band.RED),
    ],
)
def test_reciprocal_give_share_bands(a_to_b: int, b_to_a: int, band: Band) -> None:
    m = make_metrics(flows_a_to_b=a_to_b, flows_b_to_a=b_to_a)
    assert band_for(Metric.GIVE_SHARE, m, BandThresholds.defaults(RECIPROCAL)) is band


@pytest.mark.parametrize(
    ("tied", "band"), [(10, Band.GREEN), (5, Band.GREEN), (4, Band.AMBER), (3, Band.AMBER)]
)
def test_reciprocal_reach_bands(tied: int, band: Band) -> None:
    m = make_metrics(tied_a=tied)  # of 10 members
    assert band_for(Metric.REACH, m, BandThresholds.defaults(RECIPROCAL), A) is band


def test_reciprocal_reach_boundaries_on_the_quarter() -> None:
    limits = BandThresholds.defaults(RECIPROCAL).reach
    assert limits.band(0.25) is Band.AMBER
    assert limits.band(0.2499) is Band.RED


@pytest.mark.parametrize(
    ("covered", "band"),
    [(35, Band.GREEN), (36, Band.AMBER), (50, Band.AMBER), (51, Band.RED)],
)
def test_reciprocal_top_two_bands(covered: int, band: Band) -> None:
    m = make_metrics(flows_a_to_b=50, flows_b_to_a=50, top_two_interactions=covered)
    assert band_for(Metric.TOP_TWO_SHARE, m, BandThresholds.defaults(RECIPROCAL)) is band


@pytest.mark.parametrize("kind", list(InterdependenceType))
@pytest.mark.parametrize("metric", [m for m in Metric if m is not Metric.RECIPROCITY])
def test_every_default_band_boundary_belongs_to_the_better_band(
    kind: InterdependenceType, metric: Metric
) -> None:
    limits = BandThresholds.defaults(kind).limits(metric)
    worse = -0.001 if limits.higher_is_better else 0.001
    assert limits.band(limits.green) is Band.GREEN
    assert limits.band(limits.green + worse) is Band.AMBER
    assert limits.band(limits.amber) is Band.AMBER
    assert limits.band(limits.amber + worse) is Band.RED
    assert limits.band(limits.green - worse) is Band.GREEN


def test_sequential_tolerates_a_downstream_lean_that_reciprocal_does_not() -> None:
    m = make_metrics(flows_a_to_b=75, flows_b_to_a=25)
    assert band_for(Metric.GIVE_SHARE, m, BandThresholds.defaults(RECIPROCAL)) is Band.RED
    assert band_for(Metric.GIVE_SHARE, m, BandThresholds.defaults(SEQUENTIAL)) is Band.GREEN
    assert band_for(Metric.GIVE_SHARE, m, BandThresholds.defaults(POOLED)) is Band.AMBER


def test_pooled_expects_less_reach() -> None:
    m = make_metrics(tied_a=2)  # 20 % of 10
    assert band_for(Metric.REACH, m, BandThresholds.defaults(RECIPROCAL), A) is Band.RED
    assert band_for(Metric.REACH, m, BandThresholds.defaults(SEQUENTIAL), A) is Band.AMBER
    assert band_for(Metric.REACH, m, BandThresholds.defaults(POOLED), A) is Band.GREEN


def test_too_few_events_leave_a_metric_without_a_band() -> None:
    thresholds = BandThresholds.defaults(RECIPROCAL)
    thin = make_metrics(
        flows_a_to_b=4, flows_b_to_a=0, top_two_interactions=4, blockers_a=1, blockers_b=1
    )
    assert band_for(Metric.GIVE_SHARE, thin, thresholds) is None
    assert band_for(Metric.TOP_TWO_SHARE, thin, thresholds) is None
    assert band_for(Metric.BLOCKER_SHARE, thin, thresholds) is None
    relaxed = BandThresholds.from_settings(RECIPROCAL, {"min_cross_events": 1})
    assert band_for(Metric.GIVE_SHARE, thin, relaxed) is Band.RED


def test_settings_override_the_defaults() -> None:
    custom = BandThresholds.from_settings(
        RECIPROCAL,
        {"reach": {"green": 0.4}, "give_share": {"green": 0.65, "amber": 0.8}, "min_asks": 5},
    )
    assert (custom.reach.green, custom.reach.amber) == (0.4, 0.25)
    assert (custom.give_share.green, custom.give_share.amber) == (0.65, 0.8)
    assert custom.min_asks == 5
    assert custom.top_two_share == BandThresholds.defaults(RECIPROCAL).top_two_share
    assert BandThresholds.from_settings(POOLED) == BandThresholds.defaults(POOLED)


@pytest.mark.parametrize(
    "bad",
    [
        {"rech": {"green": 0.4}},  # typo
        {"reciprocity": {"green": 0.9}},  # not banded
        {"reach": {"green": 0.2}},  # green below amber when higher is better
        {"top_two_share": {"amber": 0.2}},  # amber stricter than green
        {"reach": {"green": 40}},  # percent instead of a fraction
        {"reach": {"red": 0.1}},
        {"reach": 0.4},
        {"reach": {"green": "high"}},
        {"min_asks": 0},
        {"min_asks": True},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BandThresholds.from_settings(RECIPROCAL, bad)


def test_the_headline_is_the_worst_band() -> None:
    assert worst_band([Band.GREEN, None, Band.AMBER, Band.GREEN]) is Band.AMBER
    assert worst_band([Band.AMBER, Band.RED]) is Band.RED
    assert worst_band([None, None]) is None


# --- trend -------------------------------------------------------------------------


def test_a_big_steady_change_gets_an_arrow() -> None:
    up = trend(Metric.REACH, 0.70, [0.50, 0.50, 0.55], cross_events=20)
    assert up.arrow is Arrow.UP
    assert up.vs_last_month == pytest.approx(0.15)
    assert up.vs_three_month_mean == pytest.approx(0.70 - 1.55 / 3)
    assert trend(Metric.GINI, 0.4, [0.6, 0.6, 0.5], cross_events=40).arrow is Arrow.DOWN


def test_exactly_the_minimum_change_is_enough() -> None:
    # 0.6 − 0.5 is 0.09999999999999998 in floating point.
    assert trend(Metric.OPENNESS, 0.6, [0.5], cross_events=20).arrow is Arrow.UP
    assert trend(Metric.ASK_MEDIAN_HOURS, 14.0, [10.0, 10.0, 10.0], 20).arrow is Arrow.UP


def test_a_small_change_alone_is_steady() -> None:
    assert trend(Metric.REACH, 0.64, [0.50, 0.50, 0.55], cross_events=20).arrow is Arrow.STEADY
    assert trend(Metric.ASK_MEDIAN_HOURS, 13.0, [10.0, 10.0, 10.0], 20).arrow is Arrow.STEADY


def test_too_few_events_alone_is_not_enough_data() -> None:
    assert (
        trend(Metric.REACH, 0.70, [0.50, 0.50, 0.55], cross_events=19).arrow
        is Arrow.NOT_ENOUGH_DATA
    )


def test_a_rolling_mean_pointing_the_other_way_alone_is_steady() -> None:
    # Up 0.12 on last month, but down against the mean of 0.9, 0.9, 0.58 (0.793).
    result = trend(Metric.REACH, 0.70, [0.90, 0.90, 0.58], cross_events=20)
    assert result.arrow is Arrow.STEADY
    assert result.vs_three_month_mean is not None and result.vs_three_month_mean < 0


def test_missing_months_are_not_enough_data() -> None:
    assert trend(Metric.REACH, 0.7, [], 50).arrow is Arrow.NOT_ENOUGH_DATA
    assert trend(Metric.REACH, 0.7, [0.5, 0.5, None], 50).arrow is Arrow.NOT_ENOUGH_DATA
    assert trend(Metric.REACH, None, [0.5, 0.5, 0.5], 50).arrow is Arrow.NOT_ENOUGH_DATA


def test_the_mean_uses_the_defined_values_among_the_last_three_months() -> None:
    result = trend(Metric.REACH, 0.7, [0.0, None, 0.4, 0.5], 50)
    assert result.vs_three_month_mean == pytest.approx(0.7 - 0.45)
    assert result.arrow is Arrow.UP


# --- the summary: next steps, privacy, empty state ------------------------------------


def summary_of(metrics: PairMetrics, **kwargs: Any) -> PairSummary:
    options: dict[str, Any] = {
        "year": 2024,
        "month": 3,
        "interdependence": RECIPROCAL,
        "team_names": NAMES,
        "min_group_size": 1,
    }
    options.update(kwargs)
    return summarize(metrics, **options)


def test_a_healthy_month_has_a_green_headline_and_no_steps() -> None:
    summary = summary_of(make_metrics())
    assert summary.headline is Band.GREEN
    assert summary.next_steps == ()
    assert not summary.not_enough_activity
    assert summary.activity_note is None


def test_one_direction_only_is_100_0_and_red_with_a_hosting_step() -> None:
    records = [flow(K.SHADOWING, 11, A, 21 + i, B, at(i + 1)) for i in range(6)]
    m = reference_metrics(records, [], {A: 6, B: 6}, A, B, START, END)
    assert (m.give_share_a, m.reciprocity) == (1.0, 0.0)
    summary = summary_of(m)
    line = summary.line(Metric.GIVE_SHARE)
    assert line is not None and line.band is Band.RED
    assert summary.headline is Band.RED
    hosting = [s for s in summary.next_steps if s.action is Action.HOST_SHADOWING]
    assert (
        hosting[0].text
        == "Marketing hosts the next two shadowing rounds, so help flows back to IT."
    )


def test_no_activity_is_flagged_with_a_first_step_and_no_bands() -> None:
    m = reference_metrics([], [], {A: 8, B: 8}, A, B, START, END)
    summary = summary_of(m)
    assert summary.not_enough_activity
    assert summary.activity_note == NOT_ENOUGH_ACTIVITY
    assert summary.headline is None
    assert all(line.band is None for line in summary.metrics)
    assert all(line.band is None for line in summary.team_a.metrics)
    assert [s.action for s in summary.next_steps] == [Action.START]
    assert summary.next_steps[0].text.startswith("Schedule the first shadowing round between IT")


def test_each_amber_or_red_metric_brings_one_step_naming_teams() -> None:
    m = make_metrics(
        flows_a_to_b=20,
        flows_b_to_a=80,  # IT gives only 20 % of the flows: IT is the taking team
        top_two_interactions=80,  # concentrated
        tied_b=1,  # Marketing reach 10 %
        external_ties=1,  # closed boundary
        blockers_a=10,
        blockers_a_naming_b=9,  # IT waits on Marketing
        ask_latencies_from_a=(40 * 3600.0,) * 5,  # Marketing answers IT slowly
    )
    summary = summary_of(m)
    by_action = {s.action: s for s in summary.next_steps}
    assert by_action[Action.HOST_SHADOWING].team.name == "IT"
    assert by_action[Action.PAIR_UNTIED_FIRST].team.name == "Marketing"
    assert Action.ROTATE_LIAISON in by_action
    assert Action.JOINT_STANDUP_DAY in by_action
    handoff = by_action[Action.HANDOFF_CHECKLIST]
    assert (handoff.team.name, handoff.other.name) == ("IT", "Marketing")
    responder = by_action[Action.FIRST_RESPONDER]
    assert (responder.team.name, responder.other.name) == ("Marketing", "IT")
    assert len(summary.next_steps) == len(by_action)  # each action once
    bands = [s.band for s in summary.next_steps]
    assert bands == sorted(bands, key=lambda b: b is not Band.RED)  # red first
    for step in summary.next_steps:
        assert step.text.count(".") == 1 and step.text.endswith(".")  # one sentence


def test_level_teams_both_name_a_first_responder() -> None:
    m = make_metrics(
        ask_latencies_from_a=(30 * 3600.0,) * 5, ask_latencies_from_b=(30 * 3600.0,) * 5
    )
    actions = [s.action for s in summary_of(m).next_steps]
    assert actions == [Action.FIRST_RESPONDERS_BOTH]


def test_unanswered_asks_name_the_team_that_left_them() -> None:
    m = make_metrics(asks_from_b=10, ask_latencies_from_b=(3600.0,) * 5)  # IT left 5 of 10
    steps = summary_of(m).next_steps
    assert [(s.action, s.team.name) for s in steps] == [(Action.FIRST_RESPONDER, "IT")]


def test_history_fills_the_trend_and_must_be_the_same_pair() -> None:
    last = make_metrics(tied_a=2)
    now = make_metrics(tied_a=6)
    summary = summary_of(now, history=[last, last, last])
    reach = summary.line(Metric.REACH, A)
    assert reach is not None and reach.trend.arrow is Arrow.UP
    other_pair = make_metrics(team_b=C)
    with pytest.raises(ValueError):
        summary_of(now, history=[other_pair])


def test_a_small_team_hides_its_whole_pair() -> None:
    m = metrics_from_aggregates(make_aggregates(tied_b=0, blockers_a=9), {A: 10, B: 4})
    summary = summarize(
        m, year=2024, month=3, interdependence=RECIPROCAL, team_names=NAMES
    )  # default minimum group size of 5
    assert summary.hidden and summary.hidden_below == DEFAULT_MIN_GROUP_SIZE
    assert summary.team_b.hidden
    assert summary.team_b.note == "hidden: fewer than 5 members"
    assert summary.hidden_note is not None and "Marketing" in summary.hidden_note
    for side in (summary.team_a, summary.team_b):
        assert (side.size, side.metrics) == (None, ())
    assert not summary.team_a.hidden  # IT is big enough; it is hidden only with its pair
    # Nothing about the pair is left: not the flows, asks, metrics, headline or steps.
    assert (summary.flows_a_to_b, summary.flows_b_to_a) == (0, 0)
    assert (summary.asks, summary.asks_unanswered) == (0, 0)
    assert summary.metrics == () and summary.line(Metric.GIVE_SHARE) is None
    assert summary.line(Metric.REACH, A) is None and summary.line(Metric.REACH, B) is None
    assert summary.headline is None and summary.next_steps == ()
    assert not summary.not_enough_activity

    unhidden = summarize(
        m, year=2024, month=3, interdependence=RECIPROCAL, team_names=NAMES, min_group_size=4
    )
    assert unhidden.headline is Band.RED
    assert [s.action for s in unhidden.next_steps] == [Action.PAIR_UNTIED_FIRST]


def test_apply_privacy_is_idempotent_and_takes_its_own_minimum() -> None:
    summary = summary_of(make_metrics())  # both teams have 10 members
    assert apply_privacy(summary) == summary
    strict = apply_privacy(summary, min_group_size=11)
    assert strict.hidden and strict.team_a.hidden and strict.team_b.hidden
    assert strict.team_a.note == "hidden: fewer than 11 members"
    assert apply_privacy(strict, 11) == strict
    assert apply_privacy(strict) == strict  # once hidden, a smaller floor shows nothing back


def test_a_team_with_no_members_hides_its_pair_only_once_something_happened() -> None:
    """Before a team exists there is no one to hide; a logged flow brings the floor back."""
    quiet = reference_metrics([], [], {A: 10, B: 0}, A, B, START, END)
    summary = summarize(quiet, year=2024, month=3, interdependence=RECIPROCAL, team_names=NAMES)
    assert not summary.hidden and summary.not_enough_activity
    busy = reference_metrics([flow(K.KUDOS, 11, A, 21, B)], [], {A: 10, B: 0}, A, B, START, END)
    summary = summarize(busy, year=2024, month=3, interdependence=RECIPROCAL, team_names=NAMES)
    assert summary.hidden and summary.cross_events == 0


def test_a_past_month_under_the_floor_does_not_feed_the_trend() -> None:
    busy = make_metrics()  # 10 and 10 members
    small_past = metrics_from_aggregates(make_aggregates(flows_a_to_b=90), {A: 10, B: 3})
    big_past = metrics_from_aggregates(make_aggregates(flows_a_to_b=90), {A: 10, B: 10})
    hidden_past = summary_of(busy, history=[small_past] * 3, min_group_size=5)
    shown_past = summary_of(busy, history=[big_past] * 3, min_group_size=5)
    line = hidden_past.line(Metric.GIVE_SHARE)
    assert line is not None and line.trend.vs_last_month is None
    assert line.trend.arrow is Arrow.NOT_ENOUGH_DATA
    compared = shown_past.line(Metric.GIVE_SHARE)
    assert compared is not None and compared.trend.vs_last_month is not None
    assert DEFAULT_MIN_GROUP_SIZE == 5


ALLOWED_LEAVES = (int, float, bool, type(None), Enum)
PERSONAL_WORDS = ("member", "person", "people", "user", "provider", "beneficiary", "author")


def _leaf_types(tp: Any) -> Sequence[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType, tuple):
        return [
            leaf for arg in typing.get_args(tp) if arg is not Ellipsis for leaf in _leaf_types(arg)
        ]
    return [tp]


def test_the_summary_cannot_carry_a_person() -> None:
    seen: set[type] = set()
    text_fields: list[str] = []

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            assert not any(word in f.name for word in PERSONAL_WORDS), f"{cls.__name__}.{f.name}"
            for leaf in _leaf_types(hints[f.name]):
                if dataclasses.is_dataclass(leaf):
                    walk(leaf)  # type: ignore[arg-type]
                elif leaf is str:
                    text_fields.append(f"{cls.__name__}.{f.name}")
                else:
                    assert isinstance(leaf, type), leaf
                    assert issubclass(leaf, ALLOWED_LEAVES), f"{cls.__name__}.{f.name}"

    walk(PairSummary)
    assert text_fields == ["TeamRef.name"]
    assert TeamRef in seen
