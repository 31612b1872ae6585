"""INSERT ... ON CONFLICT for the two backends we support, behind one call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, target: Any) -> Any:
    """The dialect's own insert() (a model or a table), which knows ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(target)
    return sqlite.insert(target)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE/DELETE touched (a CursorResult knows; others say 0)."""
    return int(getattr(result, "rowcount", 0) or 0)
