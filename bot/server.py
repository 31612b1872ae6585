"""Serving: gunicorn web processes for HTTP, Bolt's handler for Socket Mode, and the worker.

Two roles, each runnable on its own:
- web (`tandem web`): gunicorn's threaded workers run Bolt with its stock
  listener runner. Each request does its work, commits and answers in the ack.
- worker (`tandem worker`): the ritual tick, team sync, housekeeping, the
  outbox senders and the job runners (bot.runtime).
`tandem run` is both for one machine: one of its web processes at a time
(whichever holds a file lock) also runs the worker's threads. Everything
they share is in the database, so any of these processes can be killed at
any moment and restarted without losing acknowledged work.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy.orm import configure_mappers

from bot.app import create_app
from bot.runtime import Background, start_background
from bot.services import Services
from bot.settings import Settings
from bot.slack_client import make_worker_client
from bot.web import TandemWSGI
from rituals.zones import known_zones
from storage import models  # noqa: F401  (mapped classes, for configure_mappers)
from storage.db import make_engine

log = logging.getLogger(__name__)


def build_wsgi(settings: Settings) -> TandemWSGI:
    services = Services.from_settings(settings)
    return TandemWSGI(create_app(services), services)


def share_start_up(settings: Settings) -> None:
    """Do once, in gunicorn's master, the start-up work every web process would repeat.

    Gunicorn's workers start as copies of the master, so what is built here
    (the database driver, SQLAlchemy's mapper configuration, the list of time
    zones) is shared by them until one writes to it.
    """
    make_engine(settings.database_url).dispose()
    configure_mappers()
    known_zones()
    freeze_startup_heap()


def freeze_startup_heap() -> None:
    """Keep what was built at start-up out of the garbage collector's full passes.

    The long-lived heap (the imported SQLAlchemy, slack_sdk, pydantic, Bolt)
    is large and lives as long as the process; a full collection of it stalls
    requests and finds nothing.
    """
    gc.collect()
    gc.freeze()


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn embedded, so `tandem run` and `tandem web` are one command with our settings."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> TandemWSGI:
        # Built inside each web process: no threads or sockets cross gunicorn's fork.
        return build_wsgi(self._settings)


class WorkerTurn:
    """Exactly one web process of `tandem run` runs the worker's threads at a time.

    Each web process waits, in a thread of its own, for an exclusive lock on
    one file; the holder runs the worker. The kernel drops a lock when its
    process dies, however it dies, so another web process takes over at once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.background: Background | None = None

    def wait_in(self, wsgi: TandemWSGI) -> None:
        threading.Thread(
            target=self._take, args=(wsgi,), name="tandem-worker-turn", daemon=True
        ).start()

    def _take(self, wsgi: TandemWSGI) -> None:
        fd = os.open(self.path, os.O_RDWR)  # kept open (and locked) until this process ends
        fcntl.flock(fd, fcntl.LOCK_EX)
        log.info("web process %d runs the worker's threads", os.getpid())
        services = wsgi.services
        self.background = start_background(services, make_worker_client(services.settings))

    def stop(self) -> None:
        if self.background is not None:
            self.background.stop()


def _worker_hooks(lock_path: str) -> tuple[Callable[[Any], None], Callable[[Any, Any], None]]:
    """Gunicorn's post_worker_init and worker_exit hooks for `tandem run`."""
    turn = WorkerTurn(lock_path)

    def post_worker_init(worker: Any) -> None:
        if isinstance(worker.wsgi, TandemWSGI):
            turn.wait_in(worker.wsgi)

    def worker_exit(_arbiter: Any, _worker: Any) -> None:
        turn.stop()

    return post_worker_init, worker_exit


class PortInUse(Exception):
    """TANDEM_HOST:TANDEM_PORT cannot be bound; str(self) says what to do."""


def check_port(host: str, port: int) -> None:
    """Bind the address once before starting anything, so a busy port is one clear line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                advice = "another program (perhaps another `tandem run`) uses it; stop it or set TANDEM_PORT"
            else:
                advice = "check TANDEM_HOST and TANDEM_PORT"
            raise PortInUse(f"cannot listen on {host}:{port} ({exc.strerror}): {advice}") from None


def _log_serving(arbiter: Any) -> None:
    """Gunicorn's when_ready hook: the socket is bound, so "serving" is true now."""
    log.info("serving Slack requests on http://%s/slack/events", arbiter.cfg.bind[0])


def serve_http(settings: Settings, *, with_worker: bool) -> None:
    """Serve Slack over HTTP; `with_worker` also runs the worker's threads in one web process."""
    check_port(settings.host, settings.port)
    options: dict[str, Any] = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
        "when_ready": _log_serving,
    }
    lock_path = None
    if with_worker:
        fd, lock_path = tempfile.mkstemp(prefix="tandem-run-", suffix=".lock")
        os.close(fd)
        options["post_worker_init"], options["worker_exit"] = _worker_hooks(lock_path)
    share_start_up(settings)
    master = os.getpid()
    try:
        _Gunicorn(settings, options).run()
    finally:
        # Web processes leave run() through here too (gunicorn forks inside it).
        if lock_path is not None and os.getpid() == master:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)


def run_worker(settings: Settings, stopping: threading.Event | None = None) -> None:
    """The worker alone (`tandem worker`) until SIGTERM or Ctrl-C."""
    stop = stopping or threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    services = Services.from_settings(settings)
    background = start_background(services, make_worker_client(settings))
    print(
        f"tandem worker: {settings.sender_threads} outbox sender(s), {settings.job_threads} "
        "job runner(s) and the tick running; stop with SIGTERM or Ctrl-C",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        background.stop()
        services.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("tandem worker stopped", flush=True)


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    services = Services.from_settings(settings)
    app = create_app(services)
    freeze_startup_heap()
    if settings.scheduler_enabled:
        start_background(services, make_worker_client(settings))
    assert settings.slack_app_token is not None
    log.info("connecting to Slack over Socket Mode")
    SocketModeHandler(
        app,
        settings.slack_app_token.get_secret_value(),
        ping_interval=settings.socket_ping_seconds,
    ).start()
