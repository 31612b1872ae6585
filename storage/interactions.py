"""Writing to the interaction log, the record every balance figure is computed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from rituals.interactions import InteractionKind
from storage.batching import batches
from storage.models import Interaction
from storage.upsert import insert_for


@dataclass(frozen=True, slots=True)
class NewInteraction:
    workspace_id: int
    partnership_id: int | None
    kind: InteractionKind
    provider_member_id: int
    beneficiary_member_id: int | None
    provider_team_id: int | None
    beneficiary_team_id: int | None
    occurred_at: datetime
    source: str | None = None
    tags: Sequence[str] = field(default_factory=tuple)


def log(session: Session, *entries: NewInteraction) -> int:
    """Insert entries; an entry whose `source` was already logged is ignored. Returns rows added."""
    if not entries:
        return 0
    rows = [
        {
            "workspace_id": e.workspace_id,
            "partnership_id": e.partnership_id,
            "kind": e.kind.value,
            "provider_member_id": e.provider_member_id,
            "beneficiary_member_id": e.beneficiary_member_id,
            "provider_team_id": e.provider_team_id,
            "beneficiary_team_id": e.beneficiary_team_id,
            "occurred_at": e.occurred_at,
            "source": e.source,
            "tags": list(e.tags),
        }
        for e in entries
    ]
    # RETURNING, not rowcount, counts the rows added (see storage.upsert).
    stmt = insert_for(session, Interaction).on_conflict_do_nothing().returning(Interaction.id)
    return sum(
        len(session.execute(stmt, batch).all()) for batch in batches(rows, per_item=len(rows[0]))
    )
