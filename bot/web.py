"""The HTTP surface: Slack's request URL and a health check, as one WSGI app.

Anything Slack did not send (wrong path, wrong verb, an oversized or broken
body) gets a short 4xx; an unexpected error gets a bare 500 with no trace.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.handoff import HandOff
from bot.services import Services
from storage.db import ping

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger.

StartResponse = Callable[..., Any]
_BOLT_HEADERS = "HTTP_X_SLACK_BOLT_"
# Work waiting this long for the work process makes the health check fail.
WORK_BEHIND_SECONDS = 60.0


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
        try:
            parsed = json.loads(text)
        except ValueError:
            return "invalid_json"
        return None if isinstance(parsed, dict) else "json_not_an_object"
    if kind == "application/x-www-form-urlencoded":
        form = parse_qs(text, keep_blank_values=True)
        if "payload" not in form:
            return None if "command" in form or "ssl_check" in form else "unknown_form"
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return "invalid_payload_json"
        return None if isinstance(payload, dict) and "type" in payload else "payload_without_type"
    return "unsupported_content_type"


class TandemWSGI:
    def __init__(self, app: App, services: Services, handoff: HandOff | None = None) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self._services = services
        self._handoff = handoff
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
        if length > MAX_BODY_BYTES:
            return _reply(start_response, "413 Payload Too Large", {"error": "too_large"})
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _reply(start_response, "400 Bad Request", {"error": "not_utf8"})
        if self._verifier is not None and not self._verifier.is_valid(
            body,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
            environ.get("HTTP_X_SLACK_SIGNATURE", ""),
        ):
            return _reply(start_response, "401 Unauthorized", {"error": "invalid_signature"})
        problem = malformed(body, environ.get("CONTENT_TYPE", ""))
        if problem:
            return _reply(start_response, "400 Bad Request", {"error": problem})
        environ["wsgi.input"] = io.BytesIO(body)
        # Bolt's lazy-only headers run a listener's work without its ack; only our own
        # work process may send them (bot/handoff.py), never the network.
        for key in [k for k in environ if k.startswith(_BOLT_HEADERS)]:
            del environ[key]
        try:
            return self._slack(environ, start_response)
        except Exception:
            log.exception("unhandled error while serving a Slack request")
            return _reply(start_response, "500 Internal Server Error", {"error": "internal"})

    def close(self, timeout: float) -> None:
        """Pass on the work still queued here before this web worker exits."""
        if self._handoff is not None and not self._handoff.close(timeout):
            log.error("work still queued in this web worker after %.0f s", timeout)

    @staticmethod
    def _work_state(handoff: HandOff) -> str:
        if not handoff.work_process_alive():
            return "stopped"
        if handoff.waited_seconds(time.monotonic()) > WORK_BEHIND_SECONDS:
            return "behind"
        return "ok"

    def _health(self, start_response: StartResponse) -> list[bytes]:
        report = {"database": "ok" if ping(self._services.engine) is None else "unreachable"}
        if self._handoff is not None:
            report["work"] = self._work_state(self._handoff)
        if all(value == "ok" for value in report.values()):
            return _reply(start_response, "200 OK", {"status": "ok", **report})
        return _reply(start_response, "503 Service Unavailable", {"status": "degraded", **report})
