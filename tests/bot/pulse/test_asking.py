"""Who the pulse asks: members on their own second-to-last working day, not away, not opted out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.pulse.asking import _to_ask
from storage.occurrences import WonOccurrence
from storage.org import RosterEntry


def _entry(member_id: int, tz: str = "Europe/London", **overrides: object) -> RosterEntry:
    values: dict[str, object] = {
        "member_id": member_id,
        "slack_user_id": f"U{member_id}",
        "display_name": f"m{member_id}",
        "tz": tz,
        "team_id": 1,
        "away_until": None,
        "opted_out": (),
        "active": True,
    }
    values.update(overrides)
    return RosterEntry(**values)  # type: ignore[arg-type]


def _fired(member_id: int, at: datetime, tz: str = "Europe/London") -> WonOccurrence:
    return WonOccurrence(1, 1, f"member:{member_id}", at.strftime("%Y-%m-%dT%H:%M"), at, tz, False)


MONDAY_30 = datetime(2026, 3, 30, 14, 0, tzinfo=UTC)  # 15:00 in London, the pulse day
FRIDAY_27 = datetime(2026, 3, 27, 15, 0, tzinfo=UTC)


def test_only_present_members_on_their_pulse_day_are_asked() -> None:
    roster = [
        _entry(1),
        _entry(2, away_until=date(2026, 3, 30)),
        _entry(3, opted_out=("pulse",)),
        _entry(4, active=False),
        _entry(5, away_until=date(2026, 3, 29)),  # back the day before
    ]
    fired = [_fired(m, MONDAY_30) for m in range(1, 6)]
    assert [(e.member_id, m, r) for e, m, r in _to_ask(roster, fired, "UTC")] == [
        (1, "2026-03", False),
        (5, "2026-03", False),
    ]
    assert _to_ask(roster, [_fired(1, FRIDAY_27)], "UTC") == []
    # The last working day is the reminder day.
    [(entry, _, remind)] = _to_ask(roster, [_fired(1, MONDAY_30 + timedelta(days=1))], "UTC")
    assert entry.member_id == 1 and remind
