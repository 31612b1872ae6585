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

Run: .venv/bin/python benchmarks/bench_pairing.py [--members N] [--rounds R]
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


def peak_memory_of_one_round(
    members: Sequence[Member], settings: PairingSettings, absences: dict[int, date]
) -> float:
    """MiB allocated at the peak of one round, cold history (tracemalloc sees numpy too)."""
    candidates = candidates_for(members, Memory(), 1, FIRST_ROUND, absences, set())
    tracemalloc.start()
    matcher(settings)(candidates, {}, FIRST_ROUND, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def report(name: str, tally: Tally, rounds: int) -> None:
    times = sorted(tally.seconds)
    hosts = tally.hosts_by_team
    total_hosts = max(1, sum(hosts.values()))
    print(f"{name}:")
    print(
        f"  time per round: median {statistics.median(times):.3f} s, "
        f"p90 {times[int(0.9 * (len(times) - 1))]:.3f} s, max {times[-1]:.3f} s"
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
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=52)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

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
    ours = run("matcher", matcher(settings), members, args.rounds, settings, absences, early_ties)
    base = run(
        "baseline", random_baseline(settings), members, args.rounds, settings, absences, early_ties
    )
    peak = peak_memory_of_one_round(members, settings, absences[0])
    print()
    report("matcher", ours, args.rounds)
    report("random baseline", base, args.rounds)
    print()
    print(f"peak traced memory of one matcher round: {peak:,.0f} MiB")
    print(
        f"peak resident memory of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    print(f"total wall time: {time.perf_counter() - wall:.0f} s")


if __name__ == "__main__":
    main()
