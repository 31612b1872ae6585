"""`tandem doctor`: each check says what is wrong and how to fix it, in one line.

The Slack checks are also what `tandem run` does before it starts serving,
so a rejected token or an unreachable Slack stops it with one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings, SettingsError
from storage.db import make_engine, ping, url_problem
from storage.migrate import current_revision, head_revision

SLACK_TIMEOUT_SECONDS = 5

# slack_sdk logs a failed request at ERROR with its own wording; each check says it in one line.
_QUIET = logging.getLogger("tandem.doctor.slack")
_QUIET.disabled = True


def _client(settings: Settings, token: str) -> WebClient:
    """A client without retries: one question, one answer."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        logger=_QUIET,
        retry_handlers=[],
    )


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
    yield database_check(settings)
    yield bot_token_check(settings)
    if settings.slack_app_token is not None:
        yield app_token_check(settings)


def database_check(settings: Settings) -> Check:
    problem = url_problem(settings.database_url)
    if problem:
        return Check("database", False, f"TANDEM_DATABASE_URL: {problem}")
    engine = make_engine(settings.database_url)
    try:
        unreachable = ping(engine)
        if unreachable:
            return Check(
                "database",
                False,
                f"{unreachable}. Check TANDEM_DATABASE_URL and that the server runs.",
            )
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    if current == head:
        return Check("database", True, f"reachable, schema {current}")
    return Check(
        "database", False, f"schema {current or 'empty'}, latest {head}: run `tandem migrate`"
    )


def bot_token_check(settings: Settings) -> Check:
    """auth.test with the bot token."""
    if settings.slack_bot_token is None:
        return Check("slack", False, "no SLACK_BOT_TOKEN, so auth.test was not tried")
    try:
        auth = _client(settings, settings.slack_bot_token.get_secret_value()).auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        return Check(
            "slack",
            False,
            f"auth.test answered {error}: reinstall the app and copy a fresh xoxb- token "
            "into SLACK_BOT_TOKEN",
        )
    except Exception as exc:
        return Check("slack", False, _unreachable(settings, exc))
    return Check(
        "slack",
        True,
        f"auth.test ok as {auth.get('user')} in {auth.get('team')} ({settings.slack_api_url})",
    )


def app_token_check(settings: Settings) -> Check:
    """apps.connections.open with the app-level token, as Socket Mode does first.

    It only hands out a WebSocket URL; nothing connects to it.
    """
    if settings.slack_app_token is None:
        return Check("socket mode", False, "no SLACK_APP_TOKEN, so Socket Mode is off")
    token = settings.slack_app_token.get_secret_value()
    try:
        _client(settings, token).apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = exc.response.get("error")
        return Check(
            "socket mode",
            False,
            f"apps.connections.open answered {error}: create an app-level token with "
            "connections:write (Basic Information > App-Level Tokens) and copy it into "
            "SLACK_APP_TOKEN, and check Socket Mode is on",
        )
    except Exception as exc:
        return Check("socket mode", False, _unreachable(settings, exc))
    return Check("socket mode", True, "apps.connections.open ok with SLACK_APP_TOKEN")


def _unreachable(settings: Settings, exc: Exception) -> str:
    return (
        f"cannot reach {settings.slack_api_url} ({type(exc).__name__}); "
        "check SLACK_API_URL and the network"
    )
