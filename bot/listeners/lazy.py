"""Listeners as an ack plus lazy work, so Slack's answer never waits for the work.

The app runs with Bolt's `process_before_response`: the ack function runs in
the request's own thread and its ack is the HTTP response; the lazy work runs
afterwards, in the work process when there is one (bot/handoff.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Work = Callable[..., None]


def ack_now(ack: Callable[..., Any]) -> None:
    ack()


def logged(work: Work) -> Work:
    """`work`, with its failures logged with a traceback (Bolt logs only the message).

    Bolt fills a lazy function's arguments by the names of `work`'s own
    parameters (it unwraps the wrapper), and finds it again by its name.
    """

    @functools.wraps(work)
    def run(**kwargs: Any) -> None:
        try:
            work(**kwargs)
        except Exception:
            log.exception("%s failed after its ack", work.__name__)

    return run


def acked(work: Work) -> dict[str, Any]:
    """Listener arguments for Bolt: an empty ack at once, then `work`."""
    return {"ack": ack_now, "lazy": [logged(work)]}
