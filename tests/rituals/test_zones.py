"""One rule for what counts as a time zone, wherever a zone name comes in."""

from __future__ import annotations

from datetime import date

import pytest

from rituals.pairing import Candidate, UnpairedReason, ineligibility
from rituals.schedule import MEMBER_LOCAL, validate_timezone
from rituals.zones import is_zone, zone, zone_or_default

HOST_ONLY = ["localtime", "posixrules", "Factory"]


@pytest.mark.parametrize("name", ["Europe/Berlin", "America/St_Johns", "UTC", "Asia/Kathmandu"])
def test_places_are_zones(name: str) -> None:
    assert is_zone(name)
    assert str(zone(name)) == name
    assert validate_timezone(name) is None


@pytest.mark.parametrize(
    "name", [*HOST_ONLY, "", None, "Mars/Olympus", "europe/berlin", "../etc/passwd", "/etc/UTC"]
)
def test_names_that_are_no_place_are_refused_alike(name: str | None) -> None:
    assert not is_zone(name)
    assert zone(name) is None
    assert zone_or_default(name, "Europe/Berlin") == (zone("Europe/Berlin"), True)
    if name:
        assert validate_timezone(name) is not None


@pytest.mark.parametrize("name", HOST_ONLY)
def test_a_member_in_a_host_only_zone_is_not_paired(name: str) -> None:
    member = Candidate(1, 1, name, True, False, None, None, False, False)
    reason = ineligibility(member, date(2026, 3, 2))
    assert reason is not None and reason[0] is UnpairedReason.UNKNOWN_TIME_ZONE


def test_member_local_is_a_schedule_zone_but_not_a_place() -> None:
    assert validate_timezone(MEMBER_LOCAL) is None
    assert not is_zone(MEMBER_LOCAL)
