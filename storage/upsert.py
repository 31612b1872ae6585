"""INSERT ... ON CONFLICT for the two backends we support, behind one call.

To learn whether an insert won, ask for RETURNING rows: with SQLAlchemy 2.1
and psycopg 3 an INSERT's `rowcount` is -1, so counting rows that way
silently breaks on PostgreSQL only. UPDATE and DELETE rowcounts are fine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Result, Table, bindparam, column, func, select, true
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


def insert_new(
    session: Session,
    target: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    returning: Sequence[Any],
    page_size: int | None = None,
) -> Sequence[Any]:
    """INSERT rows ... ON CONFLICT (`conflict`) DO NOTHING; the RETURNING rows of those added.

    Rows go in in the order given (callers sort them when two transactions
    may insert overlapping batches, so one waits for the other instead of
    deadlocking). Every row has the same keys, column names of `target`.

    PostgreSQL gets one statement whatever the row count: the rows travel
    as one JSON parameter and json_to_record turns each back into typed
    columns. Its text depends only on the column names, so SQLAlchemy's
    compiled cache and psycopg's prepared statements apply, and nobody
    parses a statement with thousands of placeholders (an executemany of
    1,000 outbox rows spent most of its ~200 ms doing that); one JSON
    document is also far cheaper for psycopg to send than a text array per
    column. SQLite gets multi-row VALUES, `page_size` rows per statement
    (SQLAlchemy splits further under its bound-parameter limit).
    """
    if not rows:
        return []
    table: Table = getattr(target, "__table__", target)
    if session.get_bind().dialect.name != "postgresql":
        stmt = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*returning)
        )
        options = {} if page_size is None else {"insertmanyvalues_page_size": page_size}
        return session.execute(stmt, list(rows), execution_options=options).all()
    names = list(rows[0])
    document = bindparam("rows", _as_json(table, names, rows), type_=JSON)
    elements = (
        func.json_array_elements(document)
        .table_valued("value", with_ordinality="position")
        .render_derived(name="element")
    )
    record = (
        func.json_to_record(elements.c.value)
        .table_valued(*(column(name, table.c[name].type) for name in names))
        .render_derived(name="source", with_types=True)
        .lateral()
    )
    query = (
        select(*(record.c[name] for name in names))
        .select_from(elements)
        .join(record, true())
        .order_by(elements.c.position)
    )
    stmt = (
        postgresql.insert(table)
        .from_select(names, query)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*returning)
    )
    return session.execute(stmt).all()


def _as_json(table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]) -> Any:
    """The rows as JSON can carry them: datetimes as ISO 8601, which timestamptz reads exactly."""
    stamps = [name for name in names if _is_datetime(table.c[name].type)]
    if not stamps:
        return list(rows)
    # A batch shares a few instants (`now`, one fire time): format each once.
    formatted: dict[datetime, str] = {}
    converted = []
    for row in rows:
        copy = dict(row)
        for name in stamps:
            value = copy[name]
            if value is not None:
                text = formatted.get(value)
                if text is None:
                    text = formatted[value] = _iso(value)
                copy[name] = text
        converted.append(copy)
    return converted


def _is_datetime(type_: Any) -> bool:
    # A TypeDecorator (UTCDateTime) keeps the type it decorates in `impl`.
    return isinstance(type_, DateTime) or isinstance(getattr(type_, "impl", None), DateTime)


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
    return value.isoformat()
