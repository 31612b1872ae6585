"""IANA time zones by name, with one rule for what counts as a real zone.

Names that only make sense on the host ("localtime", "posixrules",
"Factory") are refused, so every replica resolves a member's zone alike.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
UTC_NAME = "UTC"


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - NOT_ZONES


def is_zone(name: str | None) -> bool:
    """Whether `name` is a zone by the one rule (settings, schedules and members alike)."""
    return zone(name) is not None


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, or None for a missing or unknown name."""
    if not name or name not in known_zones():
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        return None


def zone_or_default(name: str | None, default: str | None) -> tuple[ZoneInfo, bool]:
    """`name`'s zone, else `default`'s, else UTC; True when it had to fall back."""
    own = zone(name)
    if own is not None:
        return own, False
    return zone(default) or ZoneInfo(UTC_NAME), True
