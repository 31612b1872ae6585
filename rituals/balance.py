"""The monthly interdependence balance between two teams, from counts to a leader summary.

Storage computes `PairAggregates` in SQL; `metrics_from_aggregates` turns them
into `PairMetrics` (the tests check both against a plain-Python reference that
works from raw records). `summarize` adds bands,
trends and next steps, and `apply_privacy` withholds every pair with a team
under the minimum group size. Nothing here can name a person: the summary
types only hold teams, numbers and enums.
docs/balance.md explains every definition and default.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import combinations

from rituals.interactions import InterdependenceType

DEFAULT_MIN_GROUP_SIZE = 5
TREND_MIN_EVENTS = 20
NOT_ENOUGH_DATA = "not enough data"
NOT_ENOUGH_ACTIVITY = "not enough activity yet"

# Boundaries belong to the better band; this absorbs float noise such as 0.6000000001.
_EPSILON = 1e-9
_SECONDS_PER_HOUR = 3600.0


# --- periods and pairs ----------------------------------------------------------


def team_pairs(team_ids: Iterable[int]) -> list[tuple[int, int]]:
    """Every unordered pair of distinct teams, smaller id first: metrics are pairwise."""
    return list(combinations(sorted(set(team_ids)), 2))


# --- raw aggregates (what the SQL query returns) ---------------------------------


@dataclass(frozen=True, slots=True)
class PairAggregates:
    """Counts for one pair of teams over one window, each one a GROUP BY away.

    A flow is a row of a FLOW kind with a beneficiary, a beneficiary team and
    provider != beneficiary, occurred in [start, end). It is cross when its
    (provider_team, beneficiary_team) is (A, B) or (B, A), internal when both
    teams are the same one of A or B. docs/balance.md spells out each field.
    """

    team_a: int
    team_b: int
    flows_a_to_b: int
    flows_b_to_a: int
    # Cross flows per person (as provider or beneficiary), people with at least one.
    cross_counts: tuple[int, ...]
    # Cross flows that involve either of the two busiest people (count desc, id asc).
    top_two_interactions: int
    # Distinct people on the A (B) side of a cross flow between a pair with >= 2 cross flows.
    tied_a: int
    tied_b: int
    # Distinct unordered pairs of people with >= 1 cross (internal) flow.
    external_ties: int
    internal_ties: int
    # BLOCKER rows written by A (B), and how many of them name the other team.
    blockers_a: int
    blockers_a_naming_b: int
    blockers_b: int
    blockers_b_naming_a: int
    # Asks raised by A (B) in the window whose first offer, if any, came from the other team.
    asks_from_a: int
    asks_from_b: int
    # Seconds to the first offer, for those acknowledged before the window's end.
    ask_latencies_from_a: tuple[float, ...]
    ask_latencies_from_b: tuple[float, ...]


# --- metrics -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamMetrics:
    """One side of the pair."""

    team: int
    size: int
    tied: int
    reach: float | None
    blockers: int
    blockers_naming_other: int
    asks_raised: int
    asks_unanswered: int
    # How long this team took to acknowledge the other team's asks (median, hours).
    reply_median_hours: float | None


@dataclass(frozen=True, slots=True)
class PairMetrics:
    """Every balance metric for one pair of teams in one month; no person in sight."""

    team_a: TeamMetrics
    team_b: TeamMetrics
    flows_a_to_b: int
    flows_b_to_a: int
    give_share_a: float | None
    reciprocity: float | None
    external_ties: int
    internal_ties: int
    openness: float | None
    top_two_share: float | None
    gini: float | None
    blocker_share: float | None
    asks: int
    asks_unanswered: int
    ask_median_hours: float | None
    unanswered_share: float | None

    @property
    def cross_events(self) -> int:
        return self.flows_a_to_b + self.flows_b_to_a

    @property
    def blockers(self) -> int:
        return self.team_a.blockers + self.team_b.blockers

    @property
    def acknowledged_asks(self) -> int:
        return self.asks - self.asks_unanswered

    @property
    def has_activity(self) -> bool:
        return self.cross_events > 0 or self.asks > 0 or self.blockers > 0


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _capped_ratio(part: int, whole: int) -> float | None:
    """Sizes come from the member table; a mid-month move can push a count past them."""
    return min(1.0, part / whole) if whole else None


def _median_hours(seconds: Sequence[float]) -> float | None:
    return statistics.median(seconds) / _SECONDS_PER_HOUR if seconds else None


def _pairs_within(size: int) -> int:
    return size * (size - 1) // 2


def _density(observed: int, possible: int) -> float:
    return min(1.0, observed / possible) if possible else 0.0


def _openness(external: int, internal: int, size_a: int, size_b: int) -> float | None:
    d_ext = _density(external, size_a * size_b)
    d_int = _density(internal, _pairs_within(size_a) + _pairs_within(size_b))
    total = d_ext + d_int
    return (d_ext - d_int) / total if total else None


def _gini_sorted(values: Sequence[int]) -> float | None:
    """Gini from the sorted-rank formula, G = 2·Σ i·x_(i) / (n·Σx) − (n+1)/n."""
    total = sum(values)
    if total == 0:
        return None
    n = len(values)
    ranked = sum(rank * value for rank, value in enumerate(sorted(values), start=1))
    return 2 * ranked / (n * total) - (n + 1) / n


def _size(sizes: Mapping[int, int], team: int) -> int:
    return max(0, sizes.get(team, 0))


def _idle(people: int | None, size_a: int, size_b: int, active: int) -> int:
    """Members of either team with no cross flow: the Gini's zeros, each person once.

    `people` is the distinct people in either team during the month; without
    it, nobody is taken to have been in both teams.
    """
    population = size_a + size_b if people is None else max(0, people)
    return max(0, population - active)


def metrics_from_aggregates(
    agg: PairAggregates, sizes: Mapping[int, int], people: int | None = None
) -> PairMetrics:
    """The formulas, applied to what the query counted.

    `sizes` maps team id to active members (one-team rule); `people` is the
    number of distinct people in either team (a mover counts once).
    """
    size_a, size_b = _size(sizes, agg.team_a), _size(sizes, agg.team_b)
    cross = agg.flows_a_to_b + agg.flows_b_to_a
    give_share = _ratio(agg.flows_a_to_b, cross)
    reciprocity = (
        None if give_share is None else 2 * min(agg.flows_a_to_b, agg.flows_b_to_a) / cross
    )
    zeros = _idle(people, size_a, size_b, len(agg.cross_counts))
    asks = agg.asks_from_a + agg.asks_from_b
    unanswered_a = agg.asks_from_a - len(agg.ask_latencies_from_a)
    unanswered_b = agg.asks_from_b - len(agg.ask_latencies_from_b)
    blockers = agg.blockers_a + agg.blockers_b
    return PairMetrics(
        team_a=TeamMetrics(
            team=agg.team_a,
            size=size_a,
            tied=agg.tied_a,
            reach=_capped_ratio(agg.tied_a, size_a),
            blockers=agg.blockers_a,
            blockers_naming_other=agg.blockers_a_naming_b,
            asks_raised=agg.asks_from_a,
            asks_unanswered=unanswered_a,
            reply_median_hours=_median_hours(agg.ask_latencies_from_b),
        ),
        team_b=TeamMetrics(
            team=agg.team_b,
            size=size_b,
            tied=agg.tied_b,
            reach=_capped_ratio(agg.tied_b, size_b),
            blockers=agg.blockers_b,
            blockers_naming_other=agg.blockers_b_naming_a,
            asks_raised=agg.asks_from_b,
            asks_unanswered=unanswered_b,
            reply_median_hours=_median_hours(agg.ask_latencies_from_a),
        ),
        flows_a_to_b=agg.flows_a_to_b,
        flows_b_to_a=agg.flows_b_to_a,
        give_share_a=give_share,
        reciprocity=reciprocity,
        external_ties=agg.external_ties,
        internal_ties=agg.internal_ties,
        openness=_openness(agg.external_ties, agg.internal_ties, size_a, size_b),
        top_two_share=_ratio(agg.top_two_interactions, cross),
        gini=_gini_sorted([*agg.cross_counts, *([0] * zeros)]),
        blocker_share=_ratio(agg.blockers_a_naming_b + agg.blockers_b_naming_a, blockers),
        asks=asks,
        asks_unanswered=unanswered_a + unanswered_b,
        ask_median_hours=_median_hours(agg.ask_latencies_from_a + agg.ask_latencies_from_b),
        unanswered_share=_ratio(unanswered_a + unanswered_b, asks),
    )


# --- bands ---------------------------------------------------------------------


class Band(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


_SEVERITY = {Band.GREEN: 0, Band.AMBER: 1, Band.RED: 2}


def worst_band(bands: Iterable[Band | None]) -> Band | None:
    """The headline: the worst band among the metrics that have one."""
    defined = [band for band in bands if band is not None]
    return max(defined, key=_SEVERITY.__getitem__) if defined else None


class Metric(StrEnum):
    GIVE_SHARE = "give_share"
    RECIPROCITY = "reciprocity"
    REACH = "reach"
    OPENNESS = "openness"
    TOP_TWO_SHARE = "top_two_share"
    GINI = "gini"
    BLOCKER_SHARE = "blocker_share"
    ASK_MEDIAN_HOURS = "ask_median_hours"
    UNANSWERED_SHARE = "unanswered_share"


# Reciprocity restates the give share as an index, so only the give share is banded.
BANDED_METRICS: tuple[Metric, ...] = tuple(m for m in Metric if m is not Metric.RECIPROCITY)
PAIR_METRICS: tuple[Metric, ...] = tuple(m for m in Metric if m is not Metric.REACH)
TEAM_METRICS: tuple[Metric, ...] = (Metric.REACH,)

# The range a limit may take; give share limits apply to the larger team's share.
_LIMIT_RANGE: dict[Metric, tuple[float, float]] = {
    Metric.GIVE_SHARE: (0.5, 1.0),
    Metric.REACH: (0.0, 1.0),
    Metric.OPENNESS: (-1.0, 1.0),
    Metric.TOP_TWO_SHARE: (0.0, 1.0),
    Metric.GINI: (0.0, 1.0),
    Metric.BLOCKER_SHARE: (0.0, 1.0),
    Metric.ASK_MEDIAN_HOURS: (0.0, math.inf),
    Metric.UNANSWERED_SHARE: (0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Green up to `green`, amber up to `amber`, red beyond (mirrored when higher is better)."""

    green: float
    amber: float
    higher_is_better: bool = False

    def band(self, value: float) -> Band:
        if self.higher_is_better:
            if value >= self.green - _EPSILON:
                return Band.GREEN
            return Band.AMBER if value >= self.amber - _EPSILON else Band.RED
        if value <= self.green + _EPSILON:
            return Band.GREEN
        return Band.AMBER if value <= self.amber + _EPSILON else Band.RED


def _up_to(green: float, amber: float) -> Limits:
    return Limits(green, amber)


def _at_least(green: float, amber: float) -> Limits:
    return Limits(green, amber, higher_is_better=True)


@dataclass(frozen=True, slots=True)
class BandThresholds:
    """Band limits per metric, plus the sample below which a metric gets no band."""

    give_share: Limits
    reach: Limits
    openness: Limits
    top_two_share: Limits
    gini: Limits
    blocker_share: Limits
    ask_median_hours: Limits
    unanswered_share: Limits
    min_cross_events: int = 5
    min_blockers: int = 3
    min_asks: int = 3

    def limits(self, metric: Metric) -> Limits:
        value = getattr(self, metric.value, None)
        if not isinstance(value, Limits):
            raise ValueError(f"{metric} has no bands")
        return value

    @classmethod
    def defaults(cls, kind: InterdependenceType) -> BandThresholds:
        return _DEFAULT_THRESHOLDS[kind]

    @classmethod
    def from_settings(
        cls, kind: InterdependenceType, settings: Mapping[str, object] | None = None
    ) -> BandThresholds:
        """Defaults for `kind` with overrides: {"reach": {"green": 0.4}, "min_asks": 5}."""
        return cls.defaults(kind).with_settings(settings or {})

    def with_settings(self, settings: Mapping[str, object]) -> BandThresholds:
        changes: dict[str, object] = {}
        for key, raw in settings.items():
            if key in ("min_cross_events", "min_blockers", "min_asks"):
                if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                    raise ValueError(f"{key} must be a whole number of at least 1, got {raw!r}")
                changes[key] = raw
                continue
            try:
                metric = Metric(key)
            except ValueError:
                raise ValueError(f"unknown balance setting {key!r}") from None
            if metric not in BANDED_METRICS:
                raise ValueError(f"{key} has no bands")
            changes[key] = _merge_limits(metric, self.limits(metric), raw)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def _merge_limits(metric: Metric, current: Limits, raw: object) -> Limits:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{metric} takes {{'green': x, 'amber': y}}, got {raw!r}")
    unknown = set(raw) - {"green", "amber"}
    if unknown:
        raise ValueError(f"{metric}: unknown keys {sorted(unknown)}")
    values = {"green": current.green, "amber": current.amber}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{metric}.{name} must be a number, got {value!r}")
        values[name] = float(value)
    low, high = _LIMIT_RANGE[metric]
    if not all(low <= v <= high for v in values.values()):
        raise ValueError(f"{metric} limits must lie in [{low}, {high}], got {values}")
    green, amber = values["green"], values["amber"]
    if (green < amber) if current.higher_is_better else (green > amber):
        raise ValueError(f"{metric}: the green limit must be at least as strict as amber")
    return Limits(green, amber, current.higher_is_better)


_DEFAULT_THRESHOLDS: dict[InterdependenceType, BandThresholds] = {
    InterdependenceType.RECIPROCAL: BandThresholds(
        give_share=_up_to(0.60, 0.70),
        reach=_at_least(0.50, 0.25),
        openness=_at_least(-0.30, -0.60),
        top_two_share=_up_to(0.35, 0.50),
        gini=_up_to(0.60, 0.75),
        blocker_share=_up_to(0.25, 0.50),
        ask_median_hours=_up_to(8.0, 24.0),
        unanswered_share=_up_to(0.10, 0.25),
    ),
    InterdependenceType.SEQUENTIAL: BandThresholds(
        give_share=_up_to(0.75, 0.90),
        reach=_at_least(0.35, 0.15),
        openness=_at_least(-0.50, -0.75),
        top_two_share=_up_to(0.50, 0.65),
        gini=_up_to(0.70, 0.85),
        blocker_share=_up_to(0.40, 0.60),
        ask_median_hours=_up_to(8.0, 24.0),
        unanswered_share=_up_to(0.10, 0.25),
    ),
    InterdependenceType.POOLED: BandThresholds(
        give_share=_up_to(0.70, 0.85),
        reach=_at_least(0.20, 0.10),
        openness=_at_least(-0.70, -0.90),
        top_two_share=_up_to(0.50, 0.70),
        gini=_up_to(0.80, 0.90),
        blocker_share=_up_to(0.15, 0.30),
        ask_median_hours=_up_to(24.0, 72.0),
        unanswered_share=_up_to(0.20, 0.40),
    ),
}


def metric_value(metrics: PairMetrics, metric: Metric, team: int | None = None) -> float | None:
    """One metric's value; REACH needs the team it is about."""
    if metric is Metric.REACH:
        if team == metrics.team_a.team:
            return metrics.team_a.reach
        if team == metrics.team_b.team:
            return metrics.team_b.reach
        raise ValueError(f"reach needs one of the pair's teams, got {team}")
    values: dict[Metric, float | None] = {
        Metric.GIVE_SHARE: metrics.give_share_a,
        Metric.RECIPROCITY: metrics.reciprocity,
        Metric.OPENNESS: metrics.openness,
        Metric.TOP_TWO_SHARE: metrics.top_two_share,
        Metric.GINI: metrics.gini,
        Metric.BLOCKER_SHARE: metrics.blocker_share,
        Metric.ASK_MEDIAN_HOURS: metrics.ask_median_hours,
        Metric.UNANSWERED_SHARE: metrics.unanswered_share,
    }
    return values[metric]


def _enough_sample(metric: Metric, metrics: PairMetrics, thresholds: BandThresholds) -> bool:
    if metric in (Metric.GIVE_SHARE, Metric.TOP_TWO_SHARE, Metric.GINI):
        return metrics.cross_events >= thresholds.min_cross_events
    if metric is Metric.BLOCKER_SHARE:
        return metrics.blockers >= thresholds.min_blockers
    if metric is Metric.ASK_MEDIAN_HOURS:
        return metrics.acknowledged_asks >= thresholds.min_asks
    if metric is Metric.UNANSWERED_SHARE:
        return metrics.asks >= thresholds.min_asks
    return True


def band_for(
    metric: Metric,
    metrics: PairMetrics,
    thresholds: BandThresholds,
    team: int | None = None,
) -> Band | None:
    """The band of one metric, or None when it is undefined or rests on too few events."""
    value = metric_value(metrics, metric, team)
    if value is None or metric not in BANDED_METRICS:
        return None
    if not _enough_sample(metric, metrics, thresholds):
        return None
    if metric is Metric.GIVE_SHARE:
        value = max(value, 1.0 - value)
    return thresholds.limits(metric).band(value)


# --- trend ---------------------------------------------------------------------


class Arrow(StrEnum):
    UP = "up"
    DOWN = "down"
    STEADY = "steady"
    NOT_ENOUGH_DATA = NOT_ENOUGH_DATA


# Smallest change worth an arrow: 0.1 on an index, 10 points on a share, 4 hours on a wait.
TREND_MIN_CHANGE: dict[Metric, float] = {
    **{metric: 0.10 for metric in Metric},
    Metric.ASK_MEDIAN_HOURS: 4.0,
}


@dataclass(frozen=True, slots=True)
class Trend:
    arrow: Arrow
    vs_last_month: float | None
    vs_three_month_mean: float | None


def trend(
    metric: Metric,
    current: float | None,
    previous: Sequence[float | None],
    cross_events: int,
) -> Trend:
    """Direction of change; `previous` runs oldest to newest and ends with last month.

    An arrow needs a large enough change on last month, at least TREND_MIN_EVENTS
    cross-team events this month, and the change on the mean of the (up to)
    three previous months pointing the same way.
    """
    last = previous[-1] if previous else None
    window = [value for value in previous[-3:] if value is not None]
    vs_last = None if current is None or last is None else current - last
    vs_mean = None if current is None or not window else current - statistics.fmean(window)
    if vs_last is None or cross_events < TREND_MIN_EVENTS:
        return Trend(Arrow.NOT_ENOUGH_DATA, vs_last, vs_mean)
    if abs(vs_last) < TREND_MIN_CHANGE[metric] - _EPSILON:
        return Trend(Arrow.STEADY, vs_last, vs_mean)
    if vs_mean is None or vs_mean == 0 or (vs_mean > 0) != (vs_last > 0):
        return Trend(Arrow.STEADY, vs_last, vs_mean)
    return Trend(Arrow.UP if vs_last > 0 else Arrow.DOWN, vs_last, vs_mean)


# --- next steps ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamRef:
    """A team as leaders know it: the only name the summary may carry."""

    id: int
    name: str


class Action(StrEnum):
    START = "start"
    HOST_SHADOWING = "host_shadowing"
    PAIR_UNTIED_FIRST = "pair_untied_first"
    ROTATE_LIAISON = "rotate_liaison"
    JOINT_STANDUP_DAY = "joint_standup_day"
    HANDOFF_CHECKLIST = "handoff_checklist"
    FIRST_RESPONDER = "first_responder"
    FIRST_RESPONDERS_BOTH = "first_responders_both"


_ACTION_TEXT: dict[Action, str] = {
    Action.START: (
        "Schedule the first shadowing round between {team} and {other} "
        "and invite both teams to the joint standup."
    ),
    Action.HOST_SHADOWING: (
        "{team} hosts the next two shadowing rounds, so help flows back to {other}."
    ),
    Action.PAIR_UNTIED_FIRST: (
        "In the next rounds, pair {team} members who have no cross-team tie yet first "
        "(Tandem does this by default; check opt-outs)."
    ),
    Action.ROTATE_LIAISON: (
        "Rotate the liaison role between {team} and {other} "
        "so more people carry the cross-team work."
    ),
    Action.JOINT_STANDUP_DAY: "Add one joint standup day a week for {team} and {other}.",
    Action.HANDOFF_CHECKLIST: (
        "{team} agrees a hand-off checklist with {other} for the work it waits on."
    ),
    Action.FIRST_RESPONDER: (
        "{team} names a rotating first responder who acknowledges asks from {other} "
        "within one working day."
    ),
    Action.FIRST_RESPONDERS_BOTH: (
        "{team} and {other} each name a rotating first responder who acknowledges "
        "the other team's asks within one working day."
    ),
}


@dataclass(frozen=True, slots=True)
class NextStep:
    """One concrete action for leaders; it names teams, never people."""

    action: Action
    team: TeamRef
    other: TeamRef
    metric: Metric | None
    band: Band | None

    @property
    def text(self) -> str:
        return _ACTION_TEXT[self.action].format(team=self.team.name, other=self.other.name)


def _slower_responder(metrics: PairMetrics, metric: Metric) -> int | None:
    """The team that answers the other's asks worse, or None when they are level."""
    a, b = metrics.team_a, metrics.team_b
    if metric is Metric.ASK_MEDIAN_HOURS:
        score_a, score_b = a.reply_median_hours, b.reply_median_hours
    else:  # the asks a team leaves unanswered are the ones the other team raised
        score_a = _ratio(b.asks_unanswered, b.asks_raised)
        score_b = _ratio(a.asks_unanswered, a.asks_raised)
    if score_a is None or score_b is None:
        # Only one team had asks to answer: it is the one the metric measured.
        return a.team if score_a is not None else b.team if score_b is not None else None
    if score_a == score_b:
        return None
    return a.team if score_a > score_b else b.team


def _step_for(
    metric: Metric, team: int | None, band: Band, metrics: PairMetrics, a: TeamRef, b: TeamRef
) -> NextStep:
    refs = {a.id: a, b.id: b}

    def step(action: Action, first: TeamRef, second: TeamRef) -> NextStep:
        return NextStep(action, first, second, metric, band)

    def other(ref: TeamRef) -> TeamRef:
        return b if ref is a else a

    if metric is Metric.GIVE_SHARE:
        taker = a if (metrics.give_share_a or 0.0) < 0.5 else b
        return step(Action.HOST_SHADOWING, taker, other(taker))
    if metric is Metric.REACH:
        assert team is not None
        return step(Action.PAIR_UNTIED_FIRST, refs[team], other(refs[team]))
    if metric in (Metric.TOP_TWO_SHARE, Metric.GINI):
        return step(Action.ROTATE_LIAISON, a, b)
    if metric is Metric.OPENNESS:
        return step(Action.JOINT_STANDUP_DAY, a, b)
    if metric is Metric.BLOCKER_SHARE:
        waits_a = metrics.team_a.blockers_naming_other
        waits_b = metrics.team_b.blockers_naming_other
        blocked = b if waits_b > waits_a else a
        return step(Action.HANDOFF_CHECKLIST, blocked, other(blocked))
    slower = _slower_responder(metrics, metric)
    if slower is None:
        return step(Action.FIRST_RESPONDERS_BOTH, a, b)
    return step(Action.FIRST_RESPONDER, refs[slower], other(refs[slower]))


def _next_steps(
    banded: Iterable[tuple[Metric, int | None, Band | None]],
    metrics: PairMetrics,
    a: TeamRef,
    b: TeamRef,
) -> tuple[NextStep, ...]:
    """One step per amber or red metric, red first, each action once."""
    steps: list[NextStep] = []
    for metric, team, band in banded:
        if band in (Band.AMBER, Band.RED):
            steps.append(_step_for(metric, team, band, metrics, a, b))
    steps.sort(key=lambda s: -_SEVERITY[s.band] if s.band else 0)
    unique: dict[tuple[Action, int, int], NextStep] = {}
    for s in steps:
        unique.setdefault((s.action, s.team.id, s.other.id), s)
    return tuple(unique.values())


# --- the leader summary ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricLine:
    metric: Metric
    value: float | None
    band: Band | None  # None reads "not enough data"
    trend: Trend


@dataclass(frozen=True, slots=True)
class TeamLine:
    team: TeamRef
    size: int | None
    # Set when the team had fewer members than this; its size and metrics are then gone.
    hidden_below: int | None
    metrics: tuple[MetricLine, ...]

    @property
    def hidden(self) -> bool:
        return self.hidden_below is not None

    @property
    def note(self) -> str | None:
        if self.hidden_below is None:
            return None
        return f"hidden: fewer than {self.hidden_below} members"


@dataclass(frozen=True, slots=True)
class PairSummary:
    """What a leader sees for one pair and month: teams, numbers, bands, arrows, steps.

    There is deliberately no field that could hold a person: the only text is a
    team's name, and next steps are rendered from fixed templates.
    """

    year: int
    month: int
    interdependence: InterdependenceType
    team_a: TeamLine
    team_b: TeamLine
    flows_a_to_b: int
    flows_b_to_a: int
    asks: int
    asks_unanswered: int
    metrics: tuple[MetricLine, ...]
    headline: Band | None
    next_steps: tuple[NextStep, ...]
    not_enough_activity: bool = False
    # Set when a team of the pair had fewer members than this: then the whole
    # pair is withheld (flows, asks, metrics, trend, steps are all empty).
    hidden_below: int | None = None

    @property
    def hidden(self) -> bool:
        return self.hidden_below is not None

    @property
    def hidden_note(self) -> str | None:
        """Which team is too small, in words: the only thing a hidden pair shows."""
        if self.hidden_below is None:
            return None
        small = [side.team.name for side in (self.team_a, self.team_b) if side.hidden]
        who = " and ".join(small) if small else "a team"
        return (
            f"hidden: {who} had fewer than {self.hidden_below} members, "
            "so nothing about this pair is shown"
        )

    @property
    def cross_events(self) -> int:
        return self.flows_a_to_b + self.flows_b_to_a

    @property
    def activity_note(self) -> str | None:
        return NOT_ENOUGH_ACTIVITY if self.not_enough_activity else None

    def line(self, metric: Metric, team: int | None = None) -> MetricLine | None:
        """A metric's line; for REACH, of `team` (None when that team is hidden)."""
        if metric is Metric.REACH:
            for side in (self.team_a, self.team_b):
                if side.team.id == team:
                    return next((m for m in side.metrics if m.metric is metric), None)
            raise ValueError(f"reach needs one of the pair's teams, got {team}")
        return next((m for m in self.metrics if m.metric is metric), None)


def _team_ref(team: int, names: Mapping[int, str]) -> TeamRef:
    return TeamRef(team, names.get(team, f"team {team}"))


def _headline(summary_lines: Iterable[MetricLine]) -> Band | None:
    return worst_band(line.band for line in summary_lines)


def summarize(
    metrics: PairMetrics,
    *,
    year: int,
    month: int,
    interdependence: InterdependenceType,
    team_names: Mapping[int, str],
    history: Sequence[PairMetrics] = (),
    thresholds: BandThresholds | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> PairSummary:
    """Bands, trends and next steps for one month, with small teams already hidden.

    `history` holds the same pair's previous months, oldest first, ending with
    last month (a month without data is a PairMetrics whose metrics are None).
    """
    ids = (metrics.team_a.team, metrics.team_b.team)
    for past in history:
        if (past.team_a.team, past.team_b.team) != ids:
            raise ValueError(
                f"history is for teams {past.team_a.team, past.team_b.team}, not {ids}"
            )
    limits = thresholds or BandThresholds.defaults(interdependence)
    active = metrics.has_activity
    a, b = _team_ref(ids[0], team_names), _team_ref(ids[1], team_names)

    def line(metric: Metric, team: int | None = None) -> MetricLine:
        value = metric_value(metrics, metric, team)
        # A month in which the pair was under the floor cannot show through the trend.
        previous = [
            None if withheld(past, min_group_size) else metric_value(past, metric, team)
            for past in history
        ]
        band = band_for(metric, metrics, limits, team) if active else None
        return MetricLine(metric, value, band, trend(metric, value, previous, metrics.cross_events))

    pair_lines = tuple(line(metric) for metric in PAIR_METRICS)
    team_lines = {team: tuple(line(m, team) for m in TEAM_METRICS) for team in ids}
    sides = (metrics.team_a, metrics.team_b)
    banded = [(ml.metric, None, ml.band) for ml in pair_lines] + [
        (ml.metric, team, ml.band) for team in ids for ml in team_lines[team]
    ]
    if active:
        steps = _next_steps(banded, metrics, a, b)
    else:
        steps = (NextStep(Action.START, a, b, None, None),)
    summary = PairSummary(
        year=year,
        month=month,
        interdependence=interdependence,
        team_a=TeamLine(a, sides[0].size, None, team_lines[a.id]),
        team_b=TeamLine(b, sides[1].size, None, team_lines[b.id]),
        flows_a_to_b=metrics.flows_a_to_b,
        flows_b_to_a=metrics.flows_b_to_a,
        asks=metrics.asks,
        asks_unanswered=metrics.asks_unanswered,
        metrics=pair_lines,
        headline=_headline((*pair_lines, *team_lines[a.id], *team_lines[b.id])),
        next_steps=steps,
        not_enough_activity=not active,
    )
    return apply_privacy(summary, min_group_size)


def _nobody_to_hide(sizes: Iterable[int | None], min_group_size: int, active: bool) -> bool:
    """Teams under the floor that had no members at all, in a month with nothing logged.

    Before a team exists there is no one its numbers could point at; as soon
    as anything was logged for the pair, the floor applies whatever the size.
    """
    small = [size for size in sizes if size is None or size < min_group_size]
    return bool(small) and all(size == 0 for size in small) and not active


def withheld(metrics: PairMetrics, min_group_size: int = DEFAULT_MIN_GROUP_SIZE) -> bool:
    """Whether the pair's numbers for that month must not be shown: a team under the floor."""
    sizes = (metrics.team_a.size, metrics.team_b.size)
    if min(sizes) >= min_group_size:
        return False
    return not _nobody_to_hide(sizes, min_group_size, metrics.has_activity)


def apply_privacy(
    summary: PairSummary, min_group_size: int = DEFAULT_MIN_GROUP_SIZE
) -> PairSummary:
    """Withhold the whole pair when one of its teams is smaller than `min_group_size`.

    Every number about a pair can point at a small team's members (two people
    giving kudos are two people), so a hidden pair keeps only the team names
    and which team is too small: no sizes, flows, asks, metrics, trend,
    headline or steps. A team with no members in a month with nothing
    logged has no one to hide. Applying it twice changes nothing.
    """
    if summary.hidden:
        return summary
    sides = (summary.team_a, summary.team_b)
    small = {
        side.team.id
        for side in sides
        if side.hidden or (side.size is not None and side.size < min_group_size)
    }
    if not small:
        return summary
    sizes = [None if side.hidden else side.size for side in sides]
    if _nobody_to_hide(sizes, min_group_size, not summary.not_enough_activity):
        return summary

    def blank(side: TeamLine) -> TeamLine:
        return TeamLine(side.team, None, min_group_size if side.team.id in small else None, ())

    return dataclasses.replace(
        summary,
        team_a=blank(summary.team_a),
        team_b=blank(summary.team_b),
        flows_a_to_b=0,
        flows_b_to_a=0,
        asks=0,
        asks_unanswered=0,
        metrics=(),
        headline=None,
        next_steps=(),
        not_enough_activity=False,
        hidden_below=min_group_size,
    )
