"""`tandem doctor`: each check says what is wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.settings import Settings, SettingsError
from bot.slack_client import make_client
from storage.db import make_engine, ping
from storage.migrate import current_revision, head_revision


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def diagnose(settings: Settings) -> Iterator[Check]:
    try:
        settings.require_slack_credentials()
        mode = "Socket Mode" if settings.socket_mode else f"HTTP on port {settings.port}"
        yield Check("settings", True, f"credentials present; {mode}")
    except SettingsError as exc:
        yield Check("settings", False, str(exc))

    engine = make_engine(settings.database_url)
    try:
        problem = ping(engine)
        if problem:
            yield Check(
                "database", False, f"{problem}. Check TANDEM_DATABASE_URL and that the server runs."
            )
        else:
            current, head = current_revision(engine), head_revision()
            if current == head:
                yield Check("database", True, f"reachable, schema {current}")
            else:
                yield Check(
                    "database",
                    False,
                    f"schema {current or 'empty'}, latest {head}: run `tandem migrate`",
                )
    finally:
        engine.dispose()

    if settings.slack_bot_token is None:
        yield Check("slack", False, "no SLACK_BOT_TOKEN, so auth.test was not tried")
        return
    try:
        auth = make_client(settings, timeout=5).auth_test()
        yield Check(
            "slack",
            True,
            f"auth.test ok as {auth.get('user')} in {auth.get('team')} ({settings.slack_api_url})",
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        yield Check(
            "slack",
            False,
            f"auth.test answered {error}: reinstall the app and copy a fresh xoxb- token",
        )
    except Exception as exc:
        yield Check(
            "slack",
            False,
            f"cannot reach {settings.slack_api_url} ({type(exc).__name__}); check SLACK_API_URL and the network",
        )
