"""Shadowing rounds: who meets whom across two teams, and who hosts.

One call matches the eligible members of two teams. A partnership of three or
more teams is matched by the caller one pair of teams at a time (for example
A x B this round, B x C the next), so each call stays a bipartite problem.

The core is an exact weighted bipartite assignment (rows: the smaller team,
columns: the larger one), solved with `scipy.optimize.linear_sum_assignment`
or, for large rounds, on candidate partners (below).
Its objective, in strict priority order (each line outranks everything below
it, whatever the instance), is what `plan_cost` scores:

0. Hard rules. Pairs cross teams; both members are eligible (active, not
   opted out, not away on the round's date, known time zone); their working
   days overlap by at least `min_overlap` on the round's date. Infeasible
   cells are excluded (`inf`).
1. Pair as many people as the working hours allow (`members_left_out`). This
   is enforced by structure, not by a weight: the maximum number of pairs is
   a max flow between time-zone groups, and only the missing number of
   "left out" dummy columns is added, so every assignment reaches it.
2. Avoid recent repeats (`repeat_penalty`): a pair last matched d rounds ago
   with d <= recency_window costs recency_window + 1 - d (last round costs
   the most). So if some maximum plan has no repeat, the plan has none.
3. Pair people with no cross-team tie (`never_tied_left_out`).
4. Pair people who sat out last round (`sat_out_again`).
5. Let roles alternate (`role_clashes`): a pair whose two members had the
   same role last time forces one of them to repeat it.

Levels 2-5 are integers folded into one float cost with weights derived from
the instance: the weight of a level is one more than the largest amount by
which all the levels below it, summed over every possible assignment, can
differ. Bounds are exact integer arithmetic; if the resulting costs would not
stay exactly representable in a float64 (huge instances), the lowest levels
are dropped one at a time and named in `RoundPlan.relaxed_levels`.

Remaining ties are broken by the order of the members, which is a shuffle
seeded with `seed`: pass a different seed each round so equal-cost partners
vary.

Large rounds (more than `_SPARSE_FIRST_CELLS` possible pairs) are solved on
candidate partners with `min_weight_full_bipartite_matching`: people in the
same zone with the same last role cost the same apart from history and their
own flags, so each person gets a few partners from every block of such people
their hours allow, plus their recent partners. The result is kept only with a
proof: every level's total equals a lower bound that holds for every plan
with the maximum number of pairs (no repeat, no role clash, as many
never-tied and sat-out people seated as that many pairs can seat), so no
excluded pair could improve it. Otherwise the candidates are widened, then
the dense solver decides, which makes every round up to `_DENSE_CELLS`
possible pairs exactly optimal. Beyond that (about 15,000 x 4,000 people) no
dense matrix is built: levels 0-1 always hold (hard rules, most pairs; the
round raises if even the widest candidates cannot reach that many pairs), and
when no proof is found the plan is the best among the candidates and the
unproven levels are named in `relaxed_levels` ("... (best among candidates)").

Roles are decided after matching, per pair: someone who shadowed last time
hosts, someone who hosted shadows (level 5 made clashes as rare as
possible). Pairs with no preference either way are handed to the teams so
that each team's share of hosts comes as close as possible to its
`team_host_bias` share (the team that took more than it gave last month
hosts more).

Trios (only when `allow_trios` and `pair_size >= 3`): members still left out
are placed as a second shadower in an existing pair whose host is from the
other team, by a second exact assignment of the same shape (as many trios
as the hours allow, then repeats, never-tied, sat-out, roles). It runs after
the pairs are fixed, so it is optimal given the pairs. A trio is stored as
`Pairing(host, (partner, extra))`: the first shadower is the pair partner.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from itertools import chain
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow, min_weight_full_bipartite_matching

from rituals.working_hours import overlap, workday_utc
from rituals.zones import is_zone

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

# Integer costs stay exact in float64 below 2**53; the solver adds and
# subtracts costs along augmenting paths, so keep a wide margin below that.
_EXACT_LIMIT = 2**50

# Above this many real cells a dense cost matrix is not built (8 bytes each).
_DENSE_CELLS = 60_000_000
# Above this many, candidate partners are tried first (a dense matrix as fallback).
_SPARSE_FIRST_CELLS = 1_000_000
# Partners per person from each block of interchangeable people, widened
# while the plan cannot be proved optimal.
_CANDIDATES = (2, 8, 32)


class Role(StrEnum):
    HOST = "host"
    SHADOWER = "shadower"


class UnpairedReason(StrEnum):
    DEACTIVATED = "deactivated"
    OPTED_OUT = "opted_out"
    AWAY = "away"
    UNKNOWN_TIME_ZONE = "unknown_time_zone"
    PARTNER_TEAM_EMPTY = "partner_team_empty"
    NO_OVERLAP = "no_overlap"
    TEAMS_UNEQUAL = "teams_unequal"
    NO_FREE_PARTNER = "no_free_partner"


@dataclass(frozen=True, slots=True)
class Candidate:
    member_id: int
    team_id: int
    tz: str
    active: bool
    opted_out: bool
    away_until: date | None
    last_role: Role | None
    sat_out_last_round: bool
    has_cross_team_tie: bool


@dataclass(frozen=True, slots=True)
class PairingSettings:
    """A shadowing ritual's rules; `pair_size` is the largest group allowed."""

    recency_window: int = 12
    min_overlap: timedelta = timedelta(hours=2)
    workday_start: time = time(9)
    workday_end: time = time(17)
    pair_size: int = 2
    allow_trios: bool = False

    def __post_init__(self) -> None:
        if self.recency_window < 0:
            raise ValueError("recency_window must not be negative")
        if self.min_overlap < timedelta(0):
            raise ValueError("min_overlap must not be negative")
        if self.pair_size not in (2, 3):
            raise ValueError("pair_size must be 2 or 3")

    @property
    def trios_enabled(self) -> bool:
        return self.allow_trios and self.pair_size >= 3


@dataclass(frozen=True, slots=True)
class Pairing:
    host: int
    shadowers: tuple[int, ...]

    @property
    def members(self) -> tuple[int, ...]:
        return (self.host, *self.shadowers)


@dataclass(frozen=True, slots=True)
class Unpaired:
    member_id: int
    reason: UnpairedReason
    detail: str


@dataclass(frozen=True, slots=True)
class RoundPlan:
    pairs: list[Pairing]
    unpaired: list[Unpaired]
    relaxed_levels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class PlanCost:
    """A plan's objective; lower is better and fields compare in order.

    Counts are over the core pairs: a trio's second shadower is placed by a
    later stage and is counted here as left out.
    """

    members_left_out: int
    repeat_penalty: int
    never_tied_left_out: int
    sat_out_again: int
    role_clashes: int


def ineligibility(candidate: Candidate, round_date: date) -> tuple[UnpairedReason, str] | None:
    """Why a member cannot take part on `round_date` (away is inclusive), or None."""
    if not candidate.active:
        return UnpairedReason.DEACTIVATED, "deactivated"
    if candidate.opted_out:
        return UnpairedReason.OPTED_OUT, "opted out of shadowing"
    if candidate.away_until is not None and candidate.away_until >= round_date:
        return UnpairedReason.AWAY, f"away until {candidate.away_until.isoformat()}"
    if not is_zone(candidate.tz):
        return UnpairedReason.UNKNOWN_TIME_ZONE, f"time zone {candidate.tz!r} is not recognised"
    return None


def repeat_penalty(rounds_ago: int | None, recency_window: int) -> int:
    """What pairing two people again costs: more the more recently they met."""
    if rounds_ago is None or rounds_ago > recency_window:
        return 0
    if rounds_ago < 1:
        raise ValueError("rounds ago must be at least 1 (1 = last round)")
    return recency_window + 1 - rounds_ago


def plan_cost(
    plan: RoundPlan,
    candidates: Sequence[Candidate],
    history: Mapping[frozenset[int], int],
    settings: PairingSettings,
    round_date: date,
) -> PlanCost:
    """Score a plan by the matcher's objective; raise ValueError if it breaks a hard rule."""
    by_id = {c.member_id: c for c in candidates}
    eligible = {c.member_id for c in candidates if ineligibility(c, round_date) is None}
    paired: set[int] = set()
    repeats = clashes = 0
    for pairing in plan.pairs:
        if not pairing.shadowers:
            raise ValueError(f"pairing hosted by {pairing.host} has no shadower")
        first, second = by_id[pairing.host], by_id[pairing.shadowers[0]]
        for member in (first, second):
            if member.member_id not in eligible:
                raise ValueError(f"member {member.member_id} is not eligible")
            if member.member_id in paired:
                raise ValueError(f"member {member.member_id} is paired twice")
            paired.add(member.member_id)
        if first.team_id == second.team_id:
            raise ValueError(f"pair {first.member_id}-{second.member_id} does not cross teams")
        shared = overlap(
            first.tz, second.tz, round_date, settings.workday_start, settings.workday_end
        )
        if shared < settings.min_overlap:
            raise ValueError(f"pair {first.member_id}-{second.member_id} lacks working hours")
        key = frozenset((first.member_id, second.member_id))
        repeats += repeat_penalty(history.get(key), settings.recency_window)
        if first.last_role is not None and first.last_role == second.last_role:
            clashes += 1
    left_out = [by_id[m] for m in eligible - paired]
    return PlanCost(
        members_left_out=len(left_out),
        repeat_penalty=repeats,
        never_tied_left_out=sum(not c.has_cross_team_tie for c in left_out),
        sat_out_again=sum(c.sat_out_last_round for c in left_out),
        role_clashes=clashes,
    )


def plan_round(
    candidates: Sequence[Candidate],
    history: Mapping[frozenset[int], int],
    team_host_bias: Mapping[int, float],
    settings: PairingSettings,
    round_date: date,
    seed: int,
    *,
    teams: tuple[int, int] | None = None,
    team_names: Mapping[int, str] | None = None,
) -> RoundPlan:
    """Plan one shadowing round between two teams.

    `history` maps frozenset({a, b}) to how many rounds ago a and b were last
    paired (1 = last round). `team_host_bias` weighs each team's claim to
    host: the host share of team A is bias[A] / (bias[A] + bias[B]); a team
    missing from it takes 1 minus the other's share (0.5 each if both miss).
    `teams` names the two teams when one of them may have no candidates at
    all; otherwise it is read from the candidates.
    """
    known = _two_teams(candidates, teams)
    names = dict(team_names or {})
    if known is None:
        # Only one team has candidates and the caller did not say which is
        # the other: everyone eligible is told the partner team is empty.
        team_a = candidates[0].team_id if candidates else 0
        team_b = team_a - 1
        names.setdefault(team_b, "the partner team")
    else:
        team_a, team_b = known
    team_name = {t: names.get(t, f"team {t}") for t in (team_a, team_b)}
    unpaired: list[Unpaired] = []
    eligible: dict[int, list[Candidate]] = {team_a: [], team_b: []}
    for candidate in sorted(candidates, key=lambda c: c.member_id):
        excuse = ineligibility(candidate, round_date)
        if excuse is None:
            eligible[candidate.team_id].append(candidate)
        else:
            unpaired.append(Unpaired(candidate.member_id, *excuse))
    rng = random.Random(seed)
    for members in eligible.values():
        rng.shuffle(members)

    zones = _ZoneTable(
        (c.tz for members in eligible.values() for c in members), round_date, settings
    )
    pairs: list[Pairing] = []
    relaxed: tuple[str, ...] = ()
    if eligible[team_a] and eligible[team_b]:
        core, relaxed = _match_pairs(
            eligible[team_a], eligible[team_b], history, zones, settings.recency_window
        )
        share_a = _host_share(team_a, team_b, team_host_bias)
        oriented = _assign_roles(core, team_a, share_a, rng)
        if settings.trios_enabled:
            oriented, trio_relaxed = _add_trios(
                oriented, eligible, history, zones, settings.recency_window
            )
            relaxed += tuple(f"trios.{name}" for name in trio_relaxed)
        pairs = [
            Pairing(host.member_id, tuple(s.member_id for s in rest)) for host, rest in oriented
        ]

    placed = {m for p in pairs for m in p.members}
    sizes = {t: len(members) for t, members in eligible.items()}
    for team, other in ((team_a, team_b), (team_b, team_a)):
        left_out = [c for c in eligible[team] if c.member_id not in placed]
        if not left_out:
            continue
        partner_zones = np.unique(zones.groups(eligible[other]))
        reachable: BoolArray = np.any(zones.ok[:, partner_zones], axis=1)
        for candidate in left_out:
            reason, detail = _why_left_out(
                bool(eligible[other]), bool(reachable[zones.index[candidate.tz]]),
                sizes[team] - sizes[other], team_name[team], team_name[other],
                settings, round_date,
            )  # fmt: skip
            unpaired.append(Unpaired(candidate.member_id, reason, detail))
    return RoundPlan(
        pairs=sorted(pairs, key=lambda p: p.members),
        unpaired=sorted(unpaired, key=lambda u: u.member_id),
        relaxed_levels=relaxed,
    )


# --- eligibility and inputs -------------------------------------------------


def _two_teams(
    candidates: Sequence[Candidate], teams: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The two teams of the round; None when there are no candidates to tell."""
    ids = [c.member_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("a member appears twice among the candidates")
    seen = sorted({c.team_id for c in candidates})
    if teams is not None:
        if teams[0] == teams[1]:
            raise ValueError("shadowing needs two different teams")
        stray = set(seen) - set(teams)
        if stray:
            raise ValueError(f"candidates from teams outside the pair: {sorted(stray)}")
        return teams
    if len(seen) > 2:
        raise ValueError("one round matches two teams; match larger partnerships pairwise")
    if len(seen) == 2:
        return seen[0], seen[1]
    return None


def _host_share(team_a: int, team_b: int, bias: Mapping[int, float]) -> float:
    """Team A's target share of hosts, from the two teams' host biases."""
    a, b = bias.get(team_a), bias.get(team_b)
    if a is not None and b is not None and a >= 0 and b >= 0 and a + b > 0:
        return a / (a + b)
    if a is not None and b is None and 0 <= a <= 1:
        return a
    if b is not None and a is None and 0 <= b <= 1:
        return 1 - b
    return 0.5


class _ZoneTable:
    """Which time zones share enough working hours, computed once per pair of zones."""

    def __init__(self, zones: Iterable[str], day: date, settings: PairingSettings) -> None:
        self.names = sorted(set(zones))
        self.index = {tz: i for i, tz in enumerate(self.names)}
        # One UTC working day per zone, then every pair at once: the same
        # max(start)..min(end) rule as `overlap`, in whole seconds.
        spans = [
            workday_utc(tz, day, settings.workday_start, settings.workday_end) for tz in self.names
        ]
        starts = np.array([int(a.timestamp()) for a, _ in spans], dtype=np.int64)
        ends = np.array([int(b.timestamp()) for _, b in spans], dtype=np.int64)
        shared = np.maximum(np.minimum.outer(ends, ends) - np.maximum.outer(starts, starts), 0)
        self.ok: BoolArray = shared >= settings.min_overlap.total_seconds()

    def groups(self, members: Sequence[Candidate]) -> IntArray:
        return np.fromiter((self.index[c.tz] for c in members), dtype=np.int64, count=len(members))


def _role_code(role: Role | None) -> int:
    return 0 if role is None else (1 if role is Role.HOST else 2)


def _wants_to_host(candidate: Candidate) -> int:
    """+1 if it is this member's turn to host, -1 if to shadow, 0 if no turn is due."""
    if candidate.last_role is Role.SHADOWER:
        return 1
    if candidate.last_role is Role.HOST:
        return -1
    return 0


def _history_entries(
    history: Mapping[frozenset[int], int],
    window: int,
    rows: Mapping[int, int],
    cols: Mapping[int, int],
    team_of: Mapping[int, int] | None = None,
) -> tuple[IntArray, IntArray, IntArray]:
    """Cells (row, column, penalty) for cross-team pairs met within the window."""
    empty = np.zeros(0, dtype=np.int64)
    # In bulk: a large round carries tens of thousands of recent meetings.
    pairs: Mapping[frozenset[int], int] = history
    if not all(map((2).__eq__, map(len, history))):
        pairs = {key: ago for key, ago in history.items() if len(key) == 2}
    if not pairs:
        return empty, empty, empty
    ends = np.fromiter(chain.from_iterable(pairs), np.int64, 2 * len(pairs)).reshape(-1, 2)
    ago = np.fromiter(pairs.values(), np.int64, len(pairs))
    a, b = ends[:, 0], ends[:, 1]
    a_row, b_row = _lookup(rows, a), _lookup(rows, b)
    a_col, b_col = _lookup(cols, a), _lookup(cols, b)
    forward = (a_row >= 0) & (b_col >= 0)
    backward = ~forward & (b_row >= 0) & (a_col >= 0)
    keep = (forward | backward) & (ago <= window)
    if team_of is not None:
        # rows and columns may mix teams: only cross-team meetings count
        keep &= _lookup(team_of, a, missing=-1) != _lookup(team_of, b, missing=-2)
    if np.any(ago[keep] < 1):
        raise ValueError("rounds ago must be at least 1 (1 = last round)")
    row_idx = np.where(forward, a_row, b_row)[keep]
    col_idx = np.where(forward, b_col, a_col)[keep]
    return row_idx, col_idx, window + 1 - ago[keep]


def _lookup(mapping: Mapping[int, int], ids: IntArray, missing: int = -1) -> IntArray:
    """mapping[id] for each id, `missing` where absent (vectorised dict lookup)."""
    if not mapping:
        return np.full(len(ids), missing, dtype=np.int64)
    known = np.fromiter(mapping.keys(), np.int64, len(mapping))
    values = np.fromiter(mapping.values(), np.int64, len(mapping))
    order = np.argsort(known)
    known, values = known[order], values[order]
    at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return np.where(known[at] == ids, values[at], missing)


# --- the exact lexicographic assignment -------------------------------------


@dataclass(frozen=True)
class _Order:
    """How rows and columns are laid out in the cost matrix: sorted into blocks."""

    rows: IntArray  # rows[position] = original row
    cols: IntArray
    row_at: IntArray  # row_at[original row] = position
    col_at: IntArray


class _Level(Protocol):
    """One priority level of integer cell costs; unpaired (dummy) cells cost 0."""

    @property
    def name(self) -> str: ...

    def spread(self, pairs: int) -> int:
        """Bound on how far the level's totals of two assignments with `pairs` real cells differ."""

    def magnitude(self, dummies: bool) -> int:
        """Bound on the sum over rows of the largest absolute cell (dummy cells are 0)."""

    def bases(self, weight: float) -> tuple[FloatArray, FloatArray] | None:
        """Row and column terms, for a level that is their sum (built in one pass)."""

    def table(self, weight: float) -> tuple[IntArray, IntArray, FloatArray] | None:
        """Row codes, column codes and a small table: a cell costs table[row code, col code]."""

    def add_to(self, block: FloatArray, weight: float, order: _Order) -> None:
        """Add the weighted level to the real (non-dummy) cells, laid out in `order`."""

    def cells(self) -> tuple[IntArray, IntArray, IntArray] | None:
        """The few cells the level charges on its own; None if it needs a dense matrix."""

    def floor(self, pairs: int) -> int:
        """Lower bound on the level's total over assignments with `pairs` real cells."""

    def total(self, rows: IntArray, cols: IntArray) -> int:
        """The level's total over the real cells (rows[k], cols[k])."""

    def transposed(self) -> _Level: ...


@dataclass(frozen=True)
class _PersonLevel:
    """Reward for seating flagged people: a cell costs -(row flag + column flag)."""

    name: str
    rows: IntArray
    cols: IntArray

    def spread(self, pairs: int) -> int:
        # Every assignment seats exactly `pairs` rows and `pairs` columns.
        return _swing(self.rows, pairs) + _swing(self.cols, pairs)

    def magnitude(self, dummies: bool) -> int:
        return int(self.rows.sum()) + int(self.cols.max()) * len(self.rows)

    def bases(self, weight: float) -> tuple[FloatArray, FloatArray] | None:
        return -weight * self.rows.astype(np.float64), -weight * self.cols.astype(np.float64)

    def table(self, weight: float) -> tuple[IntArray, IntArray, FloatArray] | None:
        return None

    def add_to(self, block: FloatArray, weight: float, order: _Order) -> None:
        pass

    def cells(self) -> tuple[IntArray, IntArray, IntArray] | None:
        return _NO_CELLS

    def floor(self, pairs: int) -> int:
        return -(_largest_sum(self.rows, pairs) + _largest_sum(self.cols, pairs))

    def total(self, rows: IntArray, cols: IntArray) -> int:
        return -int(self.rows[rows].sum() + self.cols[cols].sum())

    def transposed(self) -> _Level:
        return _PersonLevel(self.name, self.cols, self.rows)


@dataclass(frozen=True)
class _SparseLevel:
    """Non-negative costs on a few cells (recent repeats), zero elsewhere."""

    name: str
    shape: tuple[int, int]
    row_idx: IntArray
    col_idx: IntArray
    values: IntArray

    def spread(self, pairs: int) -> int:
        # Costs are non-negative: the highest total is at most the `pairs`
        # largest row (or column) maxima, the lowest at least zero.
        return min(
            _largest_sum(self._worst(self.row_idx, self.shape[0]), pairs),
            _largest_sum(self._worst(self.col_idx, self.shape[1]), pairs),
        )

    def magnitude(self, dummies: bool) -> int:
        return int(self._worst(self.row_idx, self.shape[0]).sum())

    def _worst(self, index: IntArray, size: int) -> IntArray:
        worst = np.zeros(size, dtype=np.int64)
        np.maximum.at(worst, index, self.values)
        return worst

    def bases(self, weight: float) -> tuple[FloatArray, FloatArray] | None:
        return None

    def table(self, weight: float) -> tuple[IntArray, IntArray, FloatArray] | None:
        return None

    def add_to(self, block: FloatArray, weight: float, order: _Order) -> None:
        rows, cols = order.row_at[self.row_idx], order.col_at[self.col_idx]
        block[rows, cols] += weight * self.values.astype(np.float64)

    def cells(self) -> tuple[IntArray, IntArray, IntArray] | None:
        return self.row_idx, self.col_idx, self.values

    def floor(self, pairs: int) -> int:
        return 0

    def total(self, rows: IntArray, cols: IntArray) -> int:
        width = self.shape[1]
        hit = np.isin(self.row_idx * width + self.col_idx, rows * width + cols)
        return int(self.values[hit].sum())

    def transposed(self) -> _Level:
        shape = (self.shape[1], self.shape[0])
        return _SparseLevel(self.name, shape, self.col_idx, self.row_idx, self.values)


@dataclass(frozen=True)
class _ClashLevel:
    """Cost 1 where row and column carry the same non-zero code."""

    name: str
    rows: IntArray
    cols: IntArray

    def spread(self, pairs: int) -> int:
        in_rows = np.unique(self.rows[self.rows != 0])
        in_cols = np.unique(self.cols[self.cols != 0])
        return min(
            pairs, int(np.isin(self.rows, in_cols).sum()), int(np.isin(self.cols, in_rows).sum())
        )

    def magnitude(self, dummies: bool) -> int:
        present = np.unique(self.cols[self.cols != 0])
        return int(np.isin(self.rows, present).sum())

    def bases(self, weight: float) -> tuple[FloatArray, FloatArray] | None:
        return None

    def table(self, weight: float) -> tuple[IntArray, IntArray, FloatArray] | None:
        # Codes are small (0 = no role yet, which never clashes).
        size = int(max(self.rows.max(initial=0), self.cols.max(initial=0))) + 1
        clash = np.eye(size) * weight
        clash[0, 0] = 0.0
        return self.rows, self.cols, clash

    def add_to(self, block: FloatArray, weight: float, order: _Order) -> None:
        pass

    def cells(self) -> tuple[IntArray, IntArray, IntArray] | None:
        return _NO_CELLS

    def floor(self, pairs: int) -> int:
        return 0

    def total(self, rows: IntArray, cols: IntArray) -> int:
        codes = self.rows[rows]
        return int(((codes == self.cols[cols]) & (codes != 0)).sum())

    def transposed(self) -> _Level:
        return _ClashLevel(self.name, self.cols, self.rows)


@dataclass(frozen=True)
class _DenseLevel:
    name: str
    values: IntArray

    def spread(self, pairs: int) -> int:
        high, low = self.values.max(axis=1), self.values.min(axis=1)
        if pairs < len(self.values):  # some rows take a dummy cell
            high, low = np.maximum(high, 0), np.minimum(low, 0)
        return int((high - low).sum())

    def magnitude(self, dummies: bool) -> int:
        return int(np.abs(self.values).max(axis=1).sum())

    def bases(self, weight: float) -> tuple[FloatArray, FloatArray] | None:
        return None

    def table(self, weight: float) -> tuple[IntArray, IntArray, FloatArray] | None:
        return None

    def add_to(self, block: FloatArray, weight: float, order: _Order) -> None:
        block += weight * self.values[np.ix_(order.rows, order.cols)].astype(np.float64)

    def cells(self) -> tuple[IntArray, IntArray, IntArray] | None:
        return None

    def floor(self, pairs: int) -> int:
        return -_largest_sum(np.maximum(-self.values.min(axis=1), 0), pairs)

    def total(self, rows: IntArray, cols: IntArray) -> int:
        return int(self.values[rows, cols].sum())

    def transposed(self) -> _Level:
        return _DenseLevel(self.name, np.ascontiguousarray(self.values.T))


_NO_CELLS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _largest_sum(values: IntArray, count: int) -> int:
    """The largest sum of `count` of the values."""
    return int(np.sort(values)[len(values) - count :].sum()) if count else 0


def _swing(values: IntArray, count: int) -> int:
    """Largest minus smallest possible sum of `count` of the values."""
    return _largest_sum(values, count) + _largest_sum(-values, count)


def _lexicographic_weights(
    levels: Sequence[_Level], pairs: int, dummies: bool
) -> tuple[list[_Level], list[float], tuple[str, ...]]:
    """Weights making each level outrank all lower ones; drop the lowest if too fine."""
    kept = list(levels)
    while kept:
        weights: list[int] = []
        lower = 0
        for level in reversed(kept):
            weight = lower + 1
            weights.append(weight)
            lower += weight * level.spread(pairs)
        weights.reverse()
        total = sum(w * level.magnitude(dummies) for w, level in zip(weights, kept, strict=True))
        if total <= _EXACT_LIMIT:
            relaxed = tuple(level.name for level in levels[len(kept) :])
            return kept, [float(w) for w in weights], relaxed
        kept.pop()
    return [], [], tuple(level.name for level in levels)


def _max_matching_size(row_group: IntArray, col_group: IntArray, ok: BoolArray) -> int:
    """Most pairs the hard rules allow: a max flow between groups of interchangeable people."""
    row_counts = np.bincount(row_group, minlength=ok.shape[0])
    col_counts = np.bincount(col_group, minlength=ok.shape[1])
    n_rows, n_cols = ok.shape
    source, sink = 0, 1 + n_rows + n_cols
    gr, gc = np.nonzero(ok & (row_counts > 0)[:, None] & (col_counts > 0)[None, :])
    heads = np.concatenate([np.zeros(n_rows, np.int64), 1 + gr, 1 + n_rows + np.arange(n_cols)])
    tails = np.concatenate([1 + np.arange(n_rows), 1 + n_rows + gc, np.full(n_cols, sink)])
    capacity = np.concatenate([row_counts, np.full(len(gr), len(row_group)), col_counts]).astype(
        np.int32
    )
    graph = csr_array((capacity, (heads, tails)), shape=(sink + 1, sink + 1))
    return int(maximum_flow(graph, source, sink).flow_value)


def _assign(
    row_group: IntArray, col_group: IntArray, ok: BoolArray, levels: Sequence[_Level]
) -> tuple[list[tuple[int, int]], tuple[str, ...]]:
    """Optimal (row, column) pairs for the lexicographic objective of `levels`."""
    n, m = len(row_group), len(col_group)
    if n == 0 or m == 0:
        return [], ()
    if n > m:
        flipped, names = _assign(col_group, row_group, ok.T, [lv.transposed() for lv in levels])
        return [(r, c) for c, r in flipped], names
    most = _max_matching_size(row_group, col_group, ok)
    if most == 0:
        return [], ()
    solved: tuple[IntArray, IntArray] | None = None
    order: _Order | None = None
    relaxed: tuple[str, ...] = ()
    if n * m > _SPARSE_FIRST_CELLS:
        # First without any recent pair: when that plan is proved optimal on
        # the other levels, no repeat was avoidable, and the weights stay
        # small because the repeat level is not among them.
        repeats = [lv.cells() for lv in levels if isinstance(lv, _SparseLevel)]
        if repeats:
            problem, _ = _prepare(
                row_group, col_group, ok, [lv for lv in levels if not isinstance(lv, _SparseLevel)],
                levels, most, _cells_of(repeats),
            )  # fmt: skip
            solved, order = _certified(problem, most, widest=False)
        if solved is None:
            problem, relaxed = _prepare(row_group, col_group, ok, levels, levels, most, None)
            solved, order = _certified(problem, most, widest=n * m > _DENSE_CELLS)
            if solved is not None:
                # A proof covers every level, even those too fine for the weights.
                found = _unproven(problem, solved, most)
                named = tuple(f"{name} (best among candidates)" for name in found)
                relaxed = relaxed + named if found else ()
    if solved is None and n * m <= _DENSE_CELLS:
        problem, relaxed = _prepare(
            row_group, col_group, ok, levels, levels, most, None, blocks=False
        )
        solved, order = _solve_dense(problem), problem.order
    if solved is None or order is None:
        raise RuntimeError("no plan reaches the most pairs the working hours allow")
    rows, cols = solved
    real = cols < m
    matched_rows = order.rows[rows[real]].tolist()
    matched_cols = order.cols[cols[real]].tolist()
    return list(zip(matched_rows, matched_cols, strict=True)), relaxed


def _cells_of(
    levels_cells: list[tuple[IntArray, IntArray, IntArray] | None],
) -> tuple[IntArray, IntArray]:
    parts = [cells for cells in levels_cells if cells is not None]
    rows = np.concatenate([r[v > 0] for r, _, v in parts])
    cols = np.concatenate([c[v > 0] for _, c, v in parts])
    return rows, cols


def _prepare(
    row_group: IntArray,
    col_group: IntArray,
    ok: BoolArray,
    levels: Sequence[_Level],
    checked: Sequence[_Level],
    most: int,
    forbidden: tuple[IntArray, IntArray] | None,
    *,
    blocks: bool = True,
) -> tuple[_Problem, tuple[str, ...]]:
    """The weighted problem for `levels`, with the names of levels too fine to keep.

    Columns are sorted by code so that blocks of interchangeable people are
    contiguous; rows too with `blocks` (for candidates). The dense solver
    keeps the rows in their shuffled order, on which it is several times
    faster than on sorted rows.
    """
    n, m = len(row_group), len(col_group)
    dummies = n - most
    kept, weights, relaxed = _lexicographic_weights(levels, most, dummies > 0)
    row_base, col_base = np.zeros(n), np.zeros(m)
    # Cells whose cost depends only on a row code and a column code (zone
    # groups, role codes) are folded into one small table over combined codes.
    row_key, col_key = row_group, col_group
    small: FloatArray = np.where(ok, 0.0, np.inf)
    for level, weight in zip(kept, weights, strict=True):
        parts = level.bases(weight)
        if parts is not None:
            row_base += parts[0]
            col_base += parts[1]
        coded = level.table(weight)
        if coded is not None:
            rc, cc, tab = coded
            row_key = row_key * tab.shape[0] + rc
            col_key = col_key * tab.shape[1] + cc
            small = (small[:, None, :, None] + tab[None, :, None, :]).reshape(
                small.shape[0] * tab.shape[0], small.shape[1] * tab.shape[1]
            )
    order = _block_order(row_key, col_key, sort_rows=blocks)
    problem = _Problem(
        row_key[order.rows], col_key[order.cols], small,
        row_base[order.rows], col_base[order.cols], dummies, order, kept, weights,
        list(checked), forbidden,
    )  # fmt: skip
    return problem, relaxed


def _certified(
    problem: _Problem, most: int, *, widest: bool
) -> tuple[tuple[IntArray, IntArray] | None, _Order]:
    """A candidate plan proved optimal, widening the candidates; or, if `widest`, the last one."""
    for count in _CANDIDATES:
        last = widest and count == _CANDIDATES[-1]
        solved = _solve_sparse(problem, most, count, all_dummies=last)
        if solved is not None and (last or not _unproven(problem, solved, most)):
            return solved, problem.order
    return None, problem.order


def _unproven(problem: _Problem, solved: tuple[IntArray, IntArray], most: int) -> tuple[str, ...]:
    """Levels from the first whose total is above its lower bound: not proved optimal."""
    rows, cols = solved
    real = cols < problem.shape[1]
    original = problem.order.rows[rows[real]], problem.order.cols[cols[real]]
    for k, level in enumerate(problem.checked):
        if level.total(*original) > level.floor(most):
            return tuple(lv.name for lv in problem.checked[k:])
    return ()


@dataclass(frozen=True)
class _Problem:
    """One assignment, rows and columns laid out in block order."""

    row_key: IntArray
    col_key: IntArray
    small: FloatArray  # cost by (row code, column code); inf where the hours rule it out
    row_base: FloatArray
    col_base: FloatArray
    dummies: int
    order: _Order
    levels: list[_Level]
    weights: list[float]
    checked: list[_Level]  # every level of the objective, for the proof
    forbidden: tuple[IntArray, IntArray] | None  # (row, column) cells left out of candidates

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_key), len(self.col_key)

    def col_blocks(self) -> list[tuple[int, int]]:
        """Runs of equal column codes (contiguous in block order)."""
        starts = np.flatnonzero(np.diff(self.col_key, prepend=-1))
        ends = np.append(starts[1:], len(self.col_key))
        return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _solve_dense(problem: _Problem) -> tuple[IntArray, IntArray]:
    n, m = problem.shape
    # Whole-matrix passes are the cost of a large round: one pass writes
    # every real cell, column block by column block (same code, same table
    # column), then the few cells with a level of their own are added.
    cost = np.empty((n, m + problem.dummies), dtype=np.float64)
    cost[:, m:] = 0.0
    for c0, c1 in problem.col_blocks():
        rows_term = problem.row_base + problem.small[problem.row_key, problem.col_key[c0]]
        np.add(rows_term[:, None], problem.col_base[None, c0:c1], out=cost[:, c0:c1])
    block = cost[:, :m]
    for level, weight in zip(problem.levels, problem.weights, strict=True):
        level.add_to(block, weight, problem.order)
    rows, cols = linear_sum_assignment(cost)
    return rows, cols


def _solve_sparse(
    problem: _Problem, most: int, count: int, *, all_dummies: bool
) -> tuple[IntArray, IntArray] | None:
    """Solve on candidate partners (see `_unproven` for the proof of optimality).

    Each row gets `count` columns of every column block its hours allow
    (rotating through the block so rows share the load), plus its recent
    partners, plus dummies. The proof: each level's total equals a lower
    bound over every assignment with `most` pairs (no repeat, no role clash,
    as many flagged people seated as `most` pairs can seat), so nothing
    outside the candidates can beat it. None if the candidates allow fewer
    pairs.
    """
    n, m = problem.shape
    sparse = [level.cells() for level in problem.levels]
    if any(cells is None for cells in sparse):
        return None
    r_parts: list[IntArray] = []
    c_parts: list[IntArray] = []
    positions = np.arange(n, dtype=np.int64)
    for c0, c1 in problem.col_blocks():
        size = c1 - c0
        reach = positions[np.isfinite(problem.small[problem.row_key, problem.col_key[c0]])]
        take = min(count, size)
        offsets = (reach * take)[:, None] + np.arange(take)[None, :]
        r_parts.append(np.repeat(reach, take))
        c_parts.append((c0 + offsets % size).ravel())
    for cells in sparse:
        assert cells is not None
        if len(cells[0]):
            r_parts.append(problem.order.row_at[cells[0]])
            c_parts.append(problem.order.col_at[cells[1]])
    r_all, c_all = np.concatenate(r_parts), np.concatenate(c_parts)
    cell = np.sort(r_all * m + c_all)
    cell = cell[np.diff(cell, prepend=-1) != 0]
    if problem.forbidden is not None:
        rows_out, cols_out = problem.forbidden
        banned = problem.order.row_at[rows_out] * m + problem.order.col_at[cols_out]
        cell = cell[~np.isin(cell, banned)]
    r_all, c_all = cell // m, cell % m
    cost = (
        problem.row_base[r_all]
        + problem.small[problem.row_key[r_all], problem.col_key[c_all]]
        + problem.col_base[c_all]
    )
    for cells, weight in zip(sparse, problem.weights, strict=True):
        assert cells is not None
        if len(cells[0]):
            at = np.searchsorted(
                cell, problem.order.row_at[cells[0]] * m + problem.order.col_at[cells[1]]
            )
            np.add.at(cost, at, weight * cells[2].astype(np.float64))
    feasible = np.isfinite(cost)
    r_all, c_all, cost = r_all[feasible], c_all[feasible], cost[feasible]
    d = problem.dummies
    if d:
        per_row = d if all_dummies else min(d, count)
        dummy = (positions * per_row)[:, None] + np.arange(per_row)[None, :]
        r_all = np.concatenate([r_all, np.repeat(positions, per_row)])
        c_all = np.concatenate([c_all, m + (dummy % d).ravel()])
        cost = np.concatenate([cost, np.zeros(n * per_row)])
    # Costs are whole numbers; the solver needs non-zero weights, and a half
    # added to every edge keeps them exact and the optimum unchanged (every
    # full matching has n edges).
    graph = csr_array((cost + 0.5, (r_all, c_all)), shape=(n, m + d))
    try:
        rows, cols = min_weight_full_bipartite_matching(graph)
    except ValueError:
        return None
    return rows, cols


def _block_order(row_key: IntArray, col_key: IntArray, *, sort_rows: bool = True) -> _Order:
    """Rows and columns sorted by code (stable, so the seeded shuffle still breaks ties)."""
    rows = np.argsort(row_key, kind="stable") if sort_rows else np.arange(len(row_key))
    cols = np.argsort(col_key, kind="stable")
    row_at = np.empty_like(rows)
    row_at[rows] = np.arange(len(rows))
    col_at = np.empty_like(cols)
    col_at[cols] = np.arange(len(cols))
    return _Order(rows, cols, row_at, col_at)


# --- the round's stages -----------------------------------------------------


def _match_pairs(
    team_a: list[Candidate],
    team_b: list[Candidate],
    history: Mapping[frozenset[int], int],
    zones: _ZoneTable,
    window: int,
) -> tuple[list[tuple[Candidate, Candidate]], tuple[str, ...]]:
    def flags(members: list[Candidate], attr: str) -> IntArray:
        return np.fromiter((bool(getattr(c, attr)) for c in members), np.int64, len(members))

    def roles(members: list[Candidate]) -> IntArray:
        return np.fromiter((_role_code(c.last_role) for c in members), np.int64, len(members))

    rows = {c.member_id: i for i, c in enumerate(team_a)}
    cols = {c.member_id: j for j, c in enumerate(team_b)}
    ri, ci, pen = _history_entries(history, window, rows, cols)
    levels: list[_Level] = [
        _SparseLevel("repeats", (len(team_a), len(team_b)), ri, ci, pen),
        _PersonLevel("never_tied", 1 - flags(team_a, "has_cross_team_tie"),
                     1 - flags(team_b, "has_cross_team_tie")),
        _PersonLevel("sat_out", flags(team_a, "sat_out_last_round"),
                     flags(team_b, "sat_out_last_round")),
        _ClashLevel("role_alternation", roles(team_a), roles(team_b)),
    ]  # fmt: skip
    matched, relaxed = _assign(zones.groups(team_a), zones.groups(team_b), zones.ok, levels)
    return [(team_a[r], team_b[c]) for r, c in matched], relaxed


def _assign_roles(
    pairs: list[tuple[Candidate, Candidate]], team_a: int, share_a: float, rng: random.Random
) -> list[tuple[Candidate, list[Candidate]]]:
    """(host, [shadower]) per pair: turns first, then host bias for pairs with no turn due."""
    oriented: list[tuple[Candidate, list[Candidate]]] = []
    undecided: list[tuple[Candidate, Candidate]] = []
    for a, b in pairs:
        turn = _wants_to_host(a) - _wants_to_host(b)
        if turn > 0:
            oriented.append((a, [b]))
        elif turn < 0:
            oriented.append((b, [a]))
        else:
            undecided.append((a, b))
    hosted_by_a = sum(host.team_id == team_a for host, _ in oriented)
    wanted = round(share_a * len(pairs)) - hosted_by_a
    a_hosts = min(max(wanted, 0), len(undecided))
    rng.shuffle(undecided)
    for k, (a, b) in enumerate(undecided):
        oriented.append((a, [b]) if k < a_hosts else (b, [a]))
    return oriented


def _add_trios(
    oriented: list[tuple[Candidate, list[Candidate]]],
    eligible: Mapping[int, list[Candidate]],
    history: Mapping[frozenset[int], int],
    zones: _ZoneTable,
    window: int,
) -> tuple[list[tuple[Candidate, list[Candidate]]], tuple[str, ...]]:
    """Seat left-out members as a second shadower of a pair hosted by the other team."""
    seated = {c.member_id for host, rest in oriented for c in (host, *rest)}
    extras = [c for members in eligible.values() for c in members if c.member_id not in seated]
    if not extras or not oriented:
        return oriented, ()
    team_of = {c.member_id: c.team_id for members in eligible.values() for c in members}
    pair_of = {c.member_id: k for k, (host, rest) in enumerate(oriented) for c in (host, *rest)}
    combos: dict[tuple[int, int], int] = {}
    pair_group = np.fromiter(
        (
            combos.setdefault((zones.index[host.tz], zones.index[rest[0].tz]), len(combos))
            for host, rest in oriented
        ),
        np.int64,
        len(oriented),
    )
    combo_zones = np.array(list(combos), dtype=np.int64).reshape(-1, 2)
    ok = zones.ok[:, combo_zones[:, 0]] & zones.ok[:, combo_zones[:, 1]]

    rows = {c.member_id: i for i, c in enumerate(extras)}
    ri, ci, pen = _history_entries(history, window, rows, pair_of, team_of)
    # The extra always shadows: the pair's host must be from the other team,
    # which swaps a pair whose roles were someone's turn; an extra whose turn
    # was to host loses it.
    host_team = np.array([host.team_id for host, _ in oriented], dtype=np.int64)
    turn_due = np.array(
        [_wants_to_host(host) != _wants_to_host(rest[0]) for host, rest in oriented],
        dtype=np.int64,
    )
    extra_team = np.array([c.team_id for c in extras], dtype=np.int64)
    swap = (extra_team[:, None] == host_team[None, :]) * turn_due[None, :]
    missed_turn = np.array([_wants_to_host(c) > 0 for c in extras], dtype=np.int64)
    no_pairs = np.zeros(len(oriented), dtype=np.int64)
    levels: list[_Level] = [
        _SparseLevel("repeats", (len(extras), len(oriented)), ri, ci, pen),
        _PersonLevel("never_tied",
                     np.array([not c.has_cross_team_tie for c in extras], np.int64), no_pairs),
        _PersonLevel("sat_out",
                     np.array([c.sat_out_last_round for c in extras], np.int64), no_pairs),
        _DenseLevel("role_alternation", swap + missed_turn[:, None]),
    ]  # fmt: skip
    matched, relaxed = _assign(zones.groups(extras), pair_group, ok, levels)
    grown = [(host, list(rest)) for host, rest in oriented]
    for r, c in matched:
        extra = extras[r]
        host, rest = grown[c]
        if host.team_id == extra.team_id:
            host, rest = rest[0], [host]
        grown[c] = (host, [*rest, extra])
    return grown, relaxed


# --- telling people why -----------------------------------------------------


def _why_left_out(
    partners_exist: bool,
    partner_in_hours: bool,
    surplus: int,
    own_team: str,
    other_team: str,
    settings: PairingSettings,
    round_date: date,
) -> tuple[UnpairedReason, str]:
    if not partners_exist:
        return UnpairedReason.PARTNER_TEAM_EMPTY, f"nobody in {other_team} is available this round"
    if not partner_in_hours:
        hours = _format_duration(settings.min_overlap)
        return (
            UnpairedReason.NO_OVERLAP,
            f"nobody in {other_team} shares {hours} of working hours with you "
            f"on {round_date.isoformat()}",
        )
    if surplus > 0:
        people = "person" if surplus == 1 else "people"
        return (
            UnpairedReason.TEAMS_UNEQUAL,
            f"teams are unequal: {surplus:,} more {people} in {own_team} than {other_team}; "
            "you will be paired first next round",
        )
    return (
        UnpairedReason.NO_FREE_PARTNER,
        f"everyone in {other_team} whose working hours overlap yours is paired this round; "
        "you will be paired first next round",
    )


def _format_duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"
