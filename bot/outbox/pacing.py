"""Spacing sends so Slack rarely has to say 429.

Slack allows about one post per second per channel, and a budget per
workspace. Sender threads of one process share a pacer; separate processes
(replicas, `tandem worker`) each have their own, so together they keep the
workspace rate only approximately. Slack's 429 is the backstop, and each one
slows this process's pace a little until successes win it back, so processes
that overshoot together settle under the limit. We start under the
configured rate and count each slot from a call's real departure, because a
limit enforced as strict spacing turns any jitter into a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CHANNEL_INTERVAL_SECONDS = 1.0
# Calls that put a message in a channel; other calls only count against the workspace.
CHANNEL_PACED_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage", "files.upload_v2"}
)
HEADROOM = 0.97
# Each 429 stretches the workspace spacing by this factor; each success shrinks it back.
SLOWDOWN_ON_429 = 1.04
RECOVERY_PER_SUCCESS = 0.99
MAX_SLOWDOWN = 4.0
# A channel slot this close is worth a short sleep rather than a round trip to the database.
CHANNEL_GRACE_SECONDS = 0.02
# Beyond this, even the workspace queue is better served by giving rows back.
MAX_WORKSPACE_WAIT_SECONDS = 5.0
_PRUNE_ABOVE = 10_000


@dataclass(frozen=True, slots=True)
class Slot:
    """Sleep `wait` seconds then send (`reserved`), or give the row back for `wait` seconds."""

    wait: float
    reserved: bool


class Pacer:
    def __init__(
        self,
        workspace_rate_per_second: float,
        *,
        channel_interval: float = CHANNEL_INTERVAL_SECONDS,
        headroom: float = HEADROOM,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._workspace_spacing = 1.0 / (workspace_rate_per_second * headroom)
        self._channel_spacing = channel_interval / headroom
        self._monotonic = monotonic
        self._lock = threading.Condition()
        self._workspace_free: dict[Hashable, float] = {}
        self._channel_free: dict[tuple[Hashable, str], float] = {}
        self._slowdown: dict[Hashable, float] = {}
        self._taking_turn: set[Hashable] = set()

    def spacing(self, workspace: Hashable) -> float:
        """Seconds between two sends in this workspace, as things stand."""
        with self._lock:
            return self._workspace_spacing * self._slowdown.get(workspace, 1.0)

    @contextmanager
    def turn(self, workspace: Hashable, channel: str) -> Iterator[Slot]:
        """A slot to wait out inside the block; leaving it means the call goes out now.

        One thread per workspace at a time: the next thread's slot is counted
        from this call's real departure, not from the slot it was given.
        """
        with self._lock:
            while workspace in self._taking_turn:
                self._lock.wait()
            self._taking_turn.add(workspace)
        slot = Slot(0.0, reserved=False)
        try:
            slot = self.reserve(workspace, channel)
            yield slot
        finally:
            with self._lock:
                if slot.reserved:
                    self._book(workspace, channel, self._monotonic())
                self._taking_turn.discard(workspace)
                self._lock.notify_all()

    def reserve(self, workspace: Hashable, channel: str) -> Slot:
        """The next slot for a send to `channel`; booked only when it is worth waiting for."""
        with self._lock:
            now = self._monotonic()
            workspace_at = max(now, self._workspace_free.get(workspace, now))
            channel_at = self._channel_free.get((workspace, channel), now) if channel else now
            if channel_at > workspace_at + CHANNEL_GRACE_SECONDS:
                return Slot(wait=channel_at - now, reserved=False)
            start = max(workspace_at, channel_at)
            if start - now > MAX_WORKSPACE_WAIT_SECONDS:
                return Slot(wait=start - now, reserved=False)
            self._book(workspace, channel, start)
            if len(self._channel_free) > _PRUNE_ABOVE:
                self._channel_free = {k: t for k, t in self._channel_free.items() if t > now}
            return Slot(wait=start - now, reserved=True)

    def _book(self, workspace: Hashable, channel: str, start: float) -> None:
        after = start + self._workspace_spacing * self._slowdown.get(workspace, 1.0)
        self._workspace_free[workspace] = max(self._workspace_free.get(workspace, after), after)
        if channel:
            key = (workspace, channel)
            after = start + self._channel_spacing
            self._channel_free[key] = max(self._channel_free.get(key, after), after)

    def succeeded(self, workspace: Hashable) -> None:
        with self._lock:
            slowdown = self._slowdown.get(workspace, 1.0)
            if slowdown > 1.0:
                self._slowdown[workspace] = max(1.0, slowdown * RECOVERY_PER_SUCCESS)

    def rate_limited(self, workspace: Hashable, channel: str, retry_after: float) -> None:
        """Slack said 429: keep the channel quiet as asked, and ease off the workspace."""
        with self._lock:
            slowdown = self._slowdown.get(workspace, 1.0) * SLOWDOWN_ON_429
            self._slowdown[workspace] = min(MAX_SLOWDOWN, slowdown)
            if channel:
                key = (workspace, channel)
                until = self._monotonic() + retry_after
                self._channel_free[key] = max(self._channel_free.get(key, until), until)
