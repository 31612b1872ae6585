"""Engines and sessions: the one place that knows which database we talk to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Let people write postgresql:// and still get psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# The dialects and drivers Tandem is tested on and installs.
SUPPORTED_DRIVERS = frozenset(
    {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}
)
URL_EXAMPLES = "sqlite:///tandem.db or postgresql://user:password@host:5432/tandem"


def url_problem(url: str) -> str | None:
    """None for a URL Tandem can use, else one sentence saying why not (never the password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"not a database URL; use {URL_EXAMPLES}"
    if parsed.drivername not in SUPPORTED_DRIVERS:
        return f"{parsed.drivername} is not supported; use {URL_EXAMPLES}"
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def ping(engine: Engine) -> str | None:
    """None when the database answers, else a short reason."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def take_sqlite_write_lock(session: Session) -> None:
    """On SQLite, take the database's one write lock now, as BEGIN IMMEDIATE does.

    The driver begins a transaction only at the first write, so what was read
    before it may be stale by the time the write commits. Taking the write lock
    first makes read-then-write decisions (limits, counters) serial; other
    writers wait for it within `busy_timeout`. A transaction that already wrote
    holds the lock already. Does nothing on other databases.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if not getattr(dbapi_connection, "in_transaction", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


RITUAL_KEY = "tandem.ritual_id"


@contextmanager
def on_behalf_of_ritual(session: Session, ritual_id: int) -> Iterator[None]:
    """Work queued in `session` meanwhile (outbox rows, jobs) belongs to this ritual.

    Pausing or deleting the ritual then withdraws what is still unsent. The
    tick wraps each ritual's builder in it, so builders need not pass it on.
    """
    previous = session.info.get(RITUAL_KEY)
    session.info[RITUAL_KEY] = ritual_id
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(RITUAL_KEY, None)
        else:
            session.info[RITUAL_KEY] = previous


def current_ritual(session: Session) -> int | None:
    """The ritual `on_behalf_of_ritual` named for this session, if any."""
    found = session.info.get(RITUAL_KEY)
    return int(found) if found is not None else None
