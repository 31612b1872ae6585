"""Migrations and models must describe the same schema, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from storage import standups
from storage.db import make_engine, transaction
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Base
from tests.storage.test_standups import MONDAY, NOW
from tests.storage.test_standups import _setup as standup_world


def test_migrated_database_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade_downgrade_upgrade_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision()
    downgrade(db_url, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(db_url)
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.parametrize("pragma, expected", [("foreign_keys", 1), ("journal_mode", "wal")])
def test_sqlite_runs_with_foreign_keys_and_wal(
    sqlite_url: str, pragma: str, expected: object
) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected
    engine.dispose()


def test_a_standup_summary_updated_in_place_keeps_counting_its_versions(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    """0005 reads the count once from the newest key, so no new version reuses an old key."""
    ritual = standup_world(session_factory)["ritual"]
    tuesday = MONDAY + timedelta(days=1)
    with transaction(session_factory) as session:
        days = standups.ensure_days(session, ritual, {MONDAY: NOW, tuesday: NOW}, NOW)
        updated, posted = days[MONDAY], days[tuesday]
        standups.set_summary_key(session, updated, f"standup:day:{updated}:summary:r3", 3)
        standups.set_summary_key(session, posted, f"standup:day:{posted}:summary")
    downgrade(db_url, "0004_kpi_pulse")
    upgrade(db_url)
    with session_factory() as session:
        found = [standups.get_day(session, day_id) for day_id in (updated, posted)]
    assert [(d.summary_key, d.summary_revision) for d in found if d is not None] == [
        (f"standup:day:{updated}:summary:r3", 3),
        (f"standup:day:{posted}:summary", 0),
    ]
