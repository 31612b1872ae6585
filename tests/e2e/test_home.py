"""App Home end to end: the event and the switches through the signed endpoint, the Home through the outbox.

A sender thread drains the outbox into the fake Slack, so a published Home
is awaited with `fake.wait_for("views.publish")`. The listeners' clock is
pinned to Monday 12 January 2026, 08:00 UTC (London is on UTC then).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.home import publish_home
from bot.outbox import OutboxSender, Pacer
from bot.ritual_changes import RitualChanges
from rituals.interactions import InterdependenceType, RitualKind
from storage import kudos as kudos_store
from storage import org, outbox
from storage import shadowing as shadow_store
from storage.db import transaction
from storage.models import Member, Outbox
from storage.outbox import OutboundCall
from tests.e2e.conftest import ADMIN, RunningBot
from tests.fakes.signed import block_actions_payload
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID

MONDAY_8AM = datetime(2026, 1, 12, 8, tzinfo=UTC)
PEOPLE = [
    ("UM1", "Ana", "Europe/London", "Marketing"),
    ("UM2", "Bea", "America/New_York", "Marketing"),
    ("UI1", "Raj", "Asia/Kolkata", "IT"),
    ("UI2", "Ian", "Europe/London", "IT"),
]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class HomeWorld:
    bot: RunningBot
    clock: Clock
    workspace: int
    partnership: int
    rituals: dict[str, int]  # kind -> ritual id
    members: dict[str, int]  # slack id -> member id

    # --- Slack's side --------------------------------------------------------------

    def publishes(self, user_id: str) -> list[dict[str, Any]]:
        return [
            dict(call.json_param("view"))
            for call in self.bot.fake.calls_to("views.publish")
            if call.params.get("user_id") == user_id
        ]

    def next_home(self, before: int) -> dict[str, Any]:
        """The Home published after `before` publishes in all (the caller expects exactly one)."""
        calls = self.bot.fake.wait_for("views.publish", count=before + 1, timeout=10)
        return dict(calls[before].json_param("view"))

    def open_home(self, user_id: str) -> dict[str, Any]:
        before = len(self.bot.fake.calls_to("views.publish"))
        event = {"type": "app_home_opened", "user": user_id, "channel": "DHOME", "tab": "home"}
        assert self.bot.slack.event(event).status == 200
        return self.next_home(before)

    def act(
        self, action_id: str, value: str | None = None, *, user_id: str = ADMIN, **action: Any
    ) -> None:
        """Send a block action from the Home tab (checkbox and date picker fields in `action`)."""
        payload = block_actions_payload(
            action_id,
            value,
            user_id=user_id,
            view={"id": "VHOME", "type": "home", "hash": "h", "blocks": []},
        )
        payload["actions"][0].update(action)
        assert self.bot.slack.interaction(payload).status == 200

    def act_and_wait(
        self, action_id: str, value: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        before = len(self.bot.fake.calls_to("views.publish"))
        self.act(action_id, value, **kwargs)
        return self.next_home(before)

    # --- the database ----------------------------------------------------------------

    def member(self, slack_id: str) -> Member:
        with self.bot.services.sessions() as session:
            found = session.scalars(select(Member).where(Member.slack_user_id == slack_id)).one()
            session.expunge(found)
            return found

    def home_rows(self, user_id: str) -> list[Outbox]:
        with self.bot.services.sessions() as session:
            rows = session.scalars(
                select(Outbox)
                .where(Outbox.idempotency_key.startswith(f"home:{self.workspace}:{user_id}:"))
                .order_by(Outbox.id)
            ).all()
            for row in rows:
                session.expunge(row)
            return list(rows)


def seed(bot: RunningBot, now: datetime) -> HomeWorld:
    services = bot.services
    for uid, name, tz, _ in PEOPLE:
        bot.fake.add_user(uid, name=name.lower(), tz=tz)
    bot.fake.add_user("UADMIN2", name="second-admin", is_admin=True)
    bot.fake.add_channel("CJOINT", "launch", [uid for uid, *_ in PEOPLE])
    bot.fake.add_channel("COUT", "elsewhere", ["UM1"], is_member=False)
    workspace = services.workspace_id(TEAM_ID)
    with transaction(services.sessions) as session:
        teams = {
            "Marketing": org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", now).id,
            "IT": org.add_team(session, workspace, "IT", "channel", "CIT", now).id,
        }
        ids = org.upsert_members(
            session, workspace, [org.MemberProfile(u, n, tz) for u, n, tz, _ in PEOPLE], now
        )
        for team, team_id in teams.items():
            org.set_team_roster(session, team_id, {ids[u] for u, *_, t in PEOPLE if t == team}, now)
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing", "IT"],
            "CJOINT",
            ["UM1"],
            InterdependenceType.RECIPROCAL,
            now,
        ).id
    changes = RitualChanges(services)
    rituals = {
        kind.value: changes.add("USETUP", workspace, "Launch", kind, None, None, now).id
        for kind in (RitualKind.STANDUP, RitualKind.SHADOWING, RitualKind.KUDOS_PROMPT)
    }
    with transaction(services.sessions) as session:
        round_id = shadow_store.create_round(
            session, rituals["shadowing"], 1, date(2026, 1, 8), now - timedelta(days=4)
        )
        shadow_store.add_pairings(
            session, round_id, [shadow_store.NewPairing(ids["UM1"], (ids["UI1"],))], None
        )
        # Ana thanks Raj, Ian thanks Ana: one flow each way for Ana this month.
        for giver, giver_team, receiver, receiver_team in [
            ("UM1", "Marketing", "UI1", "IT"),
            ("UI2", "IT", "UM1", "Marketing"),
        ]:
            kudos_store.add_kudos(
                session,
                kudos_store.NewKudos(
                    workspace_id=workspace,
                    partnership_id=partnership,
                    giver_member_id=ids[giver],
                    giver_team_id=teams[giver_team],
                    reason="for the launch",
                    values=(),
                    receivers=[kudos_store.Receiver(ids[receiver], teams[receiver_team])],
                    created_at=now - timedelta(days=2),
                ),
            )
    return HomeWorld(bot, Clock(now), workspace, partnership, rituals, dict(ids))


@pytest.fixture
def world(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[HomeWorld]:
    yield from running_world(bot, monkeypatch)


def running_world(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[HomeWorld]:
    """The seeded world with the listeners' clock pinned and a sender draining the outbox."""
    made = seed(bot, MONDAY_8AM)
    for module in ("bot.listeners.home", "bot.member_commands", "bot.admin_rituals"):
        monkeypatch.setattr(f"{module}.utcnow", made.clock)
    client = WebClient(token=DEFAULT_TOKEN, base_url=bot.fake.url, retry_handlers=[])
    sender = OutboxSender(
        bot.services.sessions,
        client,
        bot.services.settings,
        "e2e-home",
        clock=made.clock,
        pacer=Pacer(1000, channel_interval=0.0),
        poll_seconds=0.02,
    )
    stop = threading.Event()
    thread = threading.Thread(target=sender.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield made
    finally:
        stop.set()
        thread.join(timeout=10)


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def action_ids(view: dict[str, Any]) -> set[str]:
    found = set()
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.add(element["action_id"])
    return found


# --- the member's Home -----------------------------------------------------------------


def test_opening_the_home_tab_publishes_the_members_own_home_through_the_outbox(
    world: HomeWorld,
) -> None:
    view = world.open_home("UM1")
    text = text_of(view)
    assert view["type"] == "home"
    # The next standup prompt, in Ana's own time (London, 09:30 today).
    assert "Your next standup prompt" in text
    # Shown once, as a date token Slack renders in the reader's zone.
    prompt_at = int(datetime(2026, 1, 12, 9, 30, tzinfo=UTC).timestamp())
    assert f"<!date^{prompt_at}^{{date_short_pretty}} at {{time}}|" in text
    assert text.count(f"<!date^{prompt_at}^") == 1 and "(Europe/London)" not in text
    # The current shadowing pairing and its status.
    assert "you host <@UI1>" in text and "Not met yet" in text
    # The month: kudos given and received, and the give and take.
    assert "Kudos given: 1 (1 to the other team)" in text
    assert "received: 1 (1 from the other team)" in text
    assert "you gave IT 1, IT gave you 1" in text
    # Switches, and no admin controls for a member.
    assert {"home_rituals", "home_away_until"} <= action_ids(view)
    assert "ritual_edit" not in action_ids(view) and "Admin" not in text
    [row] = world.home_rows("UM1")
    assert row.method == "views.publish" and row.status in ("pending", "sent")
    assert row.payload["user_id"] == "UM1"
    assert row.idempotency_key.startswith(f"home:{world.workspace}:UM1:r1:")


def test_a_member_in_new_york_sees_their_own_local_time(world: HomeWorld) -> None:
    # 08:00 UTC is 03:00 in New York: Bea's prompt is at 09:30 her time, 14:30 UTC.
    text = text_of(world.open_home("UM2"))
    assert "(America/New_York)" not in text
    assert f"<!date^{int(datetime(2026, 1, 12, 14, 30, tzinfo=UTC).timestamp())}^" in text


def test_toggles_change_the_opt_outs_and_refresh_the_home(world: HomeWorld) -> None:
    world.open_home("UM1")
    taking_part = [
        {"value": "standup", "text": {"type": "plain_text", "text": "Joint standups"}},
        {"value": "kudos_prompt", "text": {"type": "plain_text", "text": "Weekly kudos prompt"}},
        {"value": "pulse", "text": {"type": "plain_text", "text": "Monthly collaboration pulse"}},
    ]
    view = world.act_and_wait(
        "home_rituals", user_id="UM1", type="checkboxes", selected_options=taking_part
    )
    assert world.member("UM1").opted_out == ["shadowing"]
    assert "You're out of shadowing" in text_of(view)
    [switches] = [b for b in view["blocks"] if b.get("block_id") == "home_rituals"]
    assert {o["value"] for o in switches["elements"][0]["initial_options"]} == {
        "standup",
        "kudos_prompt",
        "pulse",
    }

    view = world.act_and_wait(
        "home_rituals", user_id="UM1", type="checkboxes", selected_options=taking_part[1:]
    )
    assert world.member("UM1").opted_out == ["shadowing", "standup"]
    assert "You opted out; tick Standups below to rejoin." in text_of(view)

    everything = [*taking_part, {"value": "shadowing", "text": {"type": "plain_text", "text": "x"}}]
    world.act_and_wait(
        "home_rituals", user_id="UM1", type="checkboxes", selected_options=everything
    )
    assert world.member("UM1").opted_out == []


def test_the_away_date_picker_sets_and_clears_time_away(world: HomeWorld) -> None:
    world.open_home("UM1")
    view = world.act_and_wait(
        "home_away_until", user_id="UM1", type="datepicker", selected_date="2026-01-20"
    )
    assert world.member("UM1").away_until == date(2026, 1, 20)
    text = text_of(view)
    assert "*Away* until Tue 20 Jan 2026" in text
    # Away through the 20th: the next prompt is Wednesday the 21st.
    assert f"<!date^{int(datetime(2026, 1, 21, 9, 30, tzinfo=UTC).timestamp())}^" in text

    view = world.act_and_wait(
        "home_away_until", user_id="UM1", type="datepicker", selected_date=None
    )
    assert world.member("UM1").away_until is None
    assert "Welcome back" in text_of(view)

    view = world.act_and_wait(
        "home_away_until", user_id="UM1", type="datepicker", selected_date="2026-01-02"
    )
    assert "has already passed" in text_of(view)
    assert world.member("UM1").away_until is None

    world.act_and_wait(
        "home_away_until", user_id="UM1", type="datepicker", selected_date="2026-01-14"
    )
    view = world.act_and_wait("home_back", "back", user_id="UM1")
    assert world.member("UM1").away_until is None and "Welcome back" in text_of(view)


def test_someone_tandem_does_not_know_gets_a_welcome(world: HomeWorld) -> None:
    world.bot.fake.add_user("UNEW", name="new")
    text = text_of(world.open_home("UNEW"))
    assert "not in a team Tandem runs rituals for" in text


# --- the admin section -----------------------------------------------------------------


def test_admins_see_partnerships_teams_rituals_and_the_outbox(world: HomeWorld) -> None:
    with transaction(world.bot.services.sessions) as session:
        outbox.enqueue(
            session,
            [
                OutboundCall(
                    "test:pending", "chat.postMessage", {"channel": "CJOINT", "text": "x"}
                ),
                OutboundCall("test:dead", "chat.postMessage", {"channel": "CJOINT", "text": "y"}),
            ],
            MONDAY_8AM + timedelta(days=30),  # not due, so the sender leaves them alone
            world.workspace,
        )
        session.execute(
            Outbox.__table__.update()
            .where(Outbox.idempotency_key == "test:dead")
            .values(status="dead")
        )
    RitualChanges(world.bot.services).pause(
        ADMIN, world.workspace, world.rituals["shadowing"], MONDAY_8AM
    )
    view = world.open_home(ADMIN)
    text = text_of(view)
    assert "Admin: partnerships and rituals" in text
    assert "Outbox: 1 pending, 0 retrying, 1 dead" in text
    assert "*Launch*" in text and "Marketing (2 members" in text and "IT (2 members" in text
    assert "synced <!date^" in text
    standup = world.rituals["standup"]
    assert f"*Standup* #{standup} · Weekdays at 09:30, each member's local time" in text
    ten_to = int(datetime(2026, 1, 12, 9, 30, tzinfo=UTC).timestamp())
    assert f"next <!date^{ten_to}^" in text
    assert f"*Shadowing* #{world.rituals['shadowing']} · Every Thursday at 15:00, UTC" in text
    assert ":double_vertical_bar: *Paused*" in text
    assert {"ritual_edit", "ritual_resume", "ritual_pause", "ritual_run_now", "ritual_delete"} <= (
        action_ids(view)
    )
    assert {"ritual_add", "teams_sync_now"} <= action_ids(view)


# --- publishing: dedupe and order ----------------------------------------------------


def test_an_unchanged_home_is_queued_once_and_a_return_to_an_earlier_home_is_not_lost(
    world: HomeWorld,
) -> None:
    services = world.bot.services
    first = publish_home(services, world.workspace, "UM1", is_admin=False, now=MONDAY_8AM)
    again = publish_home(services, world.workspace, "UM1", is_admin=False, now=MONDAY_8AM)
    assert first.key is not None and again.key is None  # identical: nothing queued
    with transaction(services.sessions) as session:
        session.execute(
            Member.__table__.update()
            .where(Member.slack_user_id == "UM1")
            .values(opted_out=["standup"])
        )
    changed = publish_home(services, world.workspace, "UM1", is_admin=False, now=MONDAY_8AM)
    with transaction(services.sessions) as session:
        session.execute(
            Member.__table__.update().where(Member.slack_user_id == "UM1").values(opted_out=[])
        )
    back = publish_home(services, world.workspace, "UM1", is_admin=False, now=MONDAY_8AM)
    assert changed.key is not None and back.key is not None
    assert len({first.key, changed.key, back.key}) == 3
    assert back.view == first.view  # same content, a newer revision: still queued
    world.bot.fake.wait_for("views.publish", count=1, timeout=10)
    rows = {row.idempotency_key: row for row in world.home_rows("UM1")}
    # What reaches Slack last is the last state; a superseded Home still waiting is cancelled.
    last = max(rows.values(), key=lambda r: r.id)
    assert last.idempotency_key == back.key
    assert all(r.status in ("sent", "cancelled", "pending") for r in rows.values())


def test_retried_deliveries_of_the_event_publish_once(world: HomeWorld) -> None:
    event = {"type": "app_home_opened", "user": "UM1", "channel": "DHOME", "tab": "home"}
    assert world.bot.slack.event(event, event_id="EvHOME1").status == 200
    world.bot.fake.wait_for("views.publish", count=1, timeout=10)
    assert world.bot.slack.event(event, event_id="EvHOME1", retry_num=1).status == 200
    assert len(world.home_rows("UM1")) == 1


def test_the_messages_tab_does_not_publish_the_home(world: HomeWorld) -> None:
    event = {"type": "app_home_opened", "user": "UM2", "channel": "DHOME", "tab": "messages"}
    assert world.bot.slack.event(event).status == 200
    world.open_home("UM1")  # handled after the first one was acknowledged
    assert world.publishes("UM2") == []
