"""App Home stays within Slack's limits however much there is to show."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.member_balance import OwnBalance
from bot.views.home import (
    ADMIN_ACTIONS,
    DELETE_ACTION,
    MAX_BLOCKS,
    AdminHome,
    MemberHome,
    PartnershipSection,
    RitualRow,
    StandupLine,
    home_view,
)
from bot.views.shadowing import PairStatus
from storage.balance import OwnFlows
from storage.home import PartnershipLine, TeamLine
from storage.kudos import MonthStats
from storage.outbox import OutboxCounts
from storage.rituals import RitualSnapshot

NOW = datetime(2026, 3, 9, 8, tzinfo=UTC)


def _member(standups: int = 1, rounds: int = 1, balances: int = 1) -> MemberHome:
    return MemberHome(
        user_id="UM1",
        zone="Europe/London",
        today=NOW.date(),
        standups=tuple(
            StandupLine(f"Partnership {i} " + "x" * 200, NOW + timedelta(hours=i), "")
            for i in range(standups)
        ),
        shadowing=tuple(
            PairStatus(
                f"P{i}", i + 1, date(2026, 3, 5), "host", ("UI1",), "proposed", None, None, None
            )
            for i in range(rounds)
        ),
        month_label="March 2026",
        kudos=MonthStats(3, 2, 4, 1, 2, 5),
        balances=tuple(
            OwnBalance(f"P{i}", ("IT",), "March 2026", OwnFlows({"kudos": 2}, {"help_given": 1}))
            for i in range(balances)
        ),
        opted_out=frozenset({"shadowing"}),
        away_until=date(2026, 3, 20),
        in_team=True,
    )


def _ritual(ritual_id: int, partnership_id: int, paused: bool = False) -> RitualRow:
    snapshot = RitualSnapshot(
        id=ritual_id,
        partnership_id=partnership_id,
        workspace_id=1,
        kind="standup",
        cron="30 9 * * 1-5",
        timezone="member-local",
        ritual_channel_id=None,
        partnership_channel_id="CJOINT",
        settings={},
        paused=paused,
        version=1,
        scheduled_through=None,
    )
    return RitualRow(snapshot, "Weekdays at 09:30, each member's local time", NOW)


def _admin(partnerships: int, rituals_each: int) -> AdminHome:
    sections = []
    for p in range(1, partnerships + 1):
        line = PartnershipLine(
            id=p,
            name=f"Partnership {p}",
            channel_id=f"C{p}",
            interdependence_type="reciprocal",
            settings={},
            teams=tuple(TeamLine(p * 10 + t, f"Team {t}", 10_000, NOW) for t in range(2)),
            leader_ids=("UL1",),
        )
        rows = tuple(_ritual(p * 100 + r, p, paused=r % 2 == 1) for r in range(rituals_each))
        sections.append(PartnershipSection(line, rows))
    return AdminHome(tuple(sections), OutboxCounts(3, 1, 2), "UTC")


def _texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def _action_ids(view: dict[str, Any]) -> list[str]:
    found = []
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.append(element["action_id"])
    return found


@pytest.mark.parametrize(("partnerships", "rituals_each"), [(1, 20), (5, 20), (60, 4), (200, 0)])
def test_a_big_admin_home_stays_under_100_blocks_and_says_how_many_more(
    partnerships: int, rituals_each: int
) -> None:
    view = home_view(
        _member(standups=30, rounds=30, balances=30), _admin(partnerships, rituals_each)
    )
    assert len(view["blocks"]) <= MAX_BLOCKS
    View(**view).to_dict()  # Slack's validators (block count, text lengths) accept it
    text = _texts(view)
    hidden_rituals = partnerships * rituals_each - text.count('"ritual:')
    if hidden_rituals > 0:
        assert f"and {hidden_rituals} more ritual" in text
    assert "and 25 more standups" in text and "and 25 more rounds" in text
    hidden_partnerships = partnerships - text.count('"block_id": "partnership:')
    if hidden_partnerships:
        assert f"{hidden_partnerships} more partnership" in text
    if hidden_rituals > 0 or hidden_partnerships:
        assert "`/tandem admin rituals` lists them all" in text


def test_everything_fits_when_there_is_little() -> None:
    view = home_view(_member(), _admin(1, 4))
    text = _texts(view)
    assert "more ritual" not in text
    assert text.count('"block_id": "ritual:') == 4
    # Paused rituals offer Resume, running ones Pause; every delete asks first.
    ids = _action_ids(view)
    assert ids.count("ritual_resume") == 2 and ids.count("ritual_pause") == 2
    deletes = [
        e
        for b in view["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == DELETE_ACTION
    ]
    assert len(deletes) == 4 and all(d["confirm"]["confirm"]["text"] == "Delete" for d in deletes)


def test_members_see_no_admin_controls() -> None:
    view = home_view(_member(), None)
    assert not set(_action_ids(view)) & set(ADMIN_ACTIONS)
    text = _texts(view)
    assert "Admin" not in text
    assert "Your next standup prompt" in text and "<!date^" in text
    assert "(Europe/London)" not in text
    assert "Kudos given: 3" in text and "received: 4" in text
    assert "you gave IT 2, IT gave you 1" in text
    # Opted out of shadowing: its box is not ticked; away until the 20th: the picker shows it.
    [switches] = [b for b in view["blocks"] if b.get("block_id") == "home_rituals"]
    ticked = {o["value"] for o in switches["elements"][0]["initial_options"]}
    assert ticked == {"standup", "kudos_prompt", "pulse"}
    [away] = [b for b in view["blocks"] if b.get("block_id") == "home_away"]
    assert away["accessory"]["initial_date"] == "2026-03-20"
    assert "home_back" in _action_ids(view)


def test_someone_in_no_team_gets_a_welcome_not_an_error() -> None:
    view = home_view(None, None)
    assert "not in a team Tandem runs rituals for" in _texts(view)
    admin_view = home_view(None, _admin(1, 1))
    assert "ritual_edit" in _action_ids(admin_view)


def test_a_notice_leads_the_home() -> None:
    view = home_view(_member(), None, notice="Only Tandem admins can change rituals.")
    assert "Only Tandem admins" in json.dumps(view["blocks"][0])


def test_ritual_rows_show_each_time_once_and_where_each_ritual_goes() -> None:
    standup = _ritual(1, 1)
    digest = RitualRow(
        replace(
            standup.ritual, id=2, kind="digest", timezone="Europe/Berlin", cron="0 9 1-3 * 1-5"
        ),
        "On the first working day of each month at 09:00, Europe/Berlin",
        NOW,
    )
    line = PartnershipLine(1, "P", "CJOINT", "reciprocal", {}, (), ("UL1",))
    admin = AdminHome((PartnershipSection(line, (standup, digest)),), OutboxCounts(0, 0, 0), "UTC")
    text = _texts(home_view(None, admin))
    stamp = int(NOW.timestamp())
    # Member-local: the day as a token, the wall time as everyone reads it; no "(in UTC)".
    assert f"next <!date^{stamp}^{{date_short_pretty}}|" in text
    assert f"{NOW:%H:%M} each person's time" in text and "posts in <#CJOINT>" in text
    assert "(in UTC)" not in text
    assert text.count(f"<!date^{stamp}^") == 2
    assert "goes to the leaders by DM" in text and text.count("posts in") == 1


def test_before_any_setup_admins_are_invited_and_members_told_who_can() -> None:
    empty = AdminHome((), OutboxCounts(0, 0, 0), "UTC")
    admin_view = home_view(None, empty, before_setup=("UADMIN",))
    assert "tandem_setup_open" in _action_ids(admin_view)
    assert "Set up Tandem" in _texts(admin_view)
    member_view = home_view(None, None, before_setup=("UADMIN", "UBOSS"))
    text = _texts(member_view)
    assert "<@UADMIN>, <@UBOSS>" in text and "isn't set up" in text
    assert "Joint standup" in text and "tandem_setup_open" not in _action_ids(member_view)
    # Once a partnership exists, someone in no team gets the ordinary welcome.
    assert "isn't set up" not in _texts(home_view(None, None))
