"""Named daemon threads, each running one loop until asked to stop (senders, job runners)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

Loop = Callable[[threading.Event], None]


class LoopThreads:
    """Start the loops on threads named `<name>-<index>`; stop them together."""

    def __init__(self, name: str, loops: Sequence[Loop]) -> None:
        self._name = name
        self._loops = list(loops)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index, loop in enumerate(self._loops):
            thread = threading.Thread(
                target=loop, args=(self._stop,), name=f"{self._name}-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask every loop to finish what it holds; one still busy keeps its lease until it ends."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
            if thread.is_alive():
                log.warning(
                    "%s did not stop within %.0fs; its lease will expire", thread.name, timeout
                )
        self._threads.clear()

    @property
    def running(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)
