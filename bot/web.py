"""The HTTP surface: Slack's request URL and a health check, as one WSGI app.

Anything Slack did not send (wrong path, wrong verb, an oversized or broken
body) gets a short 4xx; an unexpected error gets a bare 500 with no trace.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.services import Services
from storage.db import ping

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; refuse anything bigger.

StartResponse = Callable[..., Any]


def _reply(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


class TandemWSGI:
    def __init__(self, app: App, services: Services) -> None:
        self._slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self._services = services

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
        try:
            return self._slack(environ, start_response)
        except Exception:
            log.exception("unhandled error while serving a Slack request")
            return _reply(start_response, "500 Internal Server Error", {"error": "internal"})

    def _health(self, start_response: StartResponse) -> list[bytes]:
        problem = ping(self._services.engine)
        if problem is None:
            return _reply(start_response, "200 OK", {"status": "ok", "database": "ok"})
        return _reply(
            start_response,
            "503 Service Unavailable",
            {"status": "degraded", "database": "unreachable"},
        )
