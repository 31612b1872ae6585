"""What every listener and job needs, built once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, transaction
from storage.org import ensure_workspace


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    _workspaces: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        engine = make_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=make_session_factory(engine))

    def workspace_id(self, slack_team_id: str) -> int:
        """Our id for a Slack workspace, created on first sight and cached."""
        with self._lock:
            cached = self._workspaces.get(slack_team_id)
        if cached is not None:
            return cached
        with transaction(self.sessions) as session:
            workspace_id = ensure_workspace(session, slack_team_id, utcnow())
        with self._lock:
            self._workspaces[slack_team_id] = workspace_id
        return workspace_id

    def close(self) -> None:
        self.engine.dispose()
