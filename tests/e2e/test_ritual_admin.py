"""Admins tune rituals from App Home and `/tandem admin`: every action through the signed endpoint.

Edit form (presets, cron, zone, channel, the kind's settings, live preview),
pause, resume, run now, delete, team sync, add; the slash equivalents and
the audit log; and the bad cases: invalid input, a stale form, two admins
saving the same ritual, a ritual deleted while its form is open, and a
non-admin forging admin payloads. Each bad case changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.job_handlers import HANDLERS
from bot.jobs import JobRunner
from bot.ritual_form import CHANNEL_BLOCK, CRON_BLOCK, PRESET_BLOCK, TIMEZONE_BLOCK
from bot.tick import tick
from bot.views.ritual_edit import (
    ADD_CALLBACK,
    CRON_ACTION,
    EDIT_CALLBACK,
    KIND_BLOCK,
    PRESET_ACTION,
    PREVIEW_BLOCK,
    TIMEZONE_ACTION,
)
from storage import rituals as ritual_store
from storage.db import transaction
from storage.member_settings import set_away, set_opted_out
from storage.models import (
    AuditLog,
    Job,
    Occurrence,
    Outbox,
    Partnership,
    PartnershipLeader,
    Ritual,
)
from storage.rituals import RitualSnapshot
from tests.e2e.conftest import ADMIN, RunningBot
from tests.e2e.test_home import HomeWorld, running_world, text_of
from tests.fakes.signed import block_actions_payload, view_submission_payload

# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def world(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[HomeWorld]:
    yield from running_world(bot, monkeypatch)


def ritual(w: HomeWorld, kind: str) -> RitualSnapshot | None:
    with w.bot.services.sessions() as session:
        return ritual_store.get(session, w.rituals[kind])


def audit_actions(w: HomeWorld) -> list[str]:
    with w.bot.services.sessions() as session:
        return list(session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def last_audit(w: HomeWorld) -> AuditLog:
    with w.bot.services.sessions() as session:
        entry = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert entry is not None
        session.expunge(entry)
        return entry


def open_form(w: HomeWorld, action_id: str, value: str, user_id: str = ADMIN) -> dict[str, Any]:
    """Press Edit (or Add) on the Home tab; the modal Slack was asked to open, with its id and hash."""
    before = len(w.bot.fake.calls_to("views.open"))
    w.act(action_id, value, user_id=user_id)
    call = w.bot.fake.wait_for("views.open", count=before + 1, timeout=10)[before]
    assert call.reply is not None
    return dict(call.reply["view"])


def values_of(modal: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The form's state as Slack would submit it untouched."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in modal["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind == "plain_text_input":
            state: dict[str, Any] = {"value": element.get("initial_value")}
        elif kind == "static_select":
            state = {"selected_option": element.get("initial_option")}
        elif kind == "conversations_select":
            state = {"selected_conversation": element.get("initial_conversation")}
        elif kind == "multi_users_select":
            state = {"selected_users": element.get("initial_users", [])}
        else:
            raise AssertionError(kind)
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values


def set_text(values: dict[str, Any], block_id: str, text: str | None) -> None:
    [action] = values[block_id]
    values[block_id][action]["value"] = text


def set_preset(values: dict[str, Any], name: str) -> None:
    values[PRESET_BLOCK][PRESET_ACTION]["selected_option"] = {
        "value": name,
        "text": {"type": "plain_text", "text": name},
    }


def submit(
    w: HomeWorld,
    modal: dict[str, Any],
    values: dict[str, Any],
    user_id: str = ADMIN,
    callback_id: str = EDIT_CALLBACK,
) -> dict[str, Any]:
    payload = view_submission_payload(
        callback_id,
        values,
        user_id=user_id,
        private_metadata=modal["private_metadata"],
        view_id=modal["id"],
    )
    response = w.bot.slack.interaction(payload)
    assert response.status == 200
    return dict(response.json()) if response.body else {}


def redraw(
    w: HomeWorld, modal: dict[str, Any], values: dict[str, Any], action_id: str
) -> dict[str, Any]:
    """Change a schedule input; the form Slack was asked to redraw."""
    before = len(w.bot.fake.calls_to("views.update"))
    view = {**modal, "state": {"values": values}}
    payload = block_actions_payload(action_id, user_id=ADMIN, view=view)
    payload["actions"][0]["type"] = (
        "static_select" if action_id == PRESET_ACTION else "plain_text_input"
    )
    assert w.bot.slack.interaction(payload).status == 200
    call = w.bot.fake.wait_for("views.update", count=before + 1, timeout=10)[before]
    assert call.params["view_id"] == modal["id"]
    return dict(call.json_param("view"))


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def reply(w: HomeWorld, text: str, user_id: str = ADMIN) -> str:
    response = w.bot.slack.command(text, user_id=user_id)
    assert response.status == 200
    params = response.json()  # the answer is the ack itself
    return f"{params['text']}\n{json.dumps(params.get('blocks', []), ensure_ascii=False)}"


# --- the edit form ----------------------------------------------------------------------


def test_the_edit_form_shows_schedule_zone_channel_settings_and_a_preview(world: HomeWorld) -> None:
    standup = world.rituals["standup"]
    modal = open_form(world, "ritual_edit", str(standup))
    assert modal["callback_id"] == EDIT_CALLBACK
    assert json.loads(modal["private_metadata"]) == {
        "ritual": standup,
        "version": 1,
        "kind": "standup",
    }
    preset = block(modal, PRESET_BLOCK)
    assert preset["dispatch_action"] is True
    assert preset["element"]["initial_option"]["value"] == "weekdays_0930"
    assert {o["value"] for o in preset["element"]["options"]} >= {"weekly_thursday_1500", "custom"}
    assert block(modal, TIMEZONE_BLOCK)["element"]["initial_value"] == "member-local"
    assert block(modal, CHANNEL_BLOCK)["element"]["type"] == "conversations_select"
    settings = {
        b["block_id"] for b in modal["blocks"] if b.get("block_id", "").startswith("setting:")
    }
    assert settings == {
        "setting:questions",
        "setting:cutoff",
        "setting:channel_timezone",
        "setting:max_answer_length",
        "setting:stale_ask_after_days",
        "setting:grace_minutes",
    }
    assert json.loads(block(modal, "setting:cutoff")["element"]["initial_value"]) == {
        "after_minutes": 240
    }
    preview = block(modal, PREVIEW_BLOCK)["text"]["text"]
    # Member-local: shown in the default zone (UTC); weekdays from Monday 12th, 09:30.
    assert "Next 5 fire times" in preview
    for day in (
        "Mon 12 Jan 2026",
        "Tue 13 Jan 2026",
        "Wed 14 Jan 2026",
        "Thu 15 Jan 2026",
        "Fri 16 Jan 2026",
    ):
        assert f"{day}, 09:30 UTC" in preview


def test_kind_specific_settings_for_shadowing_kudos_and_digest(world: HomeWorld) -> None:
    shadowing = open_form(world, "ritual_edit", str(world.rituals["shadowing"]))
    assert {"setting:pair_size", "setting:recency_window", "setting:min_overlap_hours"} <= {
        b.get("block_id") for b in shadowing["blocks"]
    }
    kudos = open_form(world, "ritual_edit", str(world.rituals["kudos_prompt"]))
    assert {"setting:kudos_values", "setting:kudos_daily_limit"} <= {
        b.get("block_id") for b in kudos["blocks"]
    }
    values = values_of(kudos)
    set_text(values, "setting:kudos_values", "customer-first, ownership")
    set_text(values, "setting:kudos_daily_limit", "3")
    assert submit(world, kudos, values) == {}
    with world.bot.services.sessions() as session:
        settings = session.get(Partnership, world.partnership).settings  # type: ignore[union-attr]
    assert settings["kudos_values"] == ["customer-first", "ownership"]
    assert settings["kudos_daily_limit"] == 3
    assert "partnership.settings" in audit_actions(world)


def test_digest_leaders_and_bands_and_shadowing_settings_are_checked_by_their_kind(
    world: HomeWorld,
) -> None:
    added = reply(world, "admin ritual add Launch digest")
    digest_id = int(added.split("Added digest #")[1].split(":")[0])
    modal = open_form(world, "ritual_edit", str(digest_id))
    leaders = block(modal, "digest_leaders")["element"]
    assert leaders["type"] == "multi_users_select" and leaders["initial_users"] == ["UM1"]
    values = values_of(modal)
    set_text(values, "setting:balance", '{"reach": {"green": "high"}}')
    answer = submit(world, modal, values)
    assert "must be a number" in answer["errors"]["setting:balance"]
    set_text(values, "setting:balance", '{"reach": {"green": 0.5, "amber": 0.25}, "min_asks": 4}')
    values["digest_leaders"]["ritual_form_leaders"]["selected_users"] = ["UM1", "UI1"]
    set_text(values, "setting:leaders_channel", "CLEADS")
    assert submit(world, modal, values) == {}
    with world.bot.services.sessions() as session:
        partnership = session.get(Partnership, world.partnership)
        assert partnership is not None
        assert partnership.settings["balance"] == {
            "reach": {"green": 0.5, "amber": 0.25},
            "min_asks": 4,
        }
        assert set(session.scalars(select(PartnershipLeader.slack_user_id))) == {"UM1", "UI1"}
        saved = session.get(Ritual, digest_id)
        assert saved is not None and saved.settings["leaders_channel"] == "CLEADS"
    assert {"ritual.edit", "partnership.settings", "partnership.leaders"} <= set(
        audit_actions(world)
    )

    shadowing = open_form(world, "ritual_edit", str(world.rituals["shadowing"]))
    values = values_of(shadowing)
    set_text(values, "setting:pair_size", "4")
    answer = submit(world, shadowing, values)
    assert "pair_size must be a whole number from 2 to 3" in answer["errors"]["setting:pair_size"]
    set_text(values, "setting:pair_size", "3")
    set_text(values, "setting:workday_start", "08:30")
    assert submit(world, shadowing, values) == {}
    saved_shadowing = ritual(world, "shadowing")
    assert saved_shadowing is not None and saved_shadowing.settings["pair_size"] == 3
    assert saved_shadowing.settings["workday_start"] == "08:30"
    # The weekly preset's schedule, kept.
    assert saved_shadowing.cron == "0 15 * * 4" and "every_n_weeks" not in saved_shadowing.settings


def test_changing_the_schedule_redraws_the_preview(world: HomeWorld) -> None:
    modal = open_form(world, "ritual_edit", str(world.rituals["standup"]))
    values = values_of(modal)
    set_preset(values, "weekly_thursday_1500")
    set_text(values, TIMEZONE_BLOCK, "Europe/Berlin")
    redrawn = redraw(world, modal, values, PRESET_ACTION)
    preview = block(redrawn, PREVIEW_BLOCK)["text"]["text"]
    assert "Thu 15 Jan 2026, 15:00 Europe/Berlin" in preview
    assert "Thu 12 Feb 2026, 15:00 Europe/Berlin" in preview
    # The inputs keep their block and action ids, so what was typed stays.
    assert [b.get("block_id") for b in redrawn["blocks"]] == [
        b.get("block_id") for b in modal["blocks"]
    ]

    set_preset(values, "custom")
    set_text(values, CRON_BLOCK, "61 9 * * *")
    preview = block(redraw(world, modal, values, CRON_ACTION), PREVIEW_BLOCK)["text"]["text"]
    assert ":warning:" in preview and "61 9 * * *" in preview

    set_text(values, CRON_BLOCK, "0 7 * * 6")
    set_text(values, TIMEZONE_BLOCK, "Mars/Olympus")
    preview = block(redraw(world, modal, values, TIMEZONE_ACTION), PREVIEW_BLOCK)["text"]["text"]
    assert "Unknown time zone 'Mars/Olympus'" in preview
    assert ritual(world, "standup").version == 1  # type: ignore[union-attr]  # a preview saves nothing


def test_a_valid_save_is_audited_and_the_next_tick_uses_it(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    world.open_home(ADMIN)
    modal = open_form(world, "ritual_edit", str(standup_id))
    values = values_of(modal)
    set_preset(values, "custom")
    set_text(values, CRON_BLOCK, "0 10 * * 1-3")
    set_text(values, TIMEZONE_BLOCK, "Europe/London")
    set_text(values, "setting:cutoff", '{"after_minutes": 120}')
    values[CHANNEL_BLOCK]["ritual_form_channel"]["selected_conversation"] = "CJOINT"
    before = len(world.bot.fake.calls_to("views.publish"))
    assert submit(world, modal, values) == {}  # an empty ack closes the form
    saved = ritual(world, "standup")
    assert saved is not None
    assert (saved.cron, saved.timezone, saved.ritual_channel_id, saved.version) == (
        "0 10 * * 1-3",
        "Europe/London",
        "CJOINT",
        2,
    )
    assert saved.settings["cutoff"] == {"after_minutes": 120}
    # The standup's time and days follow its cron.
    assert saved.settings["time"] == "10:00" and saved.settings["days"] == ["mon", "tue", "wed"]
    entry = last_audit(world)
    assert (entry.actor_user_id, entry.action, entry.target) == (
        ADMIN,
        "ritual.edit",
        f"ritual:{standup_id}",
    )
    assert entry.before is not None and entry.before["cron"] == "30 9 * * 1-5"
    assert entry.after is not None and entry.after["cron"] == "0 10 * * 1-3"
    assert f"Saved standup #{standup_id}" in text_of(world.next_home(before))

    # No restart: the next tick reads the row and fires at 10:00 London, not 09:30.
    tick(world.bot.services, datetime(2026, 1, 12, 9, 45, tzinfo=UTC))
    tick(world.bot.services, datetime(2026, 1, 12, 10, 0, 5, tzinfo=UTC))
    with world.bot.services.sessions() as session:
        keys = set(
            session.scalars(select(Occurrence.fire_key).where(Occurrence.ritual_id == standup_id))
        )
    assert keys == {"2026-01-12T10:00"}


def test_invalid_input_is_shown_inline_and_nothing_is_saved(world: HomeWorld) -> None:
    modal = open_form(world, "ritual_edit", str(world.rituals["standup"]))
    audited = audit_actions(world)

    def errors(**changes: str) -> dict[str, str]:
        values = values_of(modal)
        for block_id, text in changes.items():
            if block_id == "channel":
                values[CHANNEL_BLOCK]["ritual_form_channel"]["selected_conversation"] = text
            elif block_id == "preset":
                set_preset(values, text)
            else:
                set_text(values, block_id.replace("__", ":"), text)
        answer = submit(world, modal, values)
        assert answer["response_action"] == "errors"
        return dict(answer["errors"])

    assert "not valid" in errors(preset="custom", schedule_cron="61 9 * * *")[CRON_BLOCK]
    assert "never fires" in errors(preset="custom", schedule_cron="0 9 31 2 *")[CRON_BLOCK]
    assert "Unknown time zone" in errors(schedule_tz="Europe/Atlantis")[TIMEZONE_BLOCK]
    assert "not in that channel" in errors(channel="COUT")[CHANNEL_BLOCK]
    assert "after_minutes" in errors(setting__cutoff='{"after_minutes": 0}')["setting:cutoff"]
    assert (
        "once a day at one time"
        in errors(preset="custom", schedule_cron="*/30 9 * * *")[CRON_BLOCK]
    )
    current = ritual(world, "standup")
    assert current is not None and current.version == 1 and current.cron == "30 9 * * 1-5"
    assert audit_actions(world) == audited


def test_two_admins_editing_one_ritual_the_later_save_is_told(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    mine = open_form(world, "ritual_edit", str(standup_id))
    theirs = open_form(world, "ritual_edit", str(standup_id), user_id="UADMIN2")
    their_values = values_of(theirs)
    set_text(their_values, "setting:max_answer_length", "500")
    assert submit(world, theirs, their_values, user_id="UADMIN2") == {}

    my_values = values_of(mine)
    set_text(my_values, "setting:max_answer_length", "900")
    answer = submit(world, mine, my_values)
    assert answer["response_action"] == "errors"
    assert "changed by someone else meanwhile; close and reopen" in answer["errors"][PRESET_BLOCK]
    current = ritual(world, "standup")
    assert current is not None and current.settings["max_answer_length"] == 500
    assert current.version == 2


def test_a_ritual_deleted_while_its_form_is_open(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    modal = open_form(world, "ritual_edit", str(standup_id))
    assert "Deleted standup" in reply(world, f"admin ritual {standup_id} delete", user_id="UADMIN2")
    answer = submit(world, modal, values_of(modal))
    assert answer["response_action"] == "errors"
    assert "no longer exists" in answer["errors"][PRESET_BLOCK]
    # Redrawing the preview says so too, and Edit on a stale Home opens an explanation.
    redrawn = redraw(world, modal, values_of(modal), CRON_ACTION)
    assert "no longer exists" in text_of(redrawn)
    stale = open_form(world, "ritual_edit", str(standup_id))
    assert stale.get("callback_id", "") == "" and "no longer exists" in text_of(stale)
    with world.bot.services.sessions() as session:
        assert session.get(Ritual, standup_id) is None


# --- buttons ---------------------------------------------------------------------------


def test_pause_resume_run_now_and_delete_from_the_home_tab(world: HomeWorld) -> None:
    kudos_id = world.rituals["kudos_prompt"]
    world.open_home(ADMIN)
    view = world.act_and_wait("ritual_pause", str(kudos_id))
    assert ritual(world, "kudos_prompt").paused  # type: ignore[union-attr]
    assert f"Paused kudos prompt #{kudos_id}" in text_of(view)
    assert "ritual_resume" in {
        e.get("action_id") for b in view["blocks"] for e in b.get("elements", [])
    }
    view = world.act_and_wait("ritual_pause", str(kudos_id))
    assert "already paused" in text_of(view)

    view = world.act_and_wait("ritual_resume", str(kudos_id))
    assert not ritual(world, "kudos_prompt").paused  # type: ignore[union-attr]
    assert f"Resumed kudos prompt #{kudos_id}" in text_of(view)

    view = world.act_and_wait("ritual_run_now", str(kudos_id))
    assert f"Ran kudos prompt #{kudos_id} once now: prompted 4 members." in text_of(view)
    with world.bot.services.sessions() as session:
        manual = session.scalars(select(Occurrence).where(Occurrence.ritual_id == kudos_id)).one()
        prompts = session.scalar(
            select(func.count()).where(
                Outbox.idempotency_key.startswith(f"kudos-prompt:{manual.id}:")
            )
        )
    assert manual.fire_key.startswith("manual:") and prompts == 4

    view = world.act_and_wait("ritual_delete", str(kudos_id))
    assert ritual(world, "kudos_prompt") is None
    assert f"Deleted kudos prompt #{kudos_id}" in text_of(view)
    assert audit_actions(world)[-4:] == [
        "ritual.pause",
        "ritual.resume",
        "ritual.run_now",
        "ritual.delete",
    ]
    deleted = last_audit(world)
    # A button on a Home drawn before the delete: a clear line, nothing changes.
    view = world.act_and_wait("ritual_run_now", str(kudos_id))
    assert "no longer exists" in text_of(view)
    assert last_audit(world).id == deleted.id
    assert (
        deleted.before is not None
        and deleted.before["kind"] == "kudos_prompt"
        and deleted.after is None
    )


def test_team_sync_now(world: HomeWorld) -> None:
    world.bot.fake.add_usergroup("SMKT", "marketing", ["UM1", "UM2"])
    world.bot.fake.add_channel("CIT", "it", ["UI1", "UI2", "UM1"])
    world.open_home(ADMIN)
    view = world.act_and_wait("teams_sync_now", "all")
    # Reading every team from Slack is a durable job, committed before the click is acked.
    assert "Syncing teams from Slack" in text_of(view)
    with world.bot.services.sessions() as session:
        assert session.scalar(select(Job.state)) == "pending"
    before = len(world.bot.fake.calls_to("views.publish"))
    runner = JobRunner(world.bot.services, world.bot.app.client, HANDLERS, clock=world.clock)
    assert runner.run_once() == 1
    view = world.next_home(before)
    with world.bot.services.sessions() as session:
        assert session.scalar(select(Job.state)) == "done"
    assert "Synced: " in text_of(view)
    assert "Marketing 2 (+0 / -0)" in text_of(view) and "IT 3 (+1 / -0)" in text_of(view)
    entry = last_audit(world)
    assert entry.action == "team.sync" and entry.after is not None
    assert entry.after["IT"] == {"members": 3, "added": 1, "removed": 0}


def test_add_a_ritual_from_the_home_tab(world: HomeWorld) -> None:
    world.open_home(ADMIN)
    modal = open_form(world, "ritual_add", str(world.partnership))
    assert modal["callback_id"] == ADD_CALLBACK
    kinds = block(modal, KIND_BLOCK)["element"]["options"]
    # The others exist already.
    assert [k["value"] for k in kinds] == ["digest", "kpi_checkin", "pulse"]
    values = values_of(modal)
    values[KIND_BLOCK]["ritual_form_kind"]["selected_option"] = kinds[0]
    set_text(values, TIMEZONE_BLOCK, "Nowhere/Special")
    answer = submit(world, modal, values, callback_id=ADD_CALLBACK)
    assert "Unknown time zone" in answer["errors"][TIMEZONE_BLOCK]
    set_text(values, TIMEZONE_BLOCK, "Europe/London")
    before = len(world.bot.fake.calls_to("views.publish"))
    assert submit(world, modal, values, callback_id=ADD_CALLBACK) == {}
    with world.bot.services.sessions() as session:
        digest = session.scalars(select(Ritual).where(Ritual.kind == "digest")).one()
    assert (digest.cron, digest.timezone) == ("0 9 1-3 * 1-5", "Europe/London")
    assert digest.settings == {"first_working_day_only": True}
    assert f"Added digest #{digest.id}" in text_of(world.next_home(before))
    assert last_audit(world).action == "ritual.add"


# --- forged payloads --------------------------------------------------------------------


def test_a_non_admin_forging_admin_actions_changes_nothing(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    admin_modal = open_form(world, "ritual_edit", str(standup_id))
    world.open_home("UM1")
    audited = audit_actions(world)
    opened = len(world.bot.fake.calls_to("views.open"))
    for action_id, value in [
        ("ritual_pause", str(standup_id)),
        ("ritual_resume", str(standup_id)),
        ("ritual_run_now", str(standup_id)),
        ("ritual_delete", str(standup_id)),
        ("ritual_edit", str(standup_id)),
        ("ritual_add", str(world.partnership)),
        ("teams_sync_now", "all"),
    ]:
        view = world.act_and_wait(action_id, value, user_id="UM1")
        assert "Only Tandem admins can " in text_of(view)
        assert "; nothing was changed." in text_of(view)
        assert "ritual_edit" not in text_of(view)  # still no admin section
    values = values_of(admin_modal)
    set_text(values, TIMEZONE_BLOCK, "Europe/London")
    answer = submit(world, admin_modal, values, user_id="UM1")
    assert (
        answer["response_action"] == "errors"
        and "Only Tandem admins" in answer["errors"][PRESET_BLOCK]
    )
    add = {
        KIND_BLOCK: {
            "ritual_form_kind": {"type": "static_select", "selected_option": {"value": "digest"}}
        }
    }
    answer = submit(
        world,
        {"id": "V9", "private_metadata": json.dumps({"partnership": world.partnership})},
        add,
        user_id="UM1",
        callback_id=ADD_CALLBACK,
    )
    assert "Only Tandem admins" in answer["errors"][KIND_BLOCK]
    current = ritual(world, "standup")
    assert current is not None and current.version == 1 and not current.paused
    assert audit_actions(world) == audited
    assert len(world.bot.fake.calls_to("views.open")) == opened
    with world.bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Occurrence)) == 0
        assert session.scalar(select(func.count()).where(Ritual.kind == "digest")) == 0


# --- the slash equivalents ---------------------------------------------------------------


def test_slash_commands_list_reschedule_pause_resume_run_add_delete_and_audit(
    world: HomeWorld,
) -> None:
    standup_id = world.rituals["standup"]
    shadowing_id = world.rituals["shadowing"]
    listing = reply(world, "admin rituals")
    assert (
        f"`#{standup_id}` *Standup* · Weekdays at 09:30, each member's local time · next <!date^"
        in listing
    )
    assert f"`#{shadowing_id}` *Shadowing* · Every Thursday at 15:00, UTC" in listing

    text = reply(world, f'admin ritual {standup_id} schedule "0 8 * * 1-5" tz=Europe/London')
    assert f"Rescheduled standup #{standup_id}: Weekdays at 08:00, Europe/London." in text
    assert ritual(world, "standup").settings["time"] == "08:00"  # type: ignore[union-attr]
    text = reply(world, f"admin ritual {standup_id} schedule weekdays_0930 tz=member-local")
    assert "Weekdays at 09:30, each member's local time" in text

    assert f"Paused shadowing #{shadowing_id}" in reply(world, f"admin ritual {shadowing_id} pause")
    assert "*paused*" in reply(world, "admin rituals")
    assert "already paused" in reply(world, f"admin ritual {shadowing_id} pause")
    assert f"Resumed shadowing #{shadowing_id}" in reply(
        world, f"admin ritual {shadowing_id} resume"
    )
    kudos_id = world.rituals["kudos_prompt"]
    assert f"Ran kudos prompt #{kudos_id} once now: prompted" in reply(
        world, f"admin ritual {kudos_id} run-now"
    )
    added = reply(world, "admin ritual add Launch digest monthly_first_0900 tz=Europe/Paris")
    assert "Added digest #" in added and "On the 1st of each month at 09:00, Europe/Paris" in added
    assert "already has a digest ritual" in reply(world, "admin ritual add Launch digest")
    assert "No partnership `Nope`" in reply(world, "admin ritual add Nope standup")
    assert f"Deleted kudos prompt #{kudos_id}" in reply(world, f"admin ritual {kudos_id} delete")
    assert "no longer exists" in reply(world, f"admin ritual {kudos_id} pause")
    assert "never fires" in reply(world, f'admin ritual {standup_id} schedule "0 9 30 2 *"')

    audit_text = reply(world, "admin audit 6")
    assert "*ritual.delete*" in audit_text and "*ritual.add*" in audit_text
    assert "*ritual.resume*" in audit_text and f"<@{ADMIN}>" in audit_text
    assert 'before: `{"paused": true, "version": 2}`' in audit_text.replace("\\", "")
    assert 'after: `{"paused": false, "version": 3}`' in audit_text.replace("\\", "")
    assert audit_actions(world)[-7:] == [
        "ritual.schedule",
        "ritual.schedule",
        "ritual.pause",
        "ritual.resume",
        "ritual.run_now",
        "ritual.add",
        "ritual.delete",
    ]


def test_slash_ritual_commands_are_for_admins_only(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    for text in ("admin rituals", f"admin ritual {standup_id} pause", "admin audit"):
        assert "Only Tandem admins" in reply(world, text, user_id="UM1")
    assert not ritual(world, "standup").paused  # type: ignore[union-attr]


def test_pause_and_resume_take_effect_at_the_next_tick(world: HomeWorld) -> None:
    shadowing_id = world.rituals["shadowing"]
    reply(world, f"admin ritual {shadowing_id} pause")
    thursday = datetime(2026, 1, 22, 15, 0, 5, tzinfo=UTC)  # a weekly slot
    tick(world.bot.services, thursday)
    with world.bot.services.sessions() as session:
        assert session.scalar(select(func.count()).where(Occurrence.ritual_id == shadowing_id)) == 0
    world.clock.now = thursday + timedelta(minutes=1)
    reply(world, f"admin ritual {shadowing_id} resume")
    tick(world.bot.services, datetime(2026, 2, 5, 15, 0, 5, tzinfo=UTC))
    with world.bot.services.sessions() as session:
        keys = list(
            session.scalars(select(Occurrence.fire_key).where(Occurrence.ritual_id == shadowing_id))
        )
    assert keys == ["2026-02-05T15:00"]  # what it missed while paused is not run


def test_a_run_now_that_prompts_nobody_says_who_was_skipped_and_why(world: HomeWorld) -> None:
    standup_id = world.rituals["standup"]
    world.clock.now = datetime(2026, 1, 10, 12, tzinfo=UTC)  # Saturday in all four zones
    text = reply(world, f"admin ritual {standup_id} run-now")
    assert (
        f"Ran standup #{standup_id} once now: prompted 0 members; "
        "skipped 4: 4 not a standup day for them." in text
    )
    view = world.act_and_wait("ritual_run_now", str(standup_id))
    assert "prompted 0 members; skipped 4: 4 not a standup day for them" in text_of(view)

    world.clock.now = datetime(2026, 1, 12, 12, tzinfo=UTC)  # Monday
    with transaction(world.bot.services.sessions) as session:
        set_away(session, world.members["UM1"], date(2026, 1, 16), world.clock.now)
        set_opted_out(session, world.members["UM2"], "standup", True, world.clock.now)
        set_opted_out(session, world.members["UI2"], "standup", True, world.clock.now)
    text = reply(world, f"admin ritual {standup_id} run-now")
    assert "prompted 1 member; skipped 3: 2 opted out of standups, 1 away." in text
    assert "<@" not in text.split("Ran standup", 1)[1]  # counts, never names
    with world.bot.services.sessions() as session:
        runs = session.scalars(
            select(AuditLog.after).where(AuditLog.action == "ritual.run_now")
        ).all()
    assert runs[-1] is not None and runs[-1]["skipped"] == {"opted out of standups": 2, "away": 1}


def test_a_shadowing_run_now_says_who_was_paired_and_who_was_left_out(world: HomeWorld) -> None:
    shadowing_id = world.rituals["shadowing"]
    with transaction(world.bot.services.sessions) as session:
        set_away(session, world.members["UM1"], date(2026, 1, 30), world.clock.now)
        set_opted_out(session, world.members["UI1"], "shadowing", True, world.clock.now)
    text = reply(world, f"admin ritual {shadowing_id} run-now")
    assert (
        f"Ran shadowing #{shadowing_id} once now: paired 2 members; "
        "skipped 2: 1 away, 1 opted out of shadowing." in text
    )


def test_forged_home_values_change_nothing(world: HomeWorld) -> None:
    """Ritual buttons with ids that are not ids, and checkboxes that are not the form's."""
    kudos_id = world.rituals["kudos_prompt"]
    world.open_home(ADMIN)
    before = audit_actions(world)
    for value in ("²", f"-{kudos_id}", "9" * 25, f"{kudos_id} "):
        view = world.act_and_wait("ritual_pause", value)
        assert "carried no ritual; nothing changed" in text_of(view), value
        # A different notice in between, so the next identical one is published again.
        world.act_and_wait("ritual_resume", str(kudos_id))
    assert not ritual(world, "kudos_prompt").paused  # type: ignore[union-attr]
    assert [a for a in audit_actions(world) if a != "ritual.resume"] == before

    world.open_home("UM1")
    for wrong_type in (["standup"], [{"value": 7}]):  # refused before any listener
        payload = block_actions_payload(
            "home_rituals",
            user_id="UM1",
            view={"id": "VHOME", "type": "home", "hash": "h", "blocks": []},
        )
        payload["actions"][0].update(type="checkboxes", selected_options=wrong_type)
        assert world.bot.slack.interaction(payload).status == 400
    for forged in ([{"value": "standup <!here>"}], [{"value": "standup"}, {"value": "a b"}]):
        view = world.act_and_wait(
            "home_rituals", user_id="UM1", type="checkboxes", selected_options=forged
        )
        assert "Nothing changed" in text_of(view)
        world.act_and_wait(
            "home_away_until", user_id="UM1", type="datepicker", selected_date="2026-01-20"
        )
        world.act_and_wait("home_back", user_id="UM1")
    assert world.member("UM1").opted_out == []


def test_pausing_withdraws_queued_prompts_and_resuming_does_not_resend_them(
    world: HomeWorld,
) -> None:
    standup_id = world.rituals["standup"]
    monday = datetime(2026, 1, 12, 9, 31, tzinfo=UTC)  # London's 09:30 prompts are due
    tick(world.bot.services, monday)
    with world.bot.services.sessions() as session:
        queued = session.scalar(
            select(func.count()).where(Outbox.ritual_id == standup_id, Outbox.status == "pending")
        )
    assert queued
    answer = reply(world, f"admin ritual {standup_id} pause")
    assert f"Withdrew {queued} queued message" in answer
    world.clock.now = monday + timedelta(minutes=5)
    assert "Resumed" in reply(world, f"admin ritual {standup_id} resume")
    tick(world.bot.services, monday + timedelta(minutes=6))
    with world.bot.services.sessions() as session:
        statuses = dict(
            session.execute(
                select(Outbox.status, func.count())
                .where(Outbox.ritual_id == standup_id)
                .group_by(Outbox.status)
            ).all()
        )
    assert statuses == {"cancelled": queued}  # nothing resent, nothing queued again
