"""The balance metrics the long way: plain Python over raw records, to check the SQL path.

`rituals.balance.metrics_from_aggregates` applies the formulas to what storage
counted in SQL; this reaches the same `PairMetrics` straight from the logged
interactions and asks, written from docs/balance.md, so a wrong query or formula
shows up as a difference. The benchmark times it beside the SQL path.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from rituals.balance import PairMetrics, TeamMetrics
from rituals.interactions import FLOW_KINDS, InteractionKind


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """One logged interaction, with both teams as they were when it happened."""

    kind: InteractionKind
    provider: int
    beneficiary: int | None
    provider_team: int
    beneficiary_team: int | None
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class AskRecord:
    """A standup ask; helper_team is the team of whoever offered first, if anyone did."""

    created_at: datetime
    first_offer_at: datetime | None
    requester_team: int
    helper_team: int | None


def _is_flow(record: InteractionRecord) -> bool:
    return (
        record.kind in FLOW_KINDS
        and record.beneficiary is not None
        and record.beneficiary_team is not None
        and record.beneficiary != record.provider
    )


def _gini_pairwise(values: Counter[int]) -> float | None:
    """Gini as mean absolute difference over twice the mean, from a value histogram."""
    n = sum(values.values())
    total = sum(value * count for value, count in values.items())
    if total == 0:
        return None
    spread = sum(abs(v - w) * cv * cw for v, cv in values.items() for w, cw in values.items())
    return spread / (2 * n * total)


def reference_metrics(
    records: Iterable[InteractionRecord],
    asks: Iterable[AskRecord],
    sizes: Mapping[int, int],
    team_a: int,
    team_b: int,
    start: datetime,
    end: datetime,
    population: int | None = None,
) -> PairMetrics:
    """Every metric straight from the records in [start, end), to check the SQL path against.

    `population` is the distinct people in either team (see metrics_from_aggregates).
    """
    if team_a == team_b:
        raise ValueError("a pair needs two different teams")
    if not start < end:
        raise ValueError("start must be before end")
    pair = {team_a, team_b}
    in_window = [r for r in records if start <= r.occurred_at < end]
    flows = [r for r in in_window if _is_flow(r)]
    cross = [
        r
        for r in flows
        if r.provider_team in pair and r.beneficiary_team in pair - {r.provider_team}
    ]
    internal = [
        r for r in flows if r.provider_team in pair and r.beneficiary_team == r.provider_team
    ]

    a_to_b = sum(1 for r in cross if r.provider_team == team_a)
    b_to_a = len(cross) - a_to_b

    def people(r: InteractionRecord) -> frozenset[int]:
        assert r.beneficiary is not None  # flows always have one
        return frozenset({r.provider, r.beneficiary})

    per_pair = Counter(people(r) for r in cross)
    tied_by_team: dict[int, set[int]] = {team_a: set(), team_b: set()}
    for r in cross:
        if per_pair[people(r)] >= 2:
            assert r.beneficiary is not None and r.beneficiary_team is not None
            tied_by_team[r.provider_team].add(r.provider)
            tied_by_team[r.beneficiary_team].add(r.beneficiary)

    per_person: Counter[int] = Counter()
    for r in cross:
        per_person.update(people(r))
    busiest = sorted(per_person, key=lambda person: (-per_person[person], person))[:2]
    top_two = sum(1 for r in cross if people(r) & set(busiest))

    size_a, size_b = max(0, sizes.get(team_a, 0)), max(0, sizes.get(team_b, 0))
    everyone = size_a + size_b if population is None else max(0, population)
    histogram = Counter(per_person.values())
    histogram[0] += max(0, everyone - len(per_person))  # the idle: no cross-team flow

    external = len(set(per_pair))
    internal_pairs = len({people(r) for r in internal})
    d_ext = min(1.0, external / (size_a * size_b)) if size_a * size_b else 0.0
    possible_internal = size_a * (size_a - 1) // 2 + size_b * (size_b - 1) // 2
    d_int = min(1.0, internal_pairs / possible_internal) if possible_internal else 0.0

    blockers = [r for r in in_window if r.kind == InteractionKind.BLOCKER]
    raised = Counter(r.provider_team for r in blockers)
    naming = Counter(
        r.provider_team
        for r in blockers
        if r.provider_team in pair and r.beneficiary_team in pair - {r.provider_team}
    )
    blockers_total = raised[team_a] + raised[team_b]

    waits: dict[int, list[float]] = {team_a: [], team_b: []}
    asked: Counter[int] = Counter()
    for ask in asks:
        other = team_b if ask.requester_team == team_a else team_a
        answered = ask.first_offer_at is not None and ask.first_offer_at < end
        # Who answered after the month's end does not change the month.
        if ask.requester_team not in pair or (answered and ask.helper_team not in (None, other)):
            continue
        if not start <= ask.created_at < end:
            continue
        asked[ask.requester_team] += 1
        if ask.first_offer_at is not None and ask.first_offer_at < end:
            wait = (ask.first_offer_at - ask.created_at).total_seconds()
            waits[ask.requester_team].append(max(0.0, wait))
    all_waits = waits[team_a] + waits[team_b]
    asks_total = asked[team_a] + asked[team_b]

    def team(this: int, other: int, size: int) -> TeamMetrics:
        return TeamMetrics(
            team=this,
            size=size,
            tied=len(tied_by_team[this]),
            reach=min(1.0, len(tied_by_team[this]) / size) if size else None,
            blockers=raised[this],
            blockers_naming_other=naming[this],
            asks_raised=asked[this],
            asks_unanswered=asked[this] - len(waits[this]),
            reply_median_hours=(statistics.median(waits[other]) / 3600 if waits[other] else None),
        )

    total_cross = len(cross)
    return PairMetrics(
        team_a=team(team_a, team_b, size_a),
        team_b=team(team_b, team_a, size_b),
        flows_a_to_b=a_to_b,
        flows_b_to_a=b_to_a,
        give_share_a=a_to_b / total_cross if total_cross else None,
        reciprocity=2 * min(a_to_b, b_to_a) / total_cross if total_cross else None,
        external_ties=external,
        internal_ties=internal_pairs,
        openness=(d_ext - d_int) / (d_ext + d_int) if d_ext + d_int else None,
        top_two_share=top_two / total_cross if total_cross else None,
        gini=_gini_pairwise(histogram),
        blocker_share=(
            (naming[team_a] + naming[team_b]) / blockers_total if blockers_total else None
        ),
        asks=asks_total,
        asks_unanswered=asks_total - len(all_waits),
        ask_median_hours=statistics.median(all_waits) / 3600 if all_waits else None,
        unanswered_share=(asks_total - len(all_waits)) / asks_total if asks_total else None,
    )
