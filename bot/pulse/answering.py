"""Answering the pulse: one answer per person per month, editable until the round closes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from rituals.pulse import MAX_COMMENT, month_key
from rituals.slack_text import strip_controls
from storage import org, pulse
from storage.db import transaction
from storage.org import member_teams, partnership_team_names


@dataclass(frozen=True, slots=True)
class Form:
    round_id: int
    other_team: str


class PulseAnswers:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def form(self, workspace_id: int, user_id: str, round_id: int) -> Form | str:
        """The form to open, or why not (a sentence for the member)."""
        with self._sessions() as session:
            found = self._check(session, workspace_id, user_id, round_id)
            if isinstance(found, str):
                return found
            round_, team_id = found
            others = [
                n
                for t, n in partnership_team_names(session, round_.partnership_id).items()
                if t != team_id
            ]
            return Form(round_id, " and ".join(others) or "the other team")

    def answer(
        self, workspace_id: int, user_id: str, round_id: int, score: int, comment: str
    ) -> str | None:
        """Record the answer; None when done, else why nothing was recorded."""
        text = strip_controls(comment).strip()[:MAX_COMMENT] or None
        with transaction(self._sessions) as session:
            found = self._check(session, workspace_id, user_id, round_id)
            if isinstance(found, str):
                return found
            round_, team_id = found
            member = org.find_member(session, workspace_id, user_id)
            assert member is not None  # _check found them
            try:
                pulse.answer(session, round_.id, member.id, team_id, score, text)
            except pulse.PulseClosed:
                return CLOSED
        return None

    def _check(
        self, session: Session, workspace_id: int, user_id: str, round_id: int
    ) -> tuple[pulse.Round, int] | str:
        round_ = pulse.get_round(session, round_id)
        member = org.find_member(session, workspace_id, user_id)
        if round_ is None or member is None:
            return "This pulse is not for you."
        team_id = member_teams(session, round_.partnership_id, [member.id]).get(member.id)
        if team_id is None:
            return "This pulse is not for you."
        now = self._clock()
        legacy_over = round_.closes_at is None and month_key(now.date()) != round_.month
        if round_.is_over(now) or legacy_over:
            return CLOSED
        return round_, team_id


CLOSED = "This month's pulse has closed; the next one comes at the end of the month."
