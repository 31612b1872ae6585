"""Test doubles for Slack: a fake Web API server and a client that signs requests."""

from tests.fakes.signed import (
    Response,
    SlackSender,
    block_actions_payload,
    sign,
    view_submission_payload,
)
from tests.fakes.slack_api import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_TOKEN,
    TEAM_ID,
    Call,
    FakeSlack,
    Stats,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_TOKEN",
    "TEAM_ID",
    "Call",
    "FakeSlack",
    "Response",
    "SlackSender",
    "Stats",
    "block_actions_payload",
    "sign",
    "view_submission_payload",
]
