"""A member's view of the pulse in App Home: their team's result, once the round has closed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.pulse.closing import round_results
from bot.pulse.digest_section import team_results
from rituals.pulse import MIN_GROUP, STUDY_REFERENCE
from rituals.slack_text import escape
from storage import pulse
from storage.kudos import member_partnerships
from storage.org import partnership_team_names


def member_pulse_text(
    session: Session, workspace_id: int, user_id: str, team_ids: tuple[int, ...]
) -> str:
    """Their team's last closed pulse (aggregate, shown only from 5 answers); empty if none."""
    lines: list[str] = []
    for partnership in member_partnerships(session, workspace_id, user_id):
        rounds = pulse.latest_closed(session, partnership.id, limit=1)
        if not rounds:
            continue
        names = partnership_team_names(session, partnership.id)
        results = team_results(round_results(session, rounds[0]), rounds[0].asked, names)
        for team in team_ids:
            result = results.get(team)
            if result is None:
                continue
            if result.shown:
                lines.append(
                    f"{escape(result.team)}, {rounds[0].month}: {result.effective_pct} % rated the "
                    f"collaboration effective, mean {result.mean:.1f} of 5 "
                    f"(the study's reference: {STUDY_REFERENCE} %)."
                )
            else:
                lines.append(
                    f"{escape(result.team)}, {rounds[0].month}: fewer than {MIN_GROUP} answers, "
                    "so no result is shown."
                )
    return ("*Your team's collaboration pulse*\n" + "\n".join(lines)) if lines else ""
