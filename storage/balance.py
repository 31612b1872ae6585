"""The balance counts, straight from the interaction log with grouped queries.

Every number in `rituals.balance.PairAggregates` is a GROUP BY away, so the
database does the counting and Python only receives small grouped results
(per-pair totals, a histogram of per-person counts, the two busiest people,
and one wait per acknowledged ask). Three statements do it all: one reads
the month's flows once and derives every flow count from them, one counts
blockers, one counts asks. They cover every pair of a partnership's teams
and several consecutive months at once: the month is a CASE over the UTC
boundaries, the pair is (smaller team id, larger team id).

Only interactions logged for the partnership count, and each one is counted
for the teams it carries (the teams at the time), never the teams of today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from rituals.balance import PairAggregates, team_pairs
from rituals.interactions import FLOW_KINDS, InteractionKind
from storage.models import Interaction, Member, PartnershipTeam, StandupAsk, TeamMembership
from storage.types import UTCDateTime

_FLOW_KIND_VALUES = sorted(kind.value for kind in FLOW_KINDS)
# Co-delivery (joint KPI check-ins) makes ties and reach, never give/take: see docs/balance.md.
_CO_DELIVERY = InteractionKind.CO_DELIVERY.value

Pair = tuple[int, int]
# Memory PostgreSQL may use per sort or hash while computing the balance.
_WORK_MEM = "64MB"


@dataclass
class _Counts:
    """Mutable accumulator for one pair and one month; frozen into PairAggregates at the end."""

    flows: dict[tuple[int, int], int] = field(default_factory=dict)
    histogram: dict[int, int] = field(default_factory=dict)
    top_two: int = 0
    tied: dict[int, int] = field(default_factory=dict)
    external_ties: int = 0
    internal_ties: int = 0
    blockers: dict[int, int] = field(default_factory=dict)
    naming: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    latencies: dict[int, list[float]] = field(default_factory=dict)

    def freeze(self, a: int, b: int) -> PairAggregates:
        counts = sorted(
            (n for n, people in self.histogram.items() for _ in range(people)), reverse=True
        )
        return PairAggregates(
            team_a=a,
            team_b=b,
            flows_a_to_b=self.flows.get((a, b), 0),
            flows_b_to_a=self.flows.get((b, a), 0),
            cross_counts=tuple(counts),
            top_two_interactions=self.top_two,
            tied_a=self.tied.get(a, 0),
            tied_b=self.tied.get(b, 0),
            external_ties=self.external_ties,
            internal_ties=self.internal_ties,
            blockers_a=self.blockers.get(a, 0),
            blockers_a_naming_b=self.naming.get(a, 0),
            blockers_b=self.blockers.get(b, 0),
            blockers_b_naming_a=self.naming.get(b, 0),
            asks_from_a=self.asks.get(a, 0),
            asks_from_b=self.asks.get(b, 0),
            ask_latencies_from_a=tuple(sorted(self.latencies.get(a, ()))),
            ask_latencies_from_b=tuple(sorted(self.latencies.get(b, ()))),
        )


def _smaller(x: Any, y: Any) -> ColumnElement[Any]:
    # CASE instead of LEAST/min(): the same SQL on both backends.
    return case((x < y, x), else_=y)


def _larger(x: Any, y: Any) -> ColumnElement[Any]:
    return case((x < y, y), else_=x)


def _month_index(column: Any, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """Which window [bounds[i], bounds[i+1]) a timestamp falls in (rows are pre-filtered)."""
    if len(bounds) == 2:
        return literal(0, Integer)
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2)


def _window_end(column: Any, bounds: Sequence[datetime]) -> ColumnElement[datetime]:
    """The end of the window a timestamp falls in."""
    if len(bounds) == 2:
        return literal(bounds[1], UTCDateTime())
    whens = [(column < bound, literal(bound, UTCDateTime())) for bound in bounds[1:-1]]
    return case(*whens, else_=literal(bounds[-1], UTCDateTime()))


def _seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" text: whole seconds from strftime
    # on the text up to the seconds, plus the difference of the fractions, exact
    # to the microsecond. strftime on the whole text would round a fraction of
    # .9995 or more up to the next second, and the fraction would count twice.
    return (
        cast(func.strftime("%s", func.substr(later, 1, 19)), Integer)
        - cast(func.strftime("%s", func.substr(earlier, 1, 19)), Integer)
        + cast(func.substr(later, 20), Float)
        - cast(func.substr(earlier, 20), Float)
    )


# The flow statement's rows: a family, the month and pair of teams, a key and values.
_VALUES = 6


def _whole(total: Any) -> ColumnElement[int]:
    """A sum as an integer: PostgreSQL would make a sum of sums `numeric`, slow to add."""
    return cast(total, Integer)


def _row(family: str, month: Any, lo: Any, hi: Any, k: Any = None, *values: Any) -> list[Any]:
    """The columns of one family's rows, padded with typed NULLs to the statement's width."""
    # A typed NULL: PostgreSQL would read a bare one in the first rows as text.
    none = cast(null(), Integer)
    padded = [*values, *([none] * (_VALUES - len(values)))]
    return [
        literal(family, String).label("family"),
        month.label("month"),
        lo.label("lo_t"),
        hi.label("hi_t"),
        (none if k is None else k).label("k"),
        *(value.label(f"v{index}") for index, value in enumerate(padded, start=1)),
    ]


def _tally(pair: _Counts, family: str, lo: int, hi: int, k: Any, values: Sequence[Any]) -> None:
    """Add one row of the flow statement to its pair's counts."""
    if family == "count":
        people, forward, flows, pairs, tied_lo, tied_hi = (int(v) for v in values)
        if int(k) > 0:
            pair.histogram[int(k)] = people
        pair.flows[(lo, hi)] = pair.flows.get((lo, hi), 0) + forward
        pair.flows[(hi, lo)] = pair.flows.get((hi, lo), 0) + flows - forward
        pair.external_ties += pairs
        pair.tied[lo] = pair.tied.get(lo, 0) + tied_lo
        pair.tied[hi] = pair.tied.get(hi, 0) + tied_hi
    elif family == "busiest":
        pair.top_two += int(k)
    elif family == "between":
        # Flows between the two busiest were counted once for each of them.
        pair.top_two -= int(values[0])
    elif family == "internal":
        pair.internal_ties = int(values[0])


class _Queries:
    """The grouped queries for one partnership, set of teams and run of months."""

    def __init__(
        self,
        session: Session,
        partnership_id: int,
        teams: Sequence[int],
        bounds: Sequence[datetime],
    ) -> None:
        self.session = session
        self.partnership_id = partnership_id
        self.teams = list(teams)
        self.bounds = list(bounds)

    def _in_range(self, column: Any) -> list[ColumnElement[bool]]:
        return [column >= self.bounds[0], column < self.bounds[-1]]

    def _logged(self) -> list[ColumnElement[bool]]:
        return [
            Interaction.partnership_id == self.partnership_id,
            *self._in_range(Interaction.occurred_at),
        ]

    def run(self) -> list[dict[Pair, PairAggregates]]:
        months = len(self.bounds) - 1
        counts: list[dict[Pair, _Counts]] = [
            {pair: _Counts() for pair in team_pairs(self.teams)} for _ in range(months)
        ]
        if self.session.get_bind().dialect.name == "postgresql":
            # The month's pairs of people fit in memory: keep the grouping off disk.
            # SET LOCAL ends with the transaction.
            self.session.execute(text(f"SET LOCAL work_mem = '{_WORK_MEM}'"))
        self._flows(counts)
        self._blockers(counts)
        self._asks(counts)
        return [{pair: month[pair].freeze(*pair) for pair in month} for month in counts]

    def edges(self) -> CTE:
        """Flows grouped by month, pair of teams and pair of people: the one scan of the log.

        Cross-team pairs of people have lo_t < hi_t; pairs inside one team have
        lo_t = hi_t = that team. `n` counts the flows (give/take), `n_all` every
        contact (flows and co-delivery), `forward` the flows from lo_t to hi_t,
        and `lo_first` the contacts in which lo_p stood on lo_t's side (and so
        hi_p on hi_t's): 0 < lo_first < n_all means the two swapped sides
        during the month, which happens when someone changes team.
        """
        i = Interaction
        pt, bt = i.provider_team_id, i.beneficiary_team_id
        p, b = i.provider_member_id, i.beneficiary_member_id
        flows = (
            select(
                _month_index(i.occurred_at, self.bounds).label("month"),
                _smaller(pt, bt).label("lo_t"),
                _larger(pt, bt).label("hi_t"),
                _smaller(p, b).label("lo_p"),
                _larger(p, b).label("hi_p"),
                case((and_(pt < bt, i.kind != _CO_DELIVERY), 1), else_=0).label("forward"),
                case(((p < b) == (pt < bt), 1), else_=0).label("lo_first"),
                case((i.kind != _CO_DELIVERY, 1), else_=0).label("gives"),
            )
            .where(
                *self._logged(),
                i.kind.in_([*_FLOW_KIND_VALUES, _CO_DELIVERY]),
                b.is_not(None),
                p != b,
                pt.in_(self.teams),
                bt.in_(self.teams),
            )
            .subquery("flows")
        )
        f = flows.c
        # Grouped by the subquery's columns, not by the CASE expressions: PostgreSQL
        # would not see a CASE with its own bound parameters as the same expression.
        # People first: the most selective key makes SQLite's sort compare less.
        return (
            select(
                f.month,
                f.lo_t,
                f.hi_t,
                f.lo_p,
                f.hi_p,
                _whole(func.sum(f.gives)).label("n"),
                _whole(func.count()).label("n_all"),
                _whole(func.sum(f.forward)).label("forward"),
                _whole(func.sum(f.lo_first)).label("lo_first"),
            )
            .group_by(f.lo_p, f.hi_p, f.lo_t, f.hi_t, f.month)
            .cte("edges")
        )

    def people(self, edges: CTE) -> CTE:
        """Each person's part in the cross-team pairs of people: one row per month, pair, person.

        Every cross pair of people is counted once for each of its two people.
        The lo_p copy also carries the pair's own counts (`forward`, `flows`
        and one `pairs`), so that summing people gives the pair of teams'
        totals. `tied_lo` (`tied_hi`): the person stood on lo_t's (hi_t's) side
        of a tie, a pair of people with two or more contacts, which is what
        reach counts.
        """
        c = edges.c
        is_cross = c.lo_t < c.hi_t
        strong = c.n_all >= 2
        lo_side_seen, hi_side_seen = c.lo_first > 0, c.lo_first < c.n_all

        def flag(condition: Any) -> Any:
            return case((and_(strong, condition), 1), else_=0)

        zero = literal(0, Integer)
        sides = union_all(
            select(
                c.month,
                c.lo_t,
                c.hi_t,
                c.lo_p.label("person"),
                c.n,
                flag(lo_side_seen).label("on_lo"),
                flag(hi_side_seen).label("on_hi"),
                c.forward.label("forward"),
                c.n.label("flows"),
                literal(1, Integer).label("pairs"),
            ).where(is_cross),
            select(
                c.month,
                c.lo_t,
                c.hi_t,
                c.hi_p.label("person"),
                c.n,
                flag(hi_side_seen).label("on_lo"),
                flag(lo_side_seen).label("on_hi"),
                zero,
                zero,
                zero,
            ).where(is_cross),
        ).subquery("sides")
        s = sides.c
        return (
            select(
                s.month,
                s.lo_t,
                s.hi_t,
                s.person,
                _whole(func.sum(s.n)).label("n"),
                func.max(s.on_lo).label("tied_lo"),
                func.max(s.on_hi).label("tied_hi"),
                _whole(func.sum(s.forward)).label("forward"),
                _whole(func.sum(s.flows)).label("flows"),
                _whole(func.sum(s.pairs)).label("pairs"),
            )
            # People first: the most selective key makes SQLite's sort compare less.
            .group_by(s.person, s.lo_t, s.hi_t, s.month)
            .cte("people")
        )

    def busiest(self, people: CTE) -> CTE:
        """The two people with the most cross flows in each month and pair (ties: lower id)."""
        pp = people.c
        rank = func.row_number().over(
            partition_by=(pp.month, pp.lo_t, pp.hi_t), order_by=(pp.n.desc(), pp.person)
        )
        ranked = select(pp.month, pp.lo_t, pp.hi_t, pp.person, pp.n, rank.label("rank")).subquery(
            "ranked"
        )
        return select(ranked).where(ranked.c.rank <= 2).cte("busiest")

    @staticmethod
    def by_count(people: CTE) -> Select[Any]:
        """Pair totals, ties and the histogram from one grouping: people by their cross flows.

        k = a number of cross flows; v1 = the people with that many; v2 to v6
        the sums of their `forward`, `flows`, `pairs`, `tied_lo` and `tied_hi`.
        People with none (co-delivery only) still carry ties and pairs.
        """
        pp = people.c
        return select(
            *_row(
                "count",
                pp.month,
                pp.lo_t,
                pp.hi_t,
                pp.n,
                func.count(),
                *(_whole(func.sum(column)) for column in (pp.forward, pp.flows, pp.pairs)),
                *(_whole(func.sum(column)) for column in (pp.tied_lo, pp.tied_hi)),
            )
        ).group_by(pp.month, pp.lo_t, pp.hi_t, pp.n)

    @staticmethod
    def busiest_counts(busiest: CTE) -> Select[Any]:
        """k = the cross flows of one of the two busiest people."""
        top = busiest.c
        return select(*_row("busiest", top.month, top.lo_t, top.hi_t, top.n))

    @staticmethod
    def between_busiest(edges: CTE, busiest: CTE) -> Select[Any]:
        """v1 = the cross flows between the two busiest people, counted once above for each."""
        c, top = edges.c, busiest.c

        def is_busiest(person: Any) -> Any:
            return exists().where(
                top.month == c.month, top.lo_t == c.lo_t, top.hi_t == c.hi_t, top.person == person
            )

        return select(*_row("between", c.month, c.lo_t, c.hi_t, None, c.n)).where(
            c.lo_t < c.hi_t, is_busiest(c.lo_p), is_busiest(c.hi_p)
        )

    def internal_pairs(self, edges: CTE) -> list[Select[Any]]:
        """v1 = distinct pairs of people in contact inside A or inside B (once if in both)."""
        c = edges.c
        found: list[Select[Any]] = []
        for a, b in team_pairs(self.teams):
            inside = (
                select(c.month, c.lo_p, c.hi_p)
                .where(c.lo_t == c.hi_t, c.lo_t.in_((a, b)))
                .group_by(c.month, c.lo_p, c.hi_p)
                .subquery()
            )
            lo, hi = literal(a, Integer), literal(b, Integer)
            found.append(
                select(*_row("internal", inside.c.month, lo, hi, None, func.count())).group_by(
                    inside.c.month
                )
            )
        return found

    def _flows(self, counts: list[dict[Pair, _Counts]]) -> None:
        """Every flow-based count in one statement, so the log is read once.

        The month's contacts are grouped twice, by pair of people (`edges`)
        and by person (`people`); everything else is a small aggregate over
        those. Rows come back tagged by family, as `_row` lays them out.
        """
        edges = self.edges()
        people = self.people(edges)
        busiest = self.busiest(people)
        statement = union_all(
            self.by_count(people),
            self.busiest_counts(busiest),
            self.between_busiest(edges, busiest),
            *self.internal_pairs(edges),
        )
        for family, month, lo, hi, k, *values in self.session.execute(statement):
            _tally(counts[month][(lo, hi)], family, lo, hi, k, values)

    def _blockers(self, counts: list[dict[Pair, _Counts]]) -> None:
        i = Interaction
        # The month is computed in a subquery and grouped by name: PostgreSQL
        # would not match a CASE repeated in GROUP BY with its own parameters.
        written = (
            select(
                _month_index(i.occurred_at, self.bounds).label("month"),
                i.provider_team_id.label("author"),
                i.beneficiary_team_id.label("named"),
            )
            .where(
                *self._logged(),
                i.kind == InteractionKind.BLOCKER.value,
                i.provider_team_id.in_(self.teams),
            )
            .subquery("blockers")
        )
        w = written.c
        rows = self.session.execute(
            select(w.month, w.author, w.named, func.count()).group_by(w.month, w.author, w.named)
        )
        for index, author, named, n in rows:
            for (a, b), pair in counts[index].items():
                if author in (a, b):
                    pair.blockers[author] = pair.blockers.get(author, 0) + int(n)
                    if named == (b if author == a else a):
                        pair.naming[author] = pair.naming.get(author, 0) + int(n)

    def _asks(self, counts: list[dict[Pair, _Counts]]) -> None:
        """Asks per requesting team and the team that could have answered them.

        An ask answered first by the other team counts for that pair; an ask
        nobody had answered by the window's end counts for every pair with the
        requester's team, whoever answers it later, so a closed month never
        changes.
        """
        ask = StandupAsk
        team_list = union_all(
            *(select(literal(team, Integer).label("team")) for team in self.teams)
        ).subquery("teams")
        other = team_list.c.team
        acknowledged = and_(
            ask.first_offer_at.is_not(None),
            ask.first_offer_at < _window_end(ask.created_at, self.bounds),
        )
        open_at_end = ~acknowledged
        wait = _seconds_between(self.session, ask.first_offer_at, ask.created_at)
        cross_asks = (
            select(
                _month_index(ask.created_at, self.bounds).label("month"),
                ask.requester_team_id.label("requester"),
                other.label("answerer"),
                case((acknowledged, wait), else_=None).label("wait"),
            )
            .join(
                team_list,
                and_(
                    other != ask.requester_team_id,
                    or_(open_at_end, ask.helper_team_id.is_(None), ask.helper_team_id == other),
                ),
            )
            .where(
                ask.partnership_id == self.partnership_id,
                *self._in_range(ask.created_at),
                ask.requester_team_id.in_(self.teams),
            )
            .cte("cross_asks")
        )
        c = cross_asks.c
        raised = self.session.execute(
            select(c.month, c.requester, c.answerer, func.count()).group_by(
                c.month, c.requester, c.answerer
            )
        )
        for index, requester, answerer, n in raised:
            counts[index][_ordered(requester, answerer)].asks[requester] = int(n)
        waits = self.session.execute(
            select(c.month, c.requester, c.answerer, c.wait).where(c.wait.is_not(None))
        )
        for index, requester, answerer, seconds in waits:
            pair = counts[index][_ordered(requester, answerer)]
            pair.latencies.setdefault(requester, []).append(max(0.0, float(seconds)))


def _ordered(x: int, y: int) -> Pair:
    return (x, y) if x < y else (y, x)


def _check_bounds(bounds: Sequence[datetime]) -> None:
    if len(bounds) < 2:
        raise ValueError("give at least one window: [start, end]")
    if any(b.tzinfo is None for b in bounds):
        raise ValueError("window bounds must be timezone-aware")
    if any(later <= earlier for earlier, later in pairwise(bounds)):
        raise ValueError("window bounds must increase")


def pair_aggregates_by_window(
    session: Session,
    partnership_id: int,
    team_ids: Iterable[int],
    bounds: Sequence[datetime],
) -> list[dict[Pair, PairAggregates]]:
    """Aggregates for every pair of `team_ids` in each window [bounds[i], bounds[i+1]).

    Pairs are keyed (smaller team id, larger team id), which is also their
    (team_a, team_b). Windows are consecutive, so months of history cost the
    same queries as one month.
    """
    _check_bounds(bounds)
    teams = sorted(set(team_ids))
    if len(teams) < 2:
        return [{} for _ in bounds[1:]]
    return _Queries(session, partnership_id, teams, bounds).run()


def pair_aggregates(
    session: Session,
    partnership_id: int,
    team_a: int,
    team_b: int,
    start: datetime,
    end: datetime,
) -> PairAggregates:
    """The aggregates of one pair over [start, end), with team_a as given."""
    if team_a == team_b:
        raise ValueError("a pair needs two different teams")
    (found,) = pair_aggregates_by_window(session, partnership_id, (team_a, team_b), (start, end))
    return oriented(found[_ordered(team_a, team_b)], team_a)


def oriented(agg: PairAggregates, team_a: int) -> PairAggregates:
    """The same aggregates with `team_a` as the pair's first team."""
    if agg.team_a == team_a:
        return agg
    if agg.team_b != team_a:
        raise ValueError(f"team {team_a} is not in the pair {agg.team_a, agg.team_b}")
    return PairAggregates(
        team_a=agg.team_b,
        team_b=agg.team_a,
        flows_a_to_b=agg.flows_b_to_a,
        flows_b_to_a=agg.flows_a_to_b,
        cross_counts=agg.cross_counts,
        top_two_interactions=agg.top_two_interactions,
        tied_a=agg.tied_b,
        tied_b=agg.tied_a,
        external_ties=agg.external_ties,
        internal_ties=agg.internal_ties,
        blockers_a=agg.blockers_b,
        blockers_a_naming_b=agg.blockers_b_naming_a,
        blockers_b=agg.blockers_a,
        blockers_b_naming_a=agg.blockers_a_naming_b,
        asks_from_a=agg.asks_from_b,
        asks_from_b=agg.asks_from_a,
        ask_latencies_from_a=agg.ask_latencies_from_b,
        ask_latencies_from_b=agg.ask_latencies_from_a,
    )


@dataclass(frozen=True, slots=True)
class Sizes:
    """Who belonged to the teams in one window, by the one-team rule, bots aside.

    `teams`: active members per team. `people`: for each pair, the distinct
    people in either team, each once (a mid-window mover is in both sizes
    but one person): the Gini's population.
    """

    teams: dict[int, int]
    people: dict[Pair, int]


def sizes_by_window(
    session: Session,
    partnership_id: int,
    team_ids: Iterable[int],
    bounds: Sequence[datetime],
) -> list[Sizes]:
    """Team sizes for each window [bounds[i], bounds[i+1]), by the one-team rule.

    Inside a partnership a person counts, at each instant, for the one team
    `rituals.roster.assign_teams` gives them from the seats open then: the
    one joined first, ties to the team listed first. That is the team their
    interactions carry, so a person in both Slack groups counts for one
    team, and someone who moved mid-window counts for each team they were
    counted for at some instant of it. A seat open in the window counts
    unless a better seat of the same person (joined earlier, or at the same
    time in a team listed earlier) stays open for all of the seat's part of
    the window: better seats start no later, so only the latest end matters.
    Deactivated people count for the windows they were members in.
    """
    _check_bounds(bounds)
    teams = sorted(set(team_ids))
    windows = list(pairwise(bounds))
    if not teams:
        return [Sizes({}, {}) for _ in windows]
    months = union_all(
        *(
            select(
                literal(index, Integer).label("month"),
                literal(start, UTCDateTime()).label("start"),
                literal(end, UTCDateTime()).label("end"),
            )
            for index, (start, end) in enumerate(windows)
        )
    ).subquery("months")
    m = months.c
    seat, better = aliased(TeamMembership), aliased(TeamMembership)
    place, better_place = aliased(PartnershipTeam), aliased(PartnershipTeam)
    dominated = exists().where(
        better.member_id == seat.member_id,
        better_place.partnership_id == partnership_id,
        better_place.team_id == better.team_id,
        or_(
            better.joined_at < seat.joined_at,
            and_(better.joined_at == seat.joined_at, better_place.position < place.position),
        ),
        or_(
            better.left_at.is_(None),
            better.left_at >= m.end,
            and_(seat.left_at.is_not(None), better.left_at >= seat.left_at),
        ),
    )
    counted = (
        select(m.month, seat.team_id.label("team"), seat.member_id.label("member"))
        .select_from(seat)
        .join(place, and_(place.team_id == seat.team_id, place.partnership_id == partnership_id))
        .join(Member, Member.id == seat.member_id)
        .join(
            months,
            and_(seat.joined_at < m.end, or_(seat.left_at.is_(None), seat.left_at > m.start)),
        )
        .where(seat.team_id.in_(teams), Member.is_bot.is_(False), ~dominated)
        .cte("counted")
    )
    c = counted.c
    none = cast(null(), Integer)
    statement = union_all(
        # Distinct: someone who left a team and rejoined it has two seats in it.
        select(c.month, c.team, none, func.count(c.member.distinct())).group_by(c.month, c.team),
        # Distinct people in either team of each pair: a mover once.
        *(
            select(
                c.month, literal(a, Integer), literal(b, Integer), func.count(c.member.distinct())
            )
            .where(c.team.in_((a, b)))
            .group_by(c.month)
            for a, b in team_pairs(teams)
        ),
    )
    found = [
        Sizes({team: 0 for team in teams}, {pair: 0 for pair in team_pairs(teams)}) for _ in windows
    ]
    for month, first, second, n in session.execute(statement):
        if second is None:
            found[month].teams[int(first)] = int(n)
        else:
            found[month].people[(int(first), int(second))] = int(n)
    return found


def team_sizes(
    session: Session, partnership_id: int, team_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, int]:
    """Active members per team in [start, end), by the one-team rule (see sizes_by_window)."""
    (sizes,) = sizes_by_window(session, partnership_id, team_ids, (start, end))
    return sizes.teams


# --- one member's own give and take ----------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnFlows:
    """One member's cross-team flows in a window, by kind: what they gave and received."""

    given: dict[str, int]
    received: dict[str, int]

    @property
    def gave(self) -> int:
        return sum(self.given.values())

    @property
    def took(self) -> int:
        return sum(self.received.values())


def own_flows(
    session: Session,
    partnership_id: int,
    member_id: int,
    team_ids: Iterable[int],
    start: datetime,
    end: datetime,
) -> OwnFlows:
    """A member's cross-team flows in a partnership, as provider and as beneficiary."""
    teams = sorted(set(team_ids))
    i = Interaction
    common = [
        i.partnership_id == partnership_id,
        i.occurred_at >= start,
        i.occurred_at < end,
        i.kind.in_(_FLOW_KIND_VALUES),
        i.beneficiary_member_id.is_not(None),
        i.provider_member_id != i.beneficiary_member_id,
        i.provider_team_id.in_(teams),
        i.beneficiary_team_id.in_(teams),
        i.provider_team_id != i.beneficiary_team_id,
    ]
    role = case((i.provider_member_id == member_id, "given"), else_="received").label("role")
    rows = session.execute(
        select(role, i.kind, func.count())
        .where(
            *common,
            or_(i.provider_member_id == member_id, i.beneficiary_member_id == member_id),
        )
        .group_by(role, i.kind)
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for side, kind, n in rows:
        found[side][kind] = int(n)
    return OwnFlows(given=dict(found["given"]), received=dict(found["received"]))
