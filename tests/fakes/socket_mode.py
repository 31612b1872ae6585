"""Slack's side of Socket Mode on loopback: a WebSocket server that sends envelopes.

Point the fake Web API's `apps.connections.open` at `FakeSocketMode.url`
(`FakeSlack.serve_socket_mode(url)`); the app connects, and the test sends it
slash commands, interactions and events wrapped as Slack wraps them. Every
message the app sends back with an `envelope_id` is kept as that envelope's
acknowledgement. `drop()` cuts the newest connection without a closing
handshake, as a network failure does, so reconnection can be tested.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID

VERIFICATION_TOKEN = "legacy-verification-token"


class FakeSocketMode:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._serial = itertools.count(1)
        self.connections: list[ServerConnection] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._server: Server = serve(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.socket.getsockname()[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-socket-mode", daemon=True
        )

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake"

    # --- the connection ------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self.connections.append(connection)
            self._cond.notify_all()
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": APP_ID},
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                }
            )
        )
        try:
            for message in connection:
                data = json.loads(message)
                envelope_id = data.get("envelope_id") if isinstance(data, dict) else None
                if envelope_id:
                    with self._cond:
                        self.acks[str(envelope_id)] = data
                        self._cond.notify_all()
        except ConnectionClosed:
            pass

    def wait_for_connections(self, count: int, timeout: float = 30) -> ServerConnection:
        """The newest connection, once `count` have been opened in all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.connections) >= count, timeout):
                raise AssertionError(f"{len(self.connections)} connection(s), expected {count}")
            return self.connections[-1]

    def drop(self) -> None:
        """Cut the newest connection with no closing handshake, as a network failure does."""
        with self._cond:
            connection = self.connections[-1]
        connection.socket.shutdown(socket.SHUT_RDWR)
        connection.socket.close()

    def close(self, code: int = 1001, reason: str = "going away") -> None:
        """End the newest connection with a closing handshake, as Slack's servers do."""
        with self._cond:
            connection = self.connections[-1]
        connection.close(code, reason)

    def ask_to_reconnect(self) -> None:
        """Slack's notice that this connection will be refreshed soon."""
        with self._cond:
            connection = self.connections[-1]
        connection.send(
            json.dumps(
                {
                    "type": "disconnect",
                    "reason": "refresh_requested",
                    "debug_info": {"host": "fake"},
                }
            )
        )

    # --- envelopes -----------------------------------------------------------------

    def send(self, kind: str, payload: Mapping[str, Any]) -> str:
        """Send one envelope on the newest connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._serial):04d}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": dict(payload),
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        with self._cond:
            connection = self.connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def command(
        self,
        text: str,
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        response_url: str | None = None,
    ) -> str:
        serial = next(self._serial)
        return self.send(
            "slash_commands",
            {
                "token": VERIFICATION_TOKEN,
                "team_id": TEAM_ID,
                "team_domain": TEAM_DOMAIN,
                "channel_id": channel_id,
                "channel_name": channel_id.lower(),
                "user_id": user_id,
                "user_name": user_id.lower(),
                "command": "/tandem",
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": response_url or f"http://127.0.0.1:9/response/{serial}",
                "trigger_id": f"1337.{serial}.{serial:032x}",
            },
        )

    def interaction(self, payload: Mapping[str, Any]) -> str:
        return self.send("interactive", payload)

    def event(self, event: Mapping[str, Any]) -> str:
        return self.send(
            "events_api",
            {
                "token": VERIFICATION_TOKEN,
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "event": dict(event),
                "type": "event_callback",
                "event_id": f"Ev{next(self._serial):010d}",
                "event_time": int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": TEAM_ID,
                        "user_id": BOT_USER_ID,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
            },
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 30) -> dict[str, Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise AssertionError(f"no acknowledgement for {envelope_id}")
            return self.acks[envelope_id]
