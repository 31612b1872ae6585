"""The board and celebrations as outbox rows: one message per partnership, updated in place.

Revision 1 of a board is a chat.postMessage keyed `kpi-board:<partnership>`;
every later revision is a chat.update of that same message, whose channel
and ts the outbox fills in from the first post's stored result. An
unchanged board queues nothing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.kpi.views import board, celebration
from storage import kpis
from storage.org import partnership_team_names
from storage.outbox import OutboundCall, cancel, enqueue, from_parent


def board_key(partnership_id: int) -> str:
    return f"kpi-board:{partnership_id}"


def queue_board(
    session: Session,
    workspace_id: int,
    partnership_id: int,
    channel_id: str,
    today: date,
    now: datetime,
) -> int | None:
    """Queue the board's next revision; returns it, or None when nothing changed."""
    states = kpis.states(session, partnership_id=partnership_id)
    if not states and not kpis.has_board(session, partnership_id):
        return None  # nothing to show, and no board to empty
    message = board(states, today, partnership_team_names(session, partnership_id))
    digest = hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()
    revision = kpis.next_board_revision(session, partnership_id, digest)
    if revision is None:
        return None
    first = board_key(partnership_id)
    if revision == 1:
        call = OutboundCall(first, "chat.postMessage", {"channel": channel_id, **message})
    else:
        # An older update still waiting would only be overwritten by this one.
        cancel(session, [f"{first}:{revision - 1}"], "superseded by a newer board")
        call = OutboundCall(
            f"{first}:{revision}",
            "chat.update",
            {"channel": from_parent("channel"), "ts": from_parent("ts"), **message},
            channel_key=channel_id,
            parent_key=first,
        )
    enqueue(session, call, now, workspace_id)
    return revision


def queue_celebration(
    session: Session,
    workspace_id: int,
    state: kpis.KpiState,
    milestone: int,
    channel_id: str,
    now: datetime,
) -> None:
    message = celebration(state, milestone, partnership_team_names(session, state.partnership_id))
    enqueue(
        session,
        OutboundCall(
            f"kpi-celebrate:{state.id}:{milestone}",
            "chat.postMessage",
            {"channel": channel_id, **message},
        ),
        now,
        workspace_id,
    )
