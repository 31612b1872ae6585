"""Serving: gunicorn web workers plus one work process for HTTP; Bolt's handler for Socket Mode.

Over HTTP, `tandem run` is one process tree: the gunicorn master, its web
workers (they only acknowledge Slack) and a work process, forked before the
workers, that runs the work after each ack, the tick and the outbox senders
at a lower CPU priority (bot/handoff.py says why).
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from gunicorn.app.base import BaseApplication
from sqlalchemy.orm import configure_mappers

from bot.app import create_app
from bot.handoff import HandOff, channel_pair, serve_work
from bot.runtime import start_background
from bot.services import Services
from bot.settings import Settings
from bot.web import TandemWSGI
from rituals.zones import known_zones
from storage import models  # noqa: F401  (mapped classes, for configure_mappers)
from storage.db import make_engine

log = logging.getLogger(__name__)

# How long `tandem run` waits, when stopping, for the work process to finish its queue.
WORK_DRAIN_SECONDS = 60


def build_wsgi(settings: Settings, channel: socket.socket) -> TandemWSGI:
    """A web worker's app: it acks, and sends the work after each ack down `channel`."""
    services = Services.from_settings(settings)
    app = create_app(services)
    return TandemWSGI(app, services, HandOff(app, channel))


def share_before_fork(settings: Settings) -> None:
    """Do once, before forking, the start-up work every process would otherwise repeat.

    What is built before the fork is shared by all the processes until one
    writes to it: the database driver, SQLAlchemy's mapper configuration
    (done at the first query otherwise) and the list of time zones.
    """
    make_engine(settings.database_url).dispose()
    configure_mappers()
    known_zones()
    freeze_startup_heap()


def freeze_startup_heap() -> None:
    """Keep what was built at start-up out of the garbage collector's full passes.

    The long-lived heap (the imported SQLAlchemy, slack_sdk, pydantic, Bolt)
    is large: one full collection of it stalled every request in a web worker
    for about 75 ms, and found nothing, as it lives as long as the process.
    Done before forking, it also keeps the collector from copying the pages
    the processes share.
    """
    gc.collect()
    gc.freeze()


def lowest_cpu_priority() -> None:
    """Let this process (and the threads it starts) use only the CPU others leave.

    Linux's SCHED_IDLE gives way to any normal process at once; elsewhere, nice 19.
    Threads started later inherit it: call before starting any.
    """
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def run_work_process(settings: Settings, channel: socket.socket) -> None:
    """Run handed-off work, the tick and the senders until the web server has gone."""
    lowest_cpu_priority()
    # Ctrl-C and a service manager's SIGTERM reach the whole process group: gunicorn
    # stops, the channel's web end closes, and this process finishes its queue first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    services = Services.from_settings(settings)
    app = create_app(services, handed_off=True)
    background = start_background(services, app.client) if settings.scheduler_enabled else None
    try:
        serve_work(app, channel, settings.work_threads)
    finally:
        if background is not None:
            background.stop()
        services.close()


def _fork_work_process(
    settings: Settings, web_end: socket.socket, work_end: socket.socket, lifeline: int
) -> int:
    """Fork the work process; it holds `lifeline`, a pipe's write end, until it exits."""
    pid = os.fork()
    if pid:
        os.close(lifeline)
        return pid
    code = 1
    try:
        web_end.close()
        run_work_process(settings, work_end)
        code = 0
    except BaseException:
        log.exception("the work process stopped")
    finally:
        logging.shutdown()
        os._exit(code)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn embedded, so `tandem run` is one process tree with our settings."""

    def __init__(self, settings: Settings, options: dict[str, Any], channel: socket.socket) -> None:
        self._settings = settings
        self._options = options
        self._channel = channel
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> TandemWSGI:
        # Built inside the worker, after the fork: no threads or sockets cross it.
        return build_wsgi(self._settings, self._channel)


def _pass_on_queued_work(_arbiter: Any, worker: Any) -> None:
    """Gunicorn's worker_exit hook: a stopping web worker sends its queued work on first."""
    wsgi = getattr(worker, "wsgi", None)
    if isinstance(wsgi, TandemWSGI):
        wsgi.close(timeout=float(worker.cfg.graceful_timeout))


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


def serve_http(settings: Settings) -> None:
    check_port(settings.host, settings.port)
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.web_workers,
        "worker_class": "gthread",
        "threads": settings.web_threads,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,
        "loglevel": settings.log_level.lower(),
        "worker_exit": _pass_on_queued_work,
        "when_ready": _log_serving,
    }
    share_before_fork(settings)
    web_end, work_end = channel_pair()
    watch_end, lifeline = os.pipe()
    pid = _fork_work_process(settings, web_end, work_end, lifeline)
    work_end.close()
    watch = WorkProcessWatch(watch_end)
    watch.start()
    log.info("work process %d started", pid)
    try:
        _Gunicorn(settings, options, web_end).run()
    finally:
        # The work process finishes its queue once every web end is closed: wait for it,
        # so `tandem run` has stopped only when all acknowledged work is done.
        watch.stopping.set()
        web_end.close()
        _wait_for_work_process(pid)
        if watch.died:
            raise SystemExit(1)


class WorkProcessWatch:
    """Stops `tandem run` if the work process dies: without it nothing ticks or sends.

    Exiting (with status 1) lets the service manager start everything afresh.
    The work process holds the only write end of a pipe, so the read end gives
    EOF when it exits, however it exits.
    """

    def __init__(self, read_end: int) -> None:
        self._read_end = read_end
        self.stopping = threading.Event()
        self.died = False

    def start(self) -> None:
        threading.Thread(target=self._watch, name="tandem-work-watch", daemon=True).start()

    def _watch(self) -> None:
        os.read(self._read_end, 1)
        if self.stopping.is_set():
            return
        self.died = True
        log.error("the work process exited; stopping tandem run so it can be started afresh")
        os.kill(os.getpid(), signal.SIGTERM)


def _wait_for_work_process(pid: int) -> None:
    deadline = time.monotonic() + WORK_DRAIN_SECONDS
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # already reaped by gunicorn's SIGCHLD handler
            return
        if done:
            return
        time.sleep(0.1)
    log.error("the work process did not finish in %d s; stopping it", WORK_DRAIN_SECONDS)
    os.kill(pid, signal.SIGKILL)


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    services = Services.from_settings(settings)
    app = create_app(services)
    freeze_startup_heap()
    if settings.scheduler_enabled:
        start_background(services, app.client)
    assert settings.slack_app_token is not None
    log.info("connecting to Slack over Socket Mode")
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
