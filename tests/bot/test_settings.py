"""Settings: every variable is read, and a bad one stops the program with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ALL_VARIABLES = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "secret",
    "SLACK_APP_TOKEN": "xapp-1",
    "SLACK_API_URL": "http://127.0.0.1:9/api",
    "TANDEM_DATABASE_URL": "sqlite:///x.db",
    "TANDEM_HOST": "127.0.0.1",
    "TANDEM_PORT": "8080",
    "TANDEM_ADMIN_USER_IDS": "U1, U2,,",
    "TANDEM_DEFAULT_TIMEZONE": "Europe/Berlin",
    "TANDEM_LOG_LEVEL": "debug",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "TANDEM_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return monkeypatch


def test_every_documented_variable_is_read(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ALL_VARIABLES.items():
        clean_env.setenv(name, value)
    s = load_settings()
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-1"
    assert s.socket_mode
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert (s.database_url, s.host, s.port) == ("sqlite:///x.db", "127.0.0.1", 8080)
    assert s.admin_user_ids == frozenset({"U1", "U2"})
    assert (s.default_timezone, s.log_level) == ("Europe/Berlin", "DEBUG")


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_url == "sqlite:///tandem.db"
    assert s.port == 3000
    assert not s.socket_mode


def test_dotenv_file_is_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TANDEM_PORT=4000\n")
    assert load_settings().port == 4000


def test_env_example_documents_every_setting() -> None:
    from bot.settings import Settings

    example = (Path(__file__).parents[2] / ".env.example").read_text()
    for field in Settings.model_fields.values():
        assert f"{field.alias}=" in example, f"{field.alias} missing from .env.example"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("TANDEM_PORT", "not-a-port", "TANDEM_PORT is invalid"),
        ("TANDEM_PORT", "70000", "TANDEM_PORT is invalid"),
        ("TANDEM_DEFAULT_TIMEZONE", "Mars/Olympus", "TANDEM_DEFAULT_TIMEZONE is invalid"),
        # The host's zone is no place: replicas would disagree (rituals.zones).
        ("TANDEM_DEFAULT_TIMEZONE", "localtime", "TANDEM_DEFAULT_TIMEZONE is invalid"),
        ("TANDEM_LOG_LEVEL", "chatty", "TANDEM_LOG_LEVEL is invalid"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is invalid"),
    ],
)
def test_invalid_value_names_the_setting(
    clean_env: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user"}, "starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN must be"),
    ],
)
def test_missing_credentials_are_explained(
    clean_env: pytest.MonkeyPatch, env: dict[str, str], fragment: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=fragment):
        load_settings().require_slack_credentials()


def _tandem(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**base, **env, "PYTHONPATH": str(Path(__file__).parents[2])},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_tokens_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = _tandem(["run"], {}, tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SLACK_BOT_TOKEN is not set" in lines[0]
    assert "Traceback" not in done.stderr


def test_invalid_setting_exits_2_without_traceback(tmp_path: Path) -> None:
    done = _tandem(["migrate"], {"TANDEM_PORT": "abc"}, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("tandem: TANDEM_PORT is invalid")
    assert "Traceback" not in done.stderr


def test_run_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "TANDEM_DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    done = _tandem(["run"], env, tmp_path)
    assert done.returncode == 2
    assert "run `tandem migrate`" in done.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    done = _tandem(["migrate"], {"TANDEM_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "latest schema" in done.stdout
