"""The audit log: who changed what, from what, to what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditLog


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor_user_id: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime


def record(
    session: Session,
    *,
    workspace_id: int | None,
    actor: str,
    action: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    session.add(
        AuditLog(
            workspace_id=workspace_id,
            actor_user_id=actor,
            action=action,
            target=target,
            before=before,
            after=after,
            at=now,
        )
    )


def recent(session: Session, workspace_id: int, limit: int = 20) -> list[AuditEntry]:
    rows = session.scalars(
        select(AuditLog)
        .where(AuditLog.workspace_id == workspace_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    ).all()
    return [AuditEntry(r.actor_user_id, r.action, r.target, r.before, r.after, r.at) for r in rows]
