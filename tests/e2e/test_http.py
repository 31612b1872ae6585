"""The HTTP endpoint as Slack sees it: signatures, retries, broken input, health."""

from __future__ import annotations

import http.client
import json
import threading
import time

from sqlalchemy import func, select

from storage.db import make_engine
from storage.models import SlackEvent, Team
from tests.e2e.conftest import ADMIN, RunningBot
from tests.fakes.signed import sign


def test_help_round_trip(bot: RunningBot) -> None:
    response = bot.slack.command("help", user_id=ADMIN)
    assert response.status == 200
    body = response.json()
    assert "Tandem commands" in body["text"]
    rendered = json.dumps(body["blocks"])
    for name in bot_subcommands(bot):
        assert f"/tandem {name}" in rendered
    assert "/tandem admin partnership add" in rendered


def test_help_shows_admin_commands_only_to_admins(bot: RunningBot) -> None:
    bot.fake.add_user("UMEMBER", tz="Europe/London")
    bot.fake.add_user("UOWNER", is_owner=True)
    for user_id in ("UMEMBER", "UNKNOWN"):
        body = bot.slack.command("help", user_id=user_id).json()
        shown = json.dumps(body)
        assert "/tandem kudos" in shown and "/tandem balance" in shown
        assert "/tandem admin" not in shown and "admin" not in body["text"]
        # An unknown word's help is the member's too.
        assert "/tandem admin" not in json.dumps(bot.slack.command("nope", user_id=user_id).json())
    owner = json.dumps(bot.slack.command("help", user_id="UOWNER").json())
    assert "/tandem admin partnership add" in owner


def bot_subcommands(bot: RunningBot) -> list[str]:
    from bot.listeners.commands import build_router

    return sorted(build_router(bot.services).names)


def test_empty_command_shows_help(bot: RunningBot) -> None:
    assert "Tandem commands" in bot.slack.command("").json()["text"]


def test_unknown_subcommand_suggests_the_nearest(bot: RunningBot) -> None:
    body = bot.slack.command("admn team list").json()
    assert "Did you mean `/tandem admin`?" in body["text"]
    assert "/tandem help" in json.dumps(body["blocks"])


def _team_count(bot: RunningBot) -> int:
    with bot.services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Team)) or 0)


def test_bad_signature_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    bot.fake.add_usergroup("S1", "marketing", [])
    body = b"command=%2Ftandem&text=admin+team+add+Marketing+%3C%21subteam%5ES1%3E&user_id=UADMIN&team_id=T0001"
    headers = sign(body, "not-the-secret")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = bot.slack.raw(body, headers)
    assert response.status == 401
    assert _team_count(bot) == 0
    assert bot.fake.calls_to("usergroups.users.list") == []


def test_stale_timestamp_is_refused_and_changes_nothing(bot: RunningBot) -> None:
    body = b"command=%2Ftandem&text=admin+team+add+Marketing+%3C%21subteam%5ES1%3E&user_id=UADMIN&team_id=T0001"
    headers = sign(body, bot.slack.signing_secret, timestamp=int(time.time()) - 6 * 60)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert bot.slack.raw(body, headers).status == 401
    assert _team_count(bot) == 0


def test_retried_event_is_processed_once(bot: RunningBot) -> None:
    handled: list[str] = []
    done = threading.Event()

    @bot.app.event("app_mention")
    def on_mention(ack, event) -> None:  # type: ignore[no-untyped-def]
        ack()
        handled.append(event["ts"])
        done.set()

    event = {
        "type": "app_mention",
        "user": ADMIN,
        "text": "<@UBOT> hi",
        "ts": "1.0",
        "channel": "C1",
    }
    assert bot.slack.event(event, event_id="Ev42").status == 200
    assert done.wait(5)
    for retry in (1, 2):
        assert bot.slack.event(event, event_id="Ev42", retry_num=retry).status == 200
    # The retries were answered without running a listener: nothing else to wait for.
    assert handled == ["1.0"]
    with bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SlackEvent)) == 1


def test_malformed_payloads_get_4xx_never_500(bot: RunningBot) -> None:
    secret = bot.slack.signing_secret
    cases = [
        (b"", "application/x-www-form-urlencoded"),
        (b"payload=not-json", "application/x-www-form-urlencoded"),
        (b"payload=%7B%22type%22%3A%22block_actions%22", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"type": "event_callback"}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
    ]
    for body, content_type in cases:
        headers = {**sign(body, secret), "Content-Type": content_type}
        response = bot.slack.raw(body, headers)
        assert 400 <= response.status < 500, (body, response.status, response.text)
        assert "Traceback" not in response.text


def test_unknown_paths_and_verbs(bot: RunningBot) -> None:
    assert bot.slack.raw(b"", {}, path="/nope").status == 404
    assert bot.slack.raw(b"", {}, path="/slack/events", method="GET").status == 405


def test_oversized_body_is_refused_before_it_is_read(bot: RunningBot) -> None:
    conn = http.client.HTTPConnection(bot.url.removeprefix("http://"), timeout=5)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(5_000_000))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()


def test_healthz_reports_the_database(bot: RunningBot) -> None:
    response = bot.slack.raw(b"", {}, path="/healthz", method="GET")
    assert response.status == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_degrades_when_the_database_is_gone(bot: RunningBot) -> None:
    broken = (
        "sqlite:////nonexistent/dir/x.db"
        if bot.services.engine.dialect.name == "sqlite"
        else "postgresql://postgres@127.0.0.1:1/test"
    )
    bot.services.engine.dispose()
    bot.services.engine = make_engine(broken)
    response = bot.slack.raw(b"", {}, path="/healthz", method="GET")
    assert response.status == 503
    assert response.json()["database"] == "unreachable"
