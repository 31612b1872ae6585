"""Requests signed the way Slack signs them, sent to the app's real HTTP endpoint.

Slash commands and interactions arrive form-encoded, events as a JSON envelope;
each carries `X-Slack-Request-Timestamp` and `X-Slack-Signature`
(v0 HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, FakeSlack

VERIFICATION_TOKEN = "verification-token"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to every request it sends."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def fresh_trigger_id() -> str:
    """A trigger id no other request has, as Slack gives every action its own.

    The app acts on each trigger id once (a replay changes nothing), so two
    requests meant as two actions must not share one.
    """
    return f"1337.{next(_TRIGGERS)}.{uuid.uuid4().hex}"


_TRIGGERS = itertools.count(1)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str = "U1",
    channel_id: str | None = "C1",
    block_id: str = "actions",
    message_ts: str | None = None,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A button click as Slack sends it, from a message or (with `view`) a modal."""
    action: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{int(time.time())}.000001",
    }
    if value is not None:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or fresh_trigger_id(),
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = dict(view)
    elif channel_id is not None:
        ts = message_ts or "1700000000.000100"
        payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel_id}
        payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
        payload["message"] = {"type": "message", "ts": ts, "user": BOT_USER_ID, "text": ""}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_submission_payload(
    callback_id: str,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    user_id: str = "U1",
    private_metadata: str = "",
    view_id: str = "V1",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A modal submission; `values` is view.state.values (block_id -> action_id -> value)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or fresh_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": {k: dict(v) for k, v in values.items()}},
            "hash": "1700000000.abcdef",
            "app_id": APP_ID,
            "bot_id": "B0001",
        },
        "response_urls": [],
    }


class SlackSender:
    """Plays Slack's side of the Events API: signs and posts to the app's endpoint.

    With a FakeSlack, slash commands get response_urls that the fake records, so
    the app's `respond()` calls can be awaited with `fake.wait_for("response_url")`.
    """

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        fake: FakeSlack | None = None,
        *,
        path: str = "/slack/events",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.fake = fake
        self.path = path
        self.timeout = timeout
        self.clock = clock
        self._serial = itertools.count(1)
        self.last_sent: tuple[bytes, dict[str, str]] | None = None

    def command(
        self,
        text: str,
        user_id: str = "U1",
        channel_id: str = "C1",
        team_id: str = TEAM_ID,
        command: str = "/tandem",
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> Response:
        serial = next(self._serial)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url or self._response_url(serial),
            "trigger_id": trigger_id or fresh_trigger_id(),
        }
        return self._send_form(fields)

    def interaction(self, payload: Mapping[str, Any]) -> Response:
        """block_actions, view_submission, shortcut or message_action: `payload=<json>`."""
        return self._send_form({"payload": json.dumps(payload)})

    def event(
        self,
        event: Mapping[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        team_id: str = TEAM_ID,
    ) -> Response:
        """An event_callback envelope; resend with the same event_id and a retry_num to retry."""
        now = int(self.clock())
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._serial):010d}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self._send_signed(json.dumps(envelope).encode(), headers)

    def raw(
        self,
        body: bytes,
        headers: Mapping[str, str],
        path: str = "/slack/events",
        method: str = "POST",
    ) -> Response:
        """Exactly these bytes and headers, unsigned unless the caller added `sign(...)`."""
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout
        )
        try:
            connection.request(method, parts.path + path, body=body, headers=dict(headers))
            answer = connection.getresponse()
            return Response(
                status=answer.status,
                headers={name.lower(): value for name, value in answer.getheaders()},
                body=answer.read(),
            )
        finally:
            connection.close()

    def replay(self) -> Response:
        """The last signed request again, byte for byte with its headers, as a replayer would."""
        assert self.last_sent is not None, "nothing sent yet"
        body, headers = self.last_sent
        return self.raw(body, headers, path=self.path)

    def _send_form(self, fields: Mapping[str, str]) -> Response:
        body = urlencode(fields).encode()
        return self._send_signed(body, {"Content-Type": "application/x-www-form-urlencoded"})

    def _send_signed(self, body: bytes, headers: dict[str, str]) -> Response:
        signed = {**headers, **sign(body, self.signing_secret, int(self.clock()))}
        self.last_sent = (body, signed)
        return self.raw(body, signed, path=self.path)

    def _response_url(self, serial: int) -> str:
        if self.fake is not None:
            return self.fake.response_url()
        return f"http://127.0.0.1:9/response/{serial}"  # discard port: refused at once
