"""`tandem run` picks Socket Mode or HTTP from the settings; `tandem doctor` explains problems."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.middleware.request_verification import RequestVerification

from bot import cli, server
from bot.app import create_app
from bot.doctor import diagnose
from bot.services import Services
from bot.settings import Settings, load_settings
from tests.fakes import FakeSlack
from tests.fakes.slack_api import APP_TOKEN, DEFAULT_TOKEN


@pytest.fixture
def fake() -> Any:
    with FakeSlack() as running:
        yield running


def _settings(url: str, fake: FakeSlack, **extra: Any) -> Settings:
    return load_settings(
        _env_file=None,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_API_URL=fake.url,
        TANDEM_DATABASE_URL=url,
        TANDEM_SCHEDULER_ENABLED=False,
        **extra,
    )


def test_app_token_selects_socket_mode(
    sqlite_url: str, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[Any, str, float]] = []

    class FakeHandler:
        def __init__(self, app: Any, app_token: str, *, ping_interval: float) -> None:
            started.append((app, app_token, ping_interval))

        def start(self) -> None:
            pass

    import slack_bolt.adapter.socket_mode as socket_mode

    monkeypatch.setattr(socket_mode, "SocketModeHandler", FakeHandler)
    monkeypatch.setattr(server, "serve_http", lambda s: pytest.fail("HTTP chosen in Socket Mode"))
    settings = _settings(
        sqlite_url, fake, SLACK_APP_TOKEN=APP_TOKEN, TANDEM_SOCKET_PING_SECONDS="2.5"
    )
    assert cli.cmd_run(settings, None) == 0  # type: ignore[arg-type]
    ((app, token, ping),) = started
    assert token == APP_TOKEN and ping == 2.5
    assert not any(isinstance(m, RequestVerification) for m in app._middleware_list)


def test_no_app_token_selects_http_with_signature_checks(
    sqlite_url: str, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[tuple[Settings, bool]] = []

    def serve_http(settings: Settings, *, with_worker: bool) -> None:
        chosen.append((settings, with_worker))

    monkeypatch.setattr(server, "serve_http", serve_http)
    settings = _settings(sqlite_url, fake, SLACK_SIGNING_SECRET="s")
    assert cli.cmd_run(settings, None) == 0  # type: ignore[arg-type]
    assert cli.cmd_web(settings, None) == 0  # type: ignore[arg-type]
    # `tandem run` serves and works (when its scheduler is on); `tandem web` only serves.
    assert chosen == [(settings, settings.scheduler_enabled), (settings, False)]
    services = Services.from_settings(settings)
    app = create_app(services)
    assert any(isinstance(m, RequestVerification) for m in app._middleware_list)
    services.close()


def test_doctor_all_good(sqlite_url: str, fake: FakeSlack) -> None:
    checks = list(diagnose(_settings(sqlite_url, fake, SLACK_SIGNING_SECRET="s")))
    assert [c.ok for c in checks] == [True, True, True], checks


def test_doctor_explains_each_problem(tmp_path: Any, fake: FakeSlack) -> None:
    settings = load_settings(
        _env_file=None,
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_API_URL=fake.url,
        TANDEM_DATABASE_URL=f"sqlite:///{tmp_path}/empty.db",
    )
    by_name = {c.name: c for c in diagnose(settings)}
    assert "SLACK_SIGNING_SECRET" in by_name["settings"].detail and not by_name["settings"].ok
    assert "tandem migrate" in by_name["database"].detail and not by_name["database"].ok
    assert "invalid_auth" in by_name["slack"].detail and not by_name["slack"].ok


def test_doctor_when_slack_is_unreachable(sqlite_url: str) -> None:
    settings = load_settings(
        _env_file=None,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        TANDEM_DATABASE_URL=sqlite_url,
    )
    slack = next(c for c in diagnose(settings) if c.name == "slack")
    assert not slack.ok and "SLACK_API_URL" in slack.detail
