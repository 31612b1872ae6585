"""Work after the ack, handed from the web workers to one work process.

Slack waits for the ack, not for what a listener does next. Every listener
is a Bolt ack function plus lazy work (bot/listeners/lazy.py). Web workers
run the acks and pass each piece of lazy work, as the request that asked for
it, over a local socket to the work process, which runs it at a lower CPU
priority. A burst of writing commands then waits in the work process's queue
instead of slowing the acks of the requests behind it.

When the hand-off fails (the work process gone, a message too large for the
socket), the web worker runs the work in its own threads instead of dropping it.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App, BoltRequest
from slack_bolt.lazy_listener import LazyListenerRunner

log = logging.getLogger(__name__)

# Bolt's own headers for re-running one lazy function of a request (as its FaaS adapters do).
LAZY_ONLY_HEADER = "x-slack-bolt-lazy-only"
LAZY_NAME_HEADER = "x-slack-bolt-lazy-function-name"
# Larger than any Slack payload; a message the socket cannot take falls back to local threads.
MAX_MESSAGE_BYTES = 1 << 20
_WARN_EVERY_SECONDS = 60.0


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(web end, work end): message boundaries kept, so many writers can share one end."""
    web_end, work_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    return web_end, work_end


def encode(request: BoltRequest) -> bytes:
    headers = {name: values[0] for name, values in request.headers.items() if values}
    return json.dumps(
        {"body": request.raw_body, "headers": headers, "name": request.lazy_function_name}
    ).encode()


def decode(data: bytes) -> BoltRequest:
    """The handed-off request, marked so Bolt runs only the named lazy function."""
    message = json.loads(data)
    headers = {str(k): str(v) for k, v in dict(message["headers"]).items()}
    headers[LAZY_ONLY_HEADER] = "1"
    headers[LAZY_NAME_HEADER] = str(message["name"])
    return BoltRequest(body=str(message["body"]), headers=headers)


class HandOff(LazyListenerRunner):
    """Bolt's lazy listener runner for web workers: queue the work for the work process.

    The ack path only puts the request on a local queue; one forwarder thread
    per web worker sends it on, blocking while the work process is behind (a
    Unix socket holds only a few messages), so a burst waits here, not in Slack.
    """

    def __init__(self, app: App, channel: socket.socket) -> None:
        """Become `app`'s lazy listener runner; its own runner stays as the fallback."""
        runner = app.listener_runner
        self._local: LazyListenerRunner = runner.lazy_listener_runner
        self.logger = self._local.logger
        self._channel = channel
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._sending_since: float | None = None
        self._last_warning = 0.0
        self._forwarder = threading.Thread(target=self._forward, name="tandem-handoff", daemon=True)
        self._forwarder.start()
        runner.lazy_listener_runner = self
        # Before starting lazy work Bolt deep-copies the whole request, its client
        # included, so threads never share one: that copy was half the CPU of a
        # writing command's ack. Only the body and headers go down the channel, and
        # once the ack is sent nothing else uses the original, so a shallow copy will do.
        runner._build_lazy_request = _shallow_lazy_copy  # type: ignore[method-assign]

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        self._waiting.put(_Waiting(function, request, time.monotonic()))

    def close(self, timeout: float) -> bool:
        """Send what is queued before the web worker exits; False if time ran out."""
        self._waiting.put(None)
        self._forwarder.join(timeout)
        return not self._forwarder.is_alive()

    def work_process_alive(self) -> bool:
        """False once the work process's end is closed (the web end then reads as EOF)."""
        try:
            return self._channel.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def waited_seconds(self, now: float) -> float:
        """How long the oldest work not yet taken by the work process has waited."""
        since = self._sending_since
        return 0.0 if since is None else max(0.0, now - since)

    def _forward(self) -> None:
        while (item := self._waiting.get()) is not None:
            self._sending_since = item.queued_at
            try:
                self._channel.send(encode(item.request))
            except OSError as error:
                # EMSGSIZE: too large for the socket; anything else: the work process is gone.
                self._warn(error)
                self._local.start(item.function, item.request)
            finally:
                self._sending_since = None

    def _warn(self, error: OSError) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("running work in the web worker: %s", type(error).__name__)


def _shallow_lazy_copy(request: BoltRequest, lazy_function_name: str) -> BoltRequest:
    copied = copy.copy(request)
    copied.lazy_only = True
    copied.lazy_function_name = lazy_function_name
    return copied


@dataclass(frozen=True, slots=True)
class _Waiting:
    function: Callable[..., None]
    request: BoltRequest
    queued_at: float


def serve_work(app: App, channel: socket.socket, threads: int) -> None:
    """Run handed-off work until every web process has closed its end of the channel."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tandem-work") as pool:
        while True:
            data = channel.recv(MAX_MESSAGE_BYTES)
            if not data:
                break
            pool.submit(run_handed_off, app, data)
    log.info("work channel closed; all handed-off work is done")


def run_handed_off(app: App, data: bytes) -> None:
    try:
        request = decode(data)
    except (ValueError, KeyError, TypeError):
        log.error("dropping an unreadable work message (%d bytes)", len(data))
        return
    response = app.dispatch(request)
    if response.status != 200:
        log.error("handed-off work was not run (status %s)", response.status)
