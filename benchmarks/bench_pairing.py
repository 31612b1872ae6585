"""Shadowing matcher at organisation scale, against a random baseline.

Simulates weekly rounds between two teams (default 6,000 and 4,000 people
across 40 time zones). Every round feeds its own plan back as the next
round's history, last roles, sat-out flags and cross-team ties, so rounds
1..R build the history the later rounds are matched against. Every round runs
the full matcher: nothing is simulated more cheaply.

The baseline pairs at random across teams, ignoring history, roles and
priorities; it still respects eligibility and working hours, so the two are
compared on the same feasible pairs. Both policies run on identical members
and absences, each with its own history.

Repeats: every pair met within the recency window is counted. With
thousands of feasible partners per person and at most 12 recent ones, an
avoiding assignment always exists here, so every repeat counted would be an
avoidable one; the matcher must report 0.

Round 1 seats at most 4,000 of ~4,800 never-tied Marketing people, which
caps the overall never-tied figure; the line "from round 2 on" shows the
steady state. Host share: roles alternate first and the host bias only
settles pairs where no turn is due, so once everyone has a role the share
stays near 50 %.

Anchor: beside the rounds, one bare `scipy.optimize.linear_sum_assignment`
of the same size (eligible people of the smaller team x the larger team,
random whole-number costs 0-999) is timed every ten rounds in the same run,
so a loaded machine slows both. Scale: one more round (cold, then again with
that round as history) at `--scale-members`, with its peak memory, traced
(Python and numpy allocations) and resident (the whole process, which also
holds the 10,000-member simulation).

By default the sizes are reduced (2,000 members, 8 rounds, a 20,000-member
scale round) so CI can run it as a smoke test; `--full` runs 10,000 members
for 52 rounds and a 100,000-member scale round.

Run: .venv/bin/python benchmarks/bench_pairing.py [--full] [--members N] [--rounds R]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy.optimize import linear_sum_assignment

from rituals.pairing import (
    Candidate,
    Pairing,
    PairingSettings,
    Role,
    RoundPlan,
    Unpaired,
    UnpairedReason,
    ineligibility,
    plan_round,
)
from rituals.working_hours import overlap

MARKETING, IT = 1, 2
FIRST_ROUND = date(2025, 1, 6)
TIE_ROUNDS = 13  # a cross-team tie lasts about 90 days of weekly rounds
HOST_BIAS = {MARKETING: 0.6, IT: 0.4}  # Marketing took more than it gave last month

# (zone, weight in Marketing, weight in IT): 40 zones, most people in a few.
ZONES: list[tuple[str, int, int]] = [
    ("Europe/London", 14, 8), ("Europe/Berlin", 12, 10), ("Europe/Paris", 8, 4),
    ("Europe/Madrid", 5, 3), ("Europe/Amsterdam", 4, 3), ("Europe/Stockholm", 2, 2),
    ("Europe/Warsaw", 2, 6), ("Europe/Kyiv", 1, 5), ("Europe/Istanbul", 1, 2),
    ("Europe/Lisbon", 2, 2), ("Europe/Dublin", 3, 2), ("Europe/Zurich", 2, 2),
    ("America/New_York", 14, 8), ("America/Chicago", 6, 4), ("America/Denver", 2, 2),
    ("America/Los_Angeles", 8, 6), ("America/Toronto", 3, 2), ("America/Mexico_City", 2, 1),
    ("America/Sao_Paulo", 3, 3), ("America/Bogota", 1, 2), ("America/Argentina/Buenos_Aires", 1, 2),
    ("America/Halifax", 1, 1), ("America/Phoenix", 1, 1), ("Pacific/Honolulu", 1, 1),
    ("Asia/Kolkata", 2, 12), ("Asia/Singapore", 2, 3), ("Asia/Tokyo", 2, 2),
    ("Asia/Shanghai", 1, 2), ("Asia/Dubai", 1, 2), ("Asia/Manila", 1, 3),
    ("Asia/Jakarta", 1, 1), ("Asia/Seoul", 1, 1), ("Asia/Karachi", 1, 2),
    ("Asia/Kathmandu", 1, 1), ("Australia/Sydney", 2, 1), ("Australia/Perth", 1, 1),
    ("Pacific/Auckland", 1, 1), ("Africa/Lagos", 1, 2), ("Africa/Johannesburg", 1, 1),
    ("Africa/Cairo", 1, 2),
]  # fmt: skip


@dataclass(frozen=True)
class Member:
    member_id: int
    team_id: int
    tz: str
    active: bool
    opted_out: bool


@dataclass
class Memory:
    """What one policy remembers from its own past rounds."""

    last_met: dict[frozenset[int], int] = field(default_factory=dict)
    last_paired: dict[int, int] = field(default_factory=dict)
    last_role: dict[int, Role] = field(default_factory=dict)
    sat_out: set[int] = field(default_factory=set)


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    anchor_seconds: list[float] = field(default_factory=list)
    pairs: int = 0
    relaxed_rounds: int = 0
    repeats: int = 0
    never_tied: int = 0
    never_tied_paired: int = 0
    never_tied_later: int = 0
    never_tied_later_paired: int = 0
    sat_out_again: int = 0
    role_turns: int = 0
    role_turns_kept: int = 0
    hosts_by_team: dict[int, int] = field(default_factory=lambda: {MARKETING: 0, IT: 0})


Policy = Callable[[list[Candidate], dict[frozenset[int], int], date, int], RoundPlan]


def make_members(count: int, rng: random.Random) -> list[Member]:
    marketing = count * 6 // 10
    members = []
    for member_id in range(1, count + 1):
        team = MARKETING if member_id <= marketing else IT
        weights = [w_mkt if team == MARKETING else w_it for _, w_mkt, w_it in ZONES]
        tz = rng.choices([z for z, _, _ in ZONES], weights)[0]
        members.append(Member(member_id, team, tz, rng.random() > 0.01, rng.random() < 0.03))
    return members


def candidates_for(
    members: Sequence[Member],
    memory: Memory,
    round_no: int,
    round_date: date,
    away: dict[int, date],
    early_ties: set[int],
) -> list[Candidate]:
    out = []
    for m in members:
        last = memory.last_paired.get(m.member_id)
        tied = (last is not None and round_no - last <= TIE_ROUNDS) or (
            m.member_id in early_ties and round_no <= TIE_ROUNDS
        )
        out.append(
            Candidate(
                member_id=m.member_id,
                team_id=m.team_id,
                tz=m.tz,
                active=m.active,
                opted_out=m.opted_out,
                away_until=away.get(m.member_id),
                last_role=memory.last_role.get(m.member_id),
                sat_out_last_round=m.member_id in memory.sat_out,
                has_cross_team_tie=tied,
            )
        )
    return out


def random_baseline(settings: PairingSettings) -> Policy:
    """Random cross-team pairs within working hours, blind to history and priorities."""

    def policy(
        candidates: list[Candidate], history: dict[frozenset[int], int], day: date, seed: int
    ) -> RoundPlan:
        del history
        rng = random.Random(seed)
        eligible = [c for c in candidates if ineligibility(c, day) is None]
        pools: dict[str, list[int]] = {}
        for c in eligible:
            if c.team_id == MARKETING:
                pools.setdefault(c.tz, []).append(c.member_id)
        for pool in pools.values():
            rng.shuffle(pool)
        zones = sorted(pools)
        fits = {
            tz: [
                z
                for z in zones
                if overlap(tz, z, day, settings.workday_start, settings.workday_end)
                >= settings.min_overlap
            ]
            for tz in {c.tz for c in eligible}
        }
        it = [c for c in eligible if c.team_id == IT]
        rng.shuffle(it)
        pairs = []
        for c in it:
            open_zones = [z for z in fits[c.tz] if pools[z]]
            if not open_zones:
                continue
            zone = rng.choices(open_zones, [len(pools[z]) for z in open_zones])[0]
            partner = pools[zone].pop()
            host, shadower = (
                (c.member_id, partner) if rng.random() < 0.5 else (partner, c.member_id)
            )
            pairs.append(Pairing(host, (shadower,)))
        seated = {m for p in pairs for m in p.members}
        left = [
            Unpaired(c.member_id, UnpairedReason.NO_FREE_PARTNER, "")
            for c in eligible
            if c.member_id not in seated
        ]
        return RoundPlan(pairs=pairs, unpaired=left)

    return policy


def matcher(settings: PairingSettings) -> Policy:
    def policy(
        candidates: list[Candidate], history: dict[frozenset[int], int], day: date, seed: int
    ) -> RoundPlan:
        return plan_round(
            candidates,
            history,
            HOST_BIAS,
            settings,
            day,
            seed,
            teams=(MARKETING, IT),
            team_names={MARKETING: "Marketing", IT: "IT"},
        )

    return policy


def run(
    name: str,
    policy: Policy,
    members: Sequence[Member],
    rounds: int,
    settings: PairingSettings,
    absences: list[dict[int, date]],
    early_ties: set[int],
    anchor: bool = False,
) -> Tally:
    memory = Memory()
    tally = Tally()
    window = settings.recency_window
    team_of = {m.member_id: m.team_id for m in members}
    for round_no in range(1, rounds + 1):
        day = FIRST_ROUND + timedelta(weeks=round_no - 1)
        candidates = candidates_for(
            members, memory, round_no, day, absences[round_no - 1], early_ties
        )
        history = {
            key: round_no - met for key, met in memory.last_met.items() if round_no - met <= window
        }
        started = time.perf_counter()
        result = policy(candidates, history, day, round_no)
        tally.seconds.append(time.perf_counter() - started)
        tally.relaxed_rounds += bool(result.relaxed_levels)

        by_id = {c.member_id: c for c in candidates}
        eligible = [c for c in candidates if ineligibility(c, day) is None]
        if anchor and (round_no == 1 or round_no % 10 == 0 or round_no == rounds):
            tally.anchor_seconds.append(bare_assignment(eligible, round_no))
        seated = {m for p in result.pairs for m in p.members}
        tally.pairs += len(result.pairs)
        never = [c for c in eligible if not c.has_cross_team_tie]
        tally.never_tied += len(never)
        tally.never_tied_paired += sum(c.member_id in seated for c in never)
        if round_no > 1:
            tally.never_tied_later += len(never)
            tally.never_tied_later_paired += sum(c.member_id in seated for c in never)
        tally.sat_out_again += sum(
            c.sat_out_last_round and c.member_id not in seated for c in eligible
        )
        for p in result.pairs:
            tally.hosts_by_team[team_of[p.host]] += 1
            for shadower in p.shadowers:
                if pair_key(p.host, shadower) in history:
                    tally.repeats += 1
            for member, role in [(p.host, Role.HOST)] + [(s, Role.SHADOWER) for s in p.shadowers]:
                previous = by_id[member].last_role
                if previous is not None:
                    tally.role_turns += 1
                    tally.role_turns_kept += previous is not role
                memory.last_role[member] = role
                memory.last_paired[member] = round_no
            for shadower in p.shadowers:
                memory.last_met[pair_key(p.host, shadower)] = round_no
        memory.sat_out = {c.member_id for c in eligible if c.member_id not in seated}
        memory.last_met = {k: v for k, v in memory.last_met.items() if round_no - v < window}
        if round_no == 1 or round_no % 10 == 0 or round_no == rounds:
            print(
                f"  {name} round {round_no:>2}: {len(result.pairs):,} pairs, "
                f"{tally.seconds[-1]:.2f} s",
                flush=True,
            )
    return tally


def pair_key(a: int, b: int) -> frozenset[int]:
    return frozenset((a, b))


def bare_assignment(eligible: Sequence[Candidate], seed: int) -> float:
    """Seconds for one bare assignment of the round's size: the anchor."""
    sizes = sorted(sum(c.team_id == team for c in eligible) for team in (MARKETING, IT))
    costs = np.random.default_rng(seed).integers(0, 1000, size=sizes).astype(np.float64)
    started = time.perf_counter()
    linear_sum_assignment(costs)
    return time.perf_counter() - started


def scale_round(count: int, settings: PairingSettings, seed: int) -> None:
    """One round at `count` members, cold and then with that round as history."""
    rng = random.Random(seed)
    members = make_members(count, rng)
    away = {m.member_id: FIRST_ROUND + timedelta(days=rng.randint(0, 13)) for m in members
            if rng.random() < 0.05}  # fmt: skip
    early_ties = {m.member_id for m in members if rng.random() < 0.2}
    memory = Memory()
    policy = matcher(settings)
    for round_no in (1, 2):
        day = FIRST_ROUND + timedelta(weeks=round_no - 1)
        candidates = candidates_for(members, memory, round_no, day, away, early_ties)
        history = {key: round_no - met for key, met in memory.last_met.items()}
        started = time.perf_counter()
        result = policy(candidates, history, day, round_no)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        policy(candidates, history, day, round_no)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        seated = {m for p in result.pairs for m in p.members}
        repeats = sum(pair_key(p.host, p.shadowers[0]) in history for p in result.pairs)
        if repeats:
            raise SystemExit("the matcher repeated a recent pair it could have avoided")
        print(
            f"  scale round {round_no} ({'cold' if round_no == 1 else 'with history'}, "
            f"{len(history):,} recent pairs): {len(result.pairs):,} pairs in {seconds:.2f} s, "
            f"peak traced {peak / 2**20:,.0f} MiB, {repeats} repeats, "
            f"relaxed {list(result.relaxed_levels) or 'none'}",
            flush=True,
        )
        for p in result.pairs:
            memory.last_met[pair_key(p.host, p.shadowers[0])] = round_no
            memory.last_paired[p.host] = memory.last_paired[p.shadowers[0]] = round_no
            memory.last_role[p.host], memory.last_role[p.shadowers[0]] = Role.HOST, Role.SHADOWER
        memory.sat_out = {c.member_id for c in candidates if c.member_id not in seated}


def report(name: str, tally: Tally, rounds: int) -> None:
    times = sorted(tally.seconds)
    hosts = tally.hosts_by_team
    total_hosts = max(1, sum(hosts.values()))
    print(f"{name}:")
    print(
        f"  time per round: median {statistics.median(times):.3f} s, "
        f"p90 {times[int(0.9 * (len(times) - 1))]:.3f} s, max {times[-1]:.3f} s"
    )
    if tally.anchor_seconds:
        anchor = statistics.median(tally.anchor_seconds)
        print(
            f"  anchor, one bare linear_sum_assignment of the same size: median {anchor:.3f} s "
            f"over {len(tally.anchor_seconds)} runs; round / anchor "
            f"{statistics.median(times) / anchor:.1f}x"
        )
    print(f"  pairs per round: {tally.pairs / rounds:,.0f}")
    print(f"  rounds where a low priority level was relaxed: {tally.relaxed_rounds}")
    print(f"  repeats within the recency window: {tally.repeats:,}")
    share = tally.never_tied_paired / max(1, tally.never_tied)
    print(
        f"  never-tied people paired: {share:.1%} "
        f"({tally.never_tied_paired:,} of {tally.never_tied:,} person-rounds)"
    )
    later = tally.never_tied_later_paired / max(1, tally.never_tied_later)
    print(
        f"  ... from round 2 on: {later:.1%} "
        f"({tally.never_tied_later_paired:,} of {tally.never_tied_later:,})"
    )
    print(f"  eligible people who sat out twice in a row: {tally.sat_out_again:,}")
    alternated = tally.role_turns_kept / max(1, tally.role_turns)
    print(f"  role alternated when a previous role existed: {alternated:.1%}")
    print(
        f"  hosts from Marketing: {hosts[MARKETING] / total_hosts:.1%} "
        f"(host bias {HOST_BIAS[MARKETING]:.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10,000 members, 52 rounds, 100,000")
    parser.add_argument("--members", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--scale-members", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.members = args.members or (10_000 if args.full else 2_000)
    args.rounds = args.rounds or (52 if args.full else 8)
    args.scale_members = args.scale_members or (100_000 if args.full else 20_000)

    rng = random.Random(args.seed)
    members = make_members(args.members, rng)
    settings = PairingSettings()
    absences = []
    for round_no in range(args.rounds):
        day = FIRST_ROUND + timedelta(weeks=round_no)
        absences.append(
            {
                m.member_id: day + timedelta(days=rng.randint(0, 13))
                for m in members
                if rng.random() < 0.05
            }
        )
    early_ties = {m.member_id for m in members if rng.random() < 0.2}
    marketing = sum(m.team_id == MARKETING for m in members)
    print(
        f"{len(members):,} members ({marketing:,} Marketing, {len(members) - marketing:,} IT), "
        f"{len({m.tz for m in members})} time zones, {args.rounds} weekly rounds, "
        f"window {settings.recency_window}, overlap >= {settings.min_overlap}"
    )

    wall = time.perf_counter()
    ours = run(
        "matcher", matcher(settings), members, args.rounds, settings, absences, early_ties, True
    )
    base = run(
        "baseline", random_baseline(settings), members, args.rounds, settings, absences, early_ties
    )
    print()
    report("matcher", ours, args.rounds)
    if ours.repeats:
        raise SystemExit("the matcher repeated a recent pair it could have avoided")
    report("random baseline", base, args.rounds)
    print()
    print(f"one round at {args.scale_members:,} members:")
    scale_round(args.scale_members, settings, args.seed)
    print(
        f"peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    print(f"total wall time: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
