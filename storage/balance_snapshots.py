"""Closed months' balance figures, computed once and kept, so a digest need not reread the log.

A month is closed once its end (local midnight on the 1st of the next month,
in the partnership's zone) has passed. Nothing after that changes it:
interactions count by when they occurred, and an ask by what had happened to
it by the month's end. So the first time a digest needs a closed month, its
metrics are computed from the log and stored (one row per partnership and
month); from then on they are read back, and a digest costs the same with
ten million interactions as with ten thousand. The month in progress is
always computed from the log.

A snapshot is replaced only by `recompute` (`tandem digest --recompute`),
or when it no longer describes the question asked: the partnership's zone
or its teams (in its order, which decides the one-team rule) have changed
since, or it was written in an older layout. It holds `PairMetrics`, which
count teams and never name a person; the privacy floor and the bands are
applied later, to stored and live figures alike, with the partnership's
current settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rituals.balance import PairMetrics, TeamMetrics, metrics_from_aggregates
from storage.balance import Pair, oriented, pair_aggregates_by_window, sizes_by_window
from storage.models import BalanceSnapshot
from storage.upsert import insert_for, rowcount

# The layout of BalanceSnapshot.figures; a snapshot in another one is computed again.
SNAPSHOT_VERSION = 1

# Every pair's metrics in one month, keyed (smaller team id, larger team id) and
# oriented with the team listed first in the partnership as team_a.
MonthMetrics = dict[Pair, PairMetrics]


@dataclass(frozen=True, slots=True)
class Window:
    """One month: its key (YYYY-MM) and its UTC bounds [start, end)."""

    key: str
    start: datetime
    end: datetime


def _check_consecutive(windows: Sequence[Window]) -> None:
    if not windows:
        raise ValueError("give at least one window")
    if any(earlier.end != later.start for earlier, later in pairwise(windows)):
        raise ValueError("windows must follow each other")


def live_metrics(
    session: Session, partnership_id: int, team_ids: Sequence[int], windows: Sequence[Window]
) -> list[MonthMetrics]:
    """Each window's metrics computed from the log; `team_ids` in the partnership's order."""
    _check_consecutive(windows)
    bounds = [windows[0].start, *(window.end for window in windows)]
    by_window = pair_aggregates_by_window(session, partnership_id, team_ids, bounds)
    sizes = sizes_by_window(session, partnership_id, team_ids, bounds)
    position = {team: index for index, team in enumerate(team_ids)}
    return [
        {
            key: metrics_from_aggregates(
                oriented(aggregates, min(key, key=position.__getitem__)),
                window_sizes.teams,
                window_sizes.people[key],
            )
            for key, aggregates in window.items()
        }
        for window, window_sizes in zip(by_window, sizes, strict=True)
    ]


def monthly_metrics(
    session: Session,
    partnership_id: int,
    team_ids: Sequence[int],
    timezone: str,
    windows: Sequence[Window],
    now: datetime | None,
) -> list[MonthMetrics]:
    """Each window's metrics: closed months from their snapshot, stored on first use.

    A window is closed when it ended at or before `now`; with `now` None
    every window is computed from the log and nothing is stored. The
    session's transaction holds the new snapshots until its caller commits.
    """
    _check_consecutive(windows)
    teams = list(team_ids)
    closed = [] if now is None else [i for i, window in enumerate(windows) if window.end <= now]
    found = _stored(session, partnership_id, teams, timezone, {windows[i].key: i for i in closed})
    missing = [i for i in range(len(windows)) if i not in found]
    for run in _runs(missing):
        computed = live_metrics(session, partnership_id, teams, [windows[i] for i in run])
        found.update(zip(run, computed, strict=True))
    fresh = [i for i in missing if i in closed]
    if fresh and now is not None:
        _store(
            session,
            partnership_id,
            teams,
            timezone,
            [(windows[i].key, found[i]) for i in fresh],
            now,
        )
    return [found[i] for i in range(len(windows))]


def drop_snapshots(
    session: Session, partnership_id: int, months: Iterable[str] | None = None
) -> int:
    """Forget the partnership's stored months (all, or those named); returns how many.

    The next digest that needs one of them computes it again from the log
    and stores it anew: this is how a recompute replaces a snapshot.
    """
    statement = delete(BalanceSnapshot).where(BalanceSnapshot.partnership_id == partnership_id)
    if months is not None:
        statement = statement.where(BalanceSnapshot.month.in_(sorted(set(months))))
    return rowcount(session.execute(statement))


def stored_months(session: Session, partnership_id: int) -> list[str]:
    """The months (YYYY-MM) the partnership has a snapshot of, oldest first."""
    return list(
        session.scalars(
            select(BalanceSnapshot.month)
            .where(BalanceSnapshot.partnership_id == partnership_id)
            .order_by(BalanceSnapshot.month)
        )
    )


def _runs(indexes: Sequence[int]) -> list[list[int]]:
    """Consecutive indexes together: each run is one pass over the log."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _stored(
    session: Session, partnership_id: int, teams: list[int], timezone: str, wanted: dict[str, int]
) -> dict[int, MonthMetrics]:
    """The snapshots that answer the question asked, by window index."""
    if not wanted:
        return {}
    rows = session.execute(
        select(
            BalanceSnapshot.month,
            BalanceSnapshot.timezone,
            BalanceSnapshot.teams,
            BalanceSnapshot.version,
            BalanceSnapshot.figures,
        ).where(
            BalanceSnapshot.partnership_id == partnership_id,
            BalanceSnapshot.month.in_(sorted(wanted)),
        )
    )
    found: dict[int, MonthMetrics] = {}
    for month, zone, their_teams, version, figures in rows:
        if (zone, their_teams, version) != (timezone, teams, SNAPSHOT_VERSION):
            continue
        metrics = _decode(figures)
        if metrics is not None:
            found[wanted[month]] = metrics
    return found


def _store(
    session: Session,
    partnership_id: int,
    teams: list[int],
    timezone: str,
    months: list[tuple[str, MonthMetrics]],
    now: datetime,
) -> None:
    """Insert the months' snapshots, replacing any that described another question.

    Two workers computing the same month write the same figures, so the
    later one may simply overwrite the earlier.
    """
    rows = [
        {
            "partnership_id": partnership_id,
            "month": key,
            "timezone": timezone,
            "teams": teams,
            "version": SNAPSHOT_VERSION,
            "figures": _encode(metrics),
            "computed_at": now,
        }
        for key, metrics in sorted(months)
    ]
    statement = insert_for(session, BalanceSnapshot).values(rows)
    replaced = {
        name: statement.excluded[name]
        for name in ("timezone", "teams", "version", "figures", "computed_at")
    }
    session.execute(
        statement.on_conflict_do_update(index_elements=["partnership_id", "month"], set_=replaced)
    )


def _encode(metrics: MonthMetrics) -> dict[str, Any]:
    return {"pairs": [asdict(metrics[key]) for key in sorted(metrics)]}


def _decode(figures: Any) -> MonthMetrics | None:
    """The stored metrics, or None when they are not in this layout."""
    try:
        found: MonthMetrics = {}
        for item in figures["pairs"]:
            team_a, team_b = TeamMetrics(**item["team_a"]), TeamMetrics(**item["team_b"])
            metrics = PairMetrics(**{**item, "team_a": team_a, "team_b": team_b})
            key = (min(team_a.team, team_b.team), max(team_a.team, team_b.team))
            found[key] = metrics
        return found
    except (KeyError, TypeError):
        return None
