"""manifest.yml is a valid Slack app manifest, and it matches the listeners one to one."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from slack_bolt import App

from bot import listeners
from bot.services import Services
from bot.settings import load_settings

ROOT = Path(__file__).parents[2]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.json"
MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema() -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not beside this clone ({SCHEMA})")
    validator = Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(MANIFEST), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


class _RecordingApp(App):
    """Records what each listener registers, so it can be compared with the manifest."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registered: dict[str, set[str]] = defaultdict(set)

    def _note(self, kind: str, constraint: Any) -> None:
        if isinstance(constraint, dict):
            constraint = (
                constraint.get("callback_id")
                or constraint.get("action_id")
                or constraint.get("type")
            )
        if isinstance(constraint, re.Pattern):
            constraint = constraint.pattern
        self.registered[kind].add(str(constraint))

    def command(self, command: Any, *a: Any, **k: Any) -> Any:
        self._note("command", command)
        return super().command(command, *a, **k)

    def shortcut(self, constraints: Any, *a: Any, **k: Any) -> Any:
        self._note("shortcut", constraints)
        return super().shortcut(constraints, *a, **k)

    def message_shortcut(self, callback_id: Any, *a: Any, **k: Any) -> Any:
        self._note("shortcut", callback_id)
        return super().message_shortcut(callback_id, *a, **k)

    def global_shortcut(self, callback_id: Any, *a: Any, **k: Any) -> Any:
        self._note("shortcut", callback_id)
        return super().global_shortcut(callback_id, *a, **k)

    def event(self, event: Any, *a: Any, **k: Any) -> Any:
        self._note("event", event)
        return super().event(event, *a, **k)


@pytest.fixture
def registered(sqlite_url: str) -> dict[str, set[str]]:
    settings = load_settings(
        _env_file=None, TANDEM_DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN="xoxb-x"
    )
    services = Services.from_settings(settings)
    app = _RecordingApp(token="xoxb-x", signing_secret="s", token_verification_enabled=False)
    listeners.register(app, services)
    services.close()
    return app.registered


def test_every_manifest_command_has_a_listener_and_back(registered: dict[str, set[str]]) -> None:
    declared = {c["command"] for c in MANIFEST["features"].get("slash_commands", [])}
    assert declared == registered["command"]


def test_every_manifest_shortcut_has_a_listener_and_back(registered: dict[str, set[str]]) -> None:
    declared = {s["callback_id"] for s in MANIFEST["features"].get("shortcuts", [])}
    assert declared == registered["shortcut"]


def test_every_subscribed_event_has_a_listener_and_back(registered: dict[str, set[str]]) -> None:
    declared = set(MANIFEST["settings"].get("event_subscriptions", {}).get("bot_events", []))
    assert declared == registered["event"]


def test_manifest_uses_socket_mode_and_interactivity() -> None:
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["features"]["slash_commands"][0]["should_escape"] is True


def test_every_scope_is_justified_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for scope in MANIFEST["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in readme, f"scope {scope} is not explained in README.md"
