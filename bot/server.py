"""Serving: gunicorn (threaded worker) for HTTP, Bolt's Socket Mode handler otherwise."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from bot.app import create_app
from bot.runtime import start_background
from bot.services import Services
from bot.settings import Settings
from bot.web import TandemWSGI

log = logging.getLogger(__name__)


def build_wsgi(settings: Settings, *, background: bool = True) -> TandemWSGI:
    services = Services.from_settings(settings)
    app = create_app(services)
    if background and settings.scheduler_enabled:
        start_background(services, app.client)
    return TandemWSGI(app, services)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn embedded, so `tandem run` is one process tree with our settings."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> TandemWSGI:
        # Built inside the worker, after the fork: no threads or sockets cross it.
        return build_wsgi(self._settings)


def serve_http(settings: Settings) -> None:
    options = {
        "bind": f"{settings.host}:{settings.port}",
        # Each worker is a replica of its own (tick, senders); the database keeps them in step.
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
    }
    log.info("serving Slack requests on http://%s:%s/slack/events", settings.host, settings.port)
    _Gunicorn(settings, options).run()


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    services = Services.from_settings(settings)
    app = create_app(services)
    if settings.scheduler_enabled:
        start_background(services, app.client)
    assert settings.slack_app_token is not None
    log.info("connecting to Slack over Socket Mode")
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
