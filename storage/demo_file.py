"""The stamp that tells a `tandem demo` database from any other file.

`tandem demo --db PATH` replaces PATH only when it carries this stamp, so a
mistyped path never destroys a real database. SQLite keeps a 32-bit
application id in the file header for exactly this (PRAGMA application_id).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine

# "TDEM" in ASCII.
DEMO_APPLICATION_ID = 0x5444454D


def mark_as_demo(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")


def is_demo_file(path: Path) -> bool:
    """True only for an SQLite file stamped by `mark_as_demo`; opens it read-only."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.Error:  # not an SQLite file at all
        return False
    finally:
        conn.close()
    return row is not None and row[0] == DEMO_APPLICATION_ID
