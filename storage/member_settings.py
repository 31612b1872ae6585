"""What members decide for themselves: time away, and rituals they opted out of.

`opted_out` holds ritual kinds (rituals.interactions.RitualKind values);
`away_until` is the member's last day away, inclusive, in their own calendar.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Member


def set_away(session: Session, member_id: int, until: date | None, now: datetime) -> date | None:
    """Set (or with None, end) a member's time away; returns what it was before."""
    before = session.scalar(select(Member.away_until).where(Member.id == member_id))
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(away_until=until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return before


def set_opted_out(
    session: Session, member_id: int, kind: str, opted_out: bool, now: datetime
) -> bool:
    """Opt a member out of (or back into) one ritual kind; False when nothing changed."""
    current = session.scalar(
        select(Member.opted_out).where(Member.id == member_id).with_for_update()
    )
    kinds = list(current or [])
    if (kind in kinds) == opted_out:
        return False
    kinds = [*kinds, kind] if opted_out else [k for k in kinds if k != kind]
    session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(opted_out=sorted(kinds), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return True
