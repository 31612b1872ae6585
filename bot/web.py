"""The HTTP surface: Slack's request URL and a health check, as one WSGI app.

Anything Slack did not send (wrong path, wrong verb, an oversized, stalled
or broken body, a missing or malformed signature timestamp, a payload whose
fields have the wrong types) gets a short 4xx before Bolt sees it; an
unexpected error gets a bare 500 with no trace.
"""

from __future__ import annotations

import io
import json
import logging
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.services import Services
from storage.db import ping

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger.

StartResponse = Callable[..., Any]
# Unix seconds, as Slack sends them; anything else is refused before it is parsed.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _reply(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def malformed(body: bytes, content_type: str) -> str | None:
    """Why this body cannot be a Slack request, or None if it can.

    Slack sends slash commands and interactions form-encoded (interactions
    as a JSON `payload` field) and events as a JSON object; anything else is
    refused here, before Bolt's parser can raise on it.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not_utf8"
    if not text.strip():
        return "empty_body"
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        parsed = _json(text)
        if parsed is None:
            return "invalid_json"
        if not isinstance(parsed, dict):
            return "json_not_an_object"
        return _event_shape(parsed)
    if kind == "application/x-www-form-urlencoded":
        form = parse_qs(text, keep_blank_values=True)
        if "payload" not in form:
            if "ssl_check" in form:
                return None
            return _command_shape(form) if "command" in form else "unknown_form"
        payload = _json(form["payload"][0])
        if payload is None:
            return "invalid_payload_json"
        if not isinstance(payload, dict) or "type" not in payload:
            return "payload_without_type"
        return _interaction_shape(payload)
    return "unsupported_content_type"


def _json(text: str) -> Any:
    """The parsed JSON, or None if it is not JSON.

    The parser recurses once per level and gives up (RecursionError) at
    about a thousand levels, far deeper than any Slack payload: a body
    nested 100,000 deep is refused here rather than raising inside Bolt.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _is(value: Any, kind: type | tuple[type, ...], *, required: bool = False) -> bool:
    return isinstance(value, kind) if required or value is not None else True


def _command_shape(form: dict[str, list[str]]) -> str | None:
    for key in ("command", "text", "user_id", "team_id", "channel_id", "trigger_id"):
        if len(form.get(key, [""])) != 1:
            return "repeated_field"
    return None


def _event_shape(envelope: dict[str, Any]) -> str | None:
    """The fields of an Events API envelope that Bolt reads, of the types Slack sends."""
    if not _is(envelope.get("type"), str, required=True):
        return "payload_without_type"
    event = envelope.get("event")
    if envelope.get("type") == "event_callback" and not (
        isinstance(event, dict) and isinstance(event.get("type"), str)
    ):
        return "bad_event"
    authorizations = envelope.get("authorizations")
    if not _is(authorizations, list) or not all(isinstance(a, dict) for a in authorizations or []):
        return "bad_authorizations"
    for key in ("team_id", "api_app_id", "event_id", "enterprise_id"):
        if not _is(envelope.get(key), str):
            return f"bad_{key}"
    return None


def _interaction_shape(payload: dict[str, Any]) -> str | None:
    """The fields of an interaction that Bolt and the listeners read, of the types Slack sends.

    A payload with `actions` as a string, an action without `action_id` or a
    view without `type` would otherwise fail inside Bolt with a traceback.
    """
    if not isinstance(payload["type"], str):
        return "payload_without_type"
    for key in ("team", "user", "channel", "enterprise", "container", "message"):
        if not _is(payload.get(key), dict):
            return f"bad_{key}"
    user = payload.get("user")
    if isinstance(user, dict) and not _is(user.get("id"), str, required=True):
        return "bad_user"
    for key in ("trigger_id", "response_url", "callback_id", "action_ts", "message_ts"):
        if not _is(payload.get(key), str):
            return f"bad_{key}"
    if payload["type"] in ("block_actions", "block_suggestion", "interactive_message"):
        actions = payload.get("actions")
        if payload["type"] == "block_suggestion":
            actions = [payload]
        if not isinstance(actions, list) or not actions:
            return "bad_actions"
        for action in actions:
            if not isinstance(action, dict):
                return "bad_actions"
            if payload["type"] != "interactive_message" and not isinstance(
                action.get("action_id"), str
            ):
                return "action_without_action_id"
            for key in ("block_id", "type", "value", "action_ts"):
                if not _is(action.get(key), str):
                    return f"bad_action_{key}"
            if _input_value_shape(action) is not None:
                return "bad_action_value"
    view = payload.get("view")
    if payload["type"] in ("view_submission", "view_closed") and not isinstance(view, dict):
        return "bad_view"
    if view is not None:
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "view_without_type"
        for key in ("id", "callback_id", "private_metadata", "hash", "team_id"):
            if not _is(view.get(key), str):
                return f"bad_view_{key}"
        blocks = view.get("blocks")
        if not _is(blocks, list) or not all(isinstance(b, dict) for b in blocks or []):
            return "bad_view_blocks"
        state = view.get("state")
        if not _is(state, dict) or not _is((state or {}).get("values"), dict):
            return "bad_view_state"
        for block in ((state or {}).get("values") or {}).values():
            if not isinstance(block, dict):
                return "bad_view_state"
            for value in block.values():
                if not isinstance(value, dict) or _input_value_shape(value) is not None:
                    return "bad_view_state"
    return None


# What an input's state (or an action) holds, by field, as Slack sends it.
_STRING_FIELDS = (
    "type",
    "value",
    "selected_date",
    "selected_time",
    "selected_date_time",
    "selected_user",
    "selected_channel",
    "selected_conversation",
    "timezone",
)
_STRING_LISTS = ("selected_users", "selected_channels", "selected_conversations")
_OPTION_LISTS = ("selected_options",)


def _input_value_shape(value: dict[str, Any]) -> str | None:
    """Why an input's state or an action has fields of the wrong type, or None."""
    for key in _STRING_FIELDS:
        if key == "selected_date_time":
            if not _is(value.get(key), int):
                return key
        elif not _is(value.get(key), str):
            return key
    for key in _STRING_LISTS:
        found = value.get(key)
        if not _is(found, list) or not all(isinstance(item, str) for item in found or []):
            return key
    for key in _OPTION_LISTS:
        found = value.get(key)
        if not _is(found, list) or not all(_is_option(item) for item in found or []):
            return key
    option = value.get("selected_option")
    if option is not None and not _is_option(option):
        return "selected_option"
    if not _is(value.get("rich_text_value"), dict):
        return "rich_text_value"
    return None


def _is_option(option: Any) -> bool:
    return isinstance(option, dict) and isinstance(option.get("value"), str)


class TandemWSGI:
    def __init__(self, app: App, services: Services) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self.services = services
        secret = services.settings.slack_signing_secret
        # Checked here first so an unsigned request is a 401 whatever its body;
        # Bolt checks again, which costs one HMAC.
        self._verifier = SignatureVerifier(secret.get_secret_value()) if secret else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            return self._health(start_response)
        if path != EVENTS_PATH:
            return _reply(start_response, "404 Not Found", {"error": "not_found"})
        if method != "POST":
            return _reply(start_response, "405 Method Not Allowed", {"error": "post_only"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _reply(start_response, "400 Bad Request", {"error": "bad_content_length"})
        if length < 0:
            return _reply(start_response, "400 Bad Request", {"error": "bad_content_length"})
        if length > MAX_BODY_BYTES:
            return _reply(start_response, "413 Payload Too Large", {"error": "too_large"})
        try:
            body = self._read(environ, length)
        except TimeoutError:
            return _reply(start_response, "408 Request Timeout", {"error": "body_too_slow"})
        if len(body) != length:
            return _reply(start_response, "400 Bad Request", {"error": "body_incomplete"})
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _reply(start_response, "400 Bad Request", {"error": "not_utf8"})
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        if self._verifier is not None and not (
            _TIMESTAMP.fullmatch(timestamp)
            and self._verifier.is_valid(body, timestamp, environ.get("HTTP_X_SLACK_SIGNATURE", ""))
        ):
            return _reply(start_response, "401 Unauthorized", {"error": "invalid_signature"})
        problem = malformed(body, environ.get("CONTENT_TYPE", ""))
        if problem:
            return _reply(start_response, "400 Bad Request", {"error": problem})
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return self._slack(environ, start_response)
        except Exception:
            log.exception("unhandled error while serving a Slack request")
            return _reply(start_response, "500 Internal Server Error", {"error": "internal"})

    def _read(self, environ: dict[str, Any], length: int) -> bytes:
        """The body, waiting at most the read timeout for each part of it.

        Under gunicorn a client that sends its headers and then stalls would
        hold a web thread for as long as it likes; with enough of them, no
        thread is left for the health check or for Slack. The socket gunicorn
        hands the app gets a timeout while the body is read.
        """
        if not length:
            return b""
        sock = environ.get("gunicorn.socket")
        if not isinstance(sock, socket.socket):
            return bytes(environ["wsgi.input"].read(length))
        previous = sock.gettimeout()
        sock.settimeout(self.services.settings.read_timeout)
        try:
            return bytes(environ["wsgi.input"].read(length))
        finally:
            sock.settimeout(previous)

    def _health(self, start_response: StartResponse) -> list[bytes]:
        report = {"database": "ok" if ping(self.services.engine) is None else "unreachable"}
        if all(value == "ok" for value in report.values()):
            return _reply(start_response, "200 OK", {"status": "ok", **report})
        return _reply(start_response, "503 Service Unavailable", {"status": "degraded", **report})
