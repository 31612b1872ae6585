"""Listeners that finish their work inside the request, then ack.

Bolt runs with `process_before_response`: the listener runs in the request's
own thread and its ack is the HTTP response, so Slack is told a click worked
only once what it did is committed. Nothing is left to run after the ack.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Work = Callable[..., None]


def answered(work: Work) -> Callable[..., None]:
    """A Bolt listener: run `work` (it commits and answers), then an empty ack.

    Bolt fills a listener's arguments by the names of its parameters, so the
    listener takes every argument a piece of work here may ask for and passes
    on the ones `work` names. A failure is logged with its traceback and still
    acked: the member gets no error from Slack for a click that changed nothing.
    """
    wanted = set(inspect.signature(work).parameters)

    def listener(ack, body, client, respond, event) -> None:  # type: ignore[no-untyped-def]
        given = {"body": body, "client": client, "respond": respond, "event": event}
        try:
            work(**{name: given[name] for name in wanted})
        except Exception:
            log.exception("%s failed", getattr(work, "__name__", "listener"))
        ack()

    listener.__name__ = getattr(work, "__name__", "listener")
    return listener


def ack_reply(ack: Callable[..., Any], reply: dict[str, Any] | None) -> None:
    """Ack a slash command with its ephemeral answer (or empty when there is none)."""
    if reply is None:
        ack()
        return
    ack(response_type="ephemeral", **reply)
