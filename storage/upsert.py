"""INSERT ... ON CONFLICT for the two backends we support, behind one call.

To learn whether an insert won, ask for RETURNING rows: with SQLAlchemy 2.1
and psycopg 3 an INSERT's `rowcount` is -1, so counting rows that way
silently breaks on PostgreSQL only. UPDATE and DELETE rowcounts are fine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, target: Any) -> Any:
    """The dialect's own insert() (a model or a table), which knows ON CONFLICT."""
    table = getattr(target, "__table__", target)
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def inserted(session: Session, stmt: Any, *columns: Any) -> list[Any]:
    """Run an INSERT … ON CONFLICT DO NOTHING and return the rows it really added."""
    return list(session.execute(stmt.returning(*columns)).all())


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (never use it for an INSERT; see above)."""
    return int(getattr(result, "rowcount", 0) or 0)
