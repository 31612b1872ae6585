"""Closed months kept as snapshots: the same figures as live, the reference's, until a recompute.

The organisations are tests/storage/test_balance_exact.py's random ones, and
the reference is its own, written from the definitions alone. After the
snapshots are stored the log is emptied (interactions, asks, memberships), so
figures read afterwards can only come from the snapshots. Both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.digest import Month, compute_digest
from rituals.interactions import InteractionKind
from storage.balance_snapshots import (
    SNAPSHOT_VERSION,
    Window,
    drop_snapshots,
    live_metrics,
    monthly_metrics,
    stored_months,
)
from storage.db import transaction
from storage.models import (
    BalanceSnapshot,
    Interaction,
    Partnership,
    PartnershipTeam,
    StandupAsk,
    TeamMembership,
)
from tests.storage.test_balance_exact import (
    FIRST_MONTHS,
    PARTNERSHIP,
    Organisation,
    as_expected,
    assert_agree,
    build,
    expected,
    load,
    organisations,
    seed_base,
)


def windows_of(org: Organisation) -> list[Window]:
    zone = ZoneInfo(org.zone)
    return [
        Window(f"{start.astimezone(zone):%Y-%m}", start, end) for start, end in pairwise(org.bounds)
    ]


def fresh(sessions: sessionmaker[Session], org: Organisation) -> None:
    """The organisation in the database, and no snapshot left from an earlier one."""
    with transaction(sessions) as s:
        drop_snapshots(s, PARTNERSHIP)
    load(sessions, org)


def empty_the_log(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        s.execute(delete(Interaction))
        s.execute(delete(StandupAsk))
        s.execute(delete(TeamMembership))


def check(sessions: sessionmaker[Session], org: Organisation) -> None:
    fresh(sessions, org)
    windows, after = windows_of(org), org.bounds[-1]
    with sessions() as s:
        live = live_metrics(s, PARTNERSHIP, org.teams, windows)
    with transaction(sessions) as s:
        first = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, after)
    with sessions() as s:
        assert stored_months(s, PARTNERSHIP) == [w.key for w in windows]
    empty_the_log(sessions)
    with sessions() as s:
        kept = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, after)
    assert first == live
    assert kept == live  # every metric, exactly: floats survive the JSON round trip
    for index, (start, end) in enumerate(pairwise(org.bounds)):
        for a, b in combinations(org.teams, 2):
            got = kept[index][(min(a, b), max(a, b))]
            assert (got.team_a.team, got.team_b.team) == (a, b)  # the partnership's order
            where = f"{org.zone} month {index} pair {a}-{b}:"
            assert_agree(as_expected(got), expected(org, a, b, start, end), where)


def test_snapshots_hold_the_live_figures_and_agree_with_the_reference(
    session_factory: sessionmaker[Session],
) -> None:
    seed_base(session_factory)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(organisations)
    def run(org: Organisation) -> None:
        check(session_factory, org)

    run()


@pytest.mark.parametrize("min_group_size", [1, 26])
def test_the_digest_from_snapshots_is_the_digest_computed_live(
    session_factory: sessionmaker[Session], min_group_size: int
) -> None:
    """Three teams of 25, 28 and 29 in the last month: a floor of 26 hides two pairs of three."""
    seed_base(session_factory)
    org = build(12, "America/St_Johns", FIRST_MONTHS[1], 120, True)
    fresh(session_factory, org)
    with transaction(session_factory) as s:
        s.execute(
            update(Partnership)
            .where(Partnership.id == PARTNERSHIP)
            .values(settings={"timezone": org.zone, "min_group_size": min_group_size})
        )
    year, month = FIRST_MONTHS[1]
    last = Month(year, month).shifted(2)
    after = org.bounds[-1] + timedelta(days=3)
    with session_factory() as s:
        live = compute_digest(s, PARTNERSHIP, last)
    with transaction(session_factory) as s:
        first = compute_digest(s, PARTNERSHIP, last, after)
    empty_the_log(session_factory)
    with session_factory() as s:
        kept = compute_digest(s, PARTNERSHIP, last, after)
        assert len(stored_months(s, PARTNERSHIP)) == 6
    assert first == live and kept == live
    assert any(not p.summary.hidden and p.summary.cross_events for p in kept.pairs)
    assert sum(p.summary.hidden for p in kept.pairs) == (0 if min_group_size == 1 else 2)


def test_a_recompute_replaces_a_snapshot(session_factory: sessionmaker[Session]) -> None:
    seed_base(session_factory)
    org = build(3, "Europe/Berlin", FIRST_MONTHS[0], 60, False)
    fresh(session_factory, org)
    windows = windows_of(org)
    stored_at, recomputed_at = org.bounds[-1], org.bounds[-1] + timedelta(days=40)
    with transaction(session_factory) as s:
        before = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, stored_at)
    # A data fix: two more flows logged inside the first, closed, month.
    a, b = org.teams
    with transaction(session_factory) as s:
        s.execute(
            insert(Interaction),
            [
                {
                    "workspace_id": 1,
                    "partnership_id": PARTNERSHIP,
                    "kind": InteractionKind.HELP_GIVEN.value,
                    "provider_member_id": 1,
                    "beneficiary_member_id": 2,
                    "provider_team_id": a,
                    "beneficiary_team_id": b,
                    "occurred_at": windows[0].start + timedelta(hours=hour),
                    "tags": [],
                }
                for hour in (1, 2)
            ],
        )
    with session_factory() as s:
        unchanged = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, recomputed_at)
        live = live_metrics(s, PARTNERSHIP, org.teams, windows)
    assert unchanged == before  # a closed month is read, not recounted
    key = (min(a, b), max(a, b))
    assert live[0][key].flows_a_to_b == before[0][key].flows_a_to_b + 2
    with transaction(session_factory) as s:
        assert drop_snapshots(s, PARTNERSHIP) == 3
        after = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, recomputed_at)
    assert after == live
    with session_factory() as s:
        rows = s.execute(select(BalanceSnapshot.month, BalanceSnapshot.computed_at)).all()
        kept = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, recomputed_at)
    assert sorted(rows) == [(w.key, recomputed_at) for w in windows]
    assert kept == live


def test_the_month_in_progress_is_computed_from_the_log_and_never_stored(
    session_factory: sessionmaker[Session],
) -> None:
    seed_base(session_factory)
    org = build(5, "Asia/Kolkata", FIRST_MONTHS[2], 40, False)
    fresh(session_factory, org)
    windows = windows_of(org)
    during = windows[-1].start + timedelta(days=10)
    with transaction(session_factory) as s:
        found = monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, during)
        assert found == live_metrics(s, PARTNERSHIP, org.teams, windows)
    with transaction(session_factory) as s:
        assert stored_months(s, PARTNERSHIP) == [w.key for w in windows[:2]]
        monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, None)
    with session_factory() as s:
        assert stored_months(s, PARTNERSHIP) == [w.key for w in windows[:2]]


def test_without_now_nothing_is_stored(session_factory: sessionmaker[Session]) -> None:
    seed_base(session_factory)
    org = build(6, "UTC", FIRST_MONTHS[0], 30, True)
    fresh(session_factory, org)
    with transaction(session_factory) as s:
        monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows_of(org), None)
    with session_factory() as s:
        assert stored_months(s, PARTNERSHIP) == []


def _snapshot_row(sessions: sessionmaker[Session], month: str) -> BalanceSnapshot:
    with sessions() as s:
        row = s.get(BalanceSnapshot, (PARTNERSHIP, month))
        assert row is not None
        return row


def test_a_snapshot_asked_another_question_is_computed_again_and_replaced(
    session_factory: sessionmaker[Session],
) -> None:
    """Another zone, the teams in another order, an older layout or unreadable figures."""
    seed_base(session_factory)
    org = build(8, "UTC", FIRST_MONTHS[0], 60, True)
    fresh(session_factory, org)
    windows = windows_of(org)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with transaction(session_factory) as s:
        monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows, now)

    # Another zone: the months are cut elsewhere.
    berlin = [Window(w.key, *month_bounds_in(w.key, "Europe/Berlin")) for w in windows]
    with transaction(session_factory) as s:
        got = monthly_metrics(s, PARTNERSHIP, org.teams, "Europe/Berlin", berlin, now)
        assert got == live_metrics(s, PARTNERSHIP, org.teams, berlin)
    assert _snapshot_row(session_factory, windows[0].key).timezone == "Europe/Berlin"

    # The partnership's teams in another order: the one-team rule and the orientation change.
    reordered = list(reversed(org.teams))
    with transaction(session_factory) as s:
        for position, team in enumerate(reordered):
            s.execute(
                update(PartnershipTeam)
                .where(
                    PartnershipTeam.partnership_id == PARTNERSHIP, PartnershipTeam.team_id == team
                )
                .values(position=position)
            )
    with transaction(session_factory) as s:
        got = monthly_metrics(s, PARTNERSHIP, reordered, "Europe/Berlin", berlin, now)
        assert got == live_metrics(s, PARTNERSHIP, reordered, berlin)
        led = [m for m in got[0].values() if reordered[0] in (m.team_a.team, m.team_b.team)]
        assert led and all(m.team_a.team == reordered[0] for m in led)
    assert _snapshot_row(session_factory, windows[0].key).teams == reordered

    # An older layout, and figures that do not read as this layout's.
    with transaction(session_factory) as s:
        s.execute(
            update(BalanceSnapshot)
            .where(BalanceSnapshot.month == windows[0].key)
            .values(version=SNAPSHOT_VERSION - 1)
        )
        s.execute(
            update(BalanceSnapshot)
            .where(BalanceSnapshot.month == windows[1].key)
            .values(figures={"pairs": [{"unknown": 1}]})
        )
    with transaction(session_factory) as s:
        got = monthly_metrics(s, PARTNERSHIP, reordered, "Europe/Berlin", berlin, now)
        assert got == live_metrics(s, PARTNERSHIP, reordered, berlin)
    assert _snapshot_row(session_factory, windows[0].key).version == SNAPSHOT_VERSION
    assert _snapshot_row(session_factory, windows[1].key).figures["pairs"][0]["team_a"]


def month_bounds_in(key: str, zone: str) -> tuple[datetime, datetime]:
    year, month = (int(part) for part in key.split("-"))
    return Month(year, month).bounds(zone)


def test_deleting_a_partnership_deletes_its_snapshots(
    session_factory: sessionmaker[Session],
) -> None:
    seed_base(session_factory)
    org = build(9, "UTC", FIRST_MONTHS[0], 20, False)
    fresh(session_factory, org)
    with transaction(session_factory) as s:
        monthly_metrics(s, PARTNERSHIP, org.teams, org.zone, windows_of(org), org.bounds[-1])
    with transaction(session_factory) as s:
        partnership = s.get(Partnership, PARTNERSHIP)
        assert partnership is not None
        s.delete(partnership)
    with session_factory() as s:
        assert s.scalars(select(BalanceSnapshot)).all() == []
