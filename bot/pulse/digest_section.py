"""The pulse in the leaders' digest: per team, beside what the same team does.

Per team: the share rating the collaboration effective (4-5), the mean, the
response rate and the trend against the previous pulse, with the study's
46 % as a reference; then perception beside behaviour ("IT: 38 % effective,
and IT gives 74 % of the help") and a next step reading both. A team with
fewer than 5 answers shows no result; comments appear only when a team has
at least 5, shuffled, with mentions and names removed. No line names a person.

Everything is read from the results the round kept when it closed
(bot/pulse/closing.py), so a closed month reads the same every time, and
costs two small queries whatever the number of answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock
from sqlalchemy.orm import Session

from bot.pulse.closing import round_results
from rituals.pulse import (
    MIN_COMMENTS,
    MIN_GROUP,
    STUDY_REFERENCE,
    TeamPulse,
    next_step,
    perception_line,
    team_pulse,
    trend,
)
from rituals.slack_text import escape, truncate
from storage import pulse


def team_results(
    counts: Sequence[pulse.TeamCounts], asked: Mapping[int, int], names: Mapping[int, str]
) -> dict[int, TeamPulse]:
    by_team = {c.team_id: c.counts for c in counts}
    return {
        team: team_pulse(name, by_team.get(team, {}), asked.get(team, 0))
        for team, name in names.items()
    }


@dataclass(frozen=True, slots=True)
class TeamLine:
    result: TeamPulse
    before: TeamPulse | None  # the same team in the previous closed pulse
    give_pct: int | None  # the team's share of the help it took part in, this month
    comments: tuple[str, ...]  # already scrubbed; empty below the minimum

    @property
    def trend_pts(self) -> int | None:
        if self.result.effective_pct is None or self.before is None:
            return None
        if self.before.effective_pct is None:
            return None
        return self.result.effective_pct - self.before.effective_pct


@dataclass(frozen=True, slots=True)
class PulseSection:
    """What leaders see of one month's pulse: aggregates per team, nothing per person."""

    month: str
    teams: tuple[TeamLine, ...]
    steps: tuple[str, ...]

    @property
    def perception(self) -> tuple[str, ...]:
        return tuple(
            perception_line(t.result.team, t.result.effective_pct, t.give_pct)
            for t in self.teams
            if t.result.effective_pct is not None
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types, for `tandem digest --json`."""
        teams: list[dict[str, Any]] = []
        for line in self.teams:
            r = line.result
            if not r.shown:
                teams.append({"team": r.team, "shown": False})
                continue
            teams.append(
                {
                    "team": r.team,
                    "shown": True,
                    "effective_pct": r.effective_pct,
                    "mean": r.mean,
                    "answers": r.answers,
                    "asked": r.asked,
                    "response_pct": r.response_pct,
                    "trend_pts": line.trend_pts,
                    "gives_pct": line.give_pct,
                    "comments": list(line.comments),
                }
            )
        return {
            "month": self.month,
            "reference_pct": STUDY_REFERENCE,
            "min_group": MIN_GROUP,
            "min_comments": MIN_COMMENTS,
            "teams": teams,
            "perception": list(self.perception),
            "next_steps": list(self.steps),
        }


def section(
    session: Session,
    partnership_id: int,
    month: str,
    names: Mapping[int, str],
    give_pct: Mapping[int, int | None],
) -> PulseSection | None:
    """The pulse of `month`; None when that month had no closed pulse."""
    rounds = pulse.closed_rounds(session, partnership_id, month)
    if not rounds or rounds[0].month != month:
        return None
    now_round = rounds[0]
    kept = round_results(session, now_round)
    results = team_results(kept, now_round.asked, names)
    before: dict[int, TeamPulse] = {}
    if len(rounds) > 1:
        earlier = rounds[1]
        before = team_results(round_results(session, earlier), earlier.asked, names)
    comments = {c.team_id: c.comments for c in kept}
    teams = tuple(
        TeamLine(
            result,
            before.get(team),
            give_pct.get(team),
            comments.get(team, ()) if result.shown else (),
        )
        for team, result in results.items()
    )
    steps: list[str] = []
    for team, result in results.items():
        if result.effective_pct is None:
            continue
        others = " and ".join(n for t, n in names.items() if t != team) or "the other team"
        step = next_step(result.team, others, result.effective_pct, give_pct.get(team))
        if step:
            steps.append(step)
    return PulseSection(month, teams, tuple(steps))


def _team_text(line: TeamLine) -> str:
    result = line.result
    name = escape(result.team)
    if not result.shown:
        return f"*{name}*: fewer than {MIN_GROUP} answers, so no result is shown."
    rate = (
        f"{result.answers} of {result.asked} answered ({result.response_pct} %)"
        if result.asked
        else f"{result.answers} answered"
    )
    moved = trend(result.effective_pct, line.before.effective_pct if line.before else None)
    return (
        f"*{name}*: {result.effective_pct} % rate it effective (4–5) · mean {result.mean:.1f} of 5 · "
        f"{rate}" + (f" · {moved}" if moved else "")
    )


def blocks(found: PulseSection) -> list[dict[str, Any]]:
    lines = [_team_text(t) for t in found.teams]
    lines.append(
        f"_Reference: in the study behind Tandem, {STUDY_REFERENCE} % of marketing leaders rate "
        "their collaboration with IT effective._"
    )
    text = "*How the collaboration feels* (monthly pulse)\n" + "\n".join(lines)
    if found.perception:
        text += "\n*Perception beside behaviour*\n" + "\n".join(
            escape(line) for line in found.perception
        )
    if found.steps:
        text += "\n" + "\n".join("• " + escape(step) for step in found.steps)
    said = [
        f"*{escape(t.result.team)}* said:\n"
        + "\n".join(f"> {escape(truncate(c, 200))}" for c in t.comments)
        for t in found.teams
        if t.comments
    ]
    out: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))]
    if said:
        out.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(said), 3000))))
    out.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Answers are stored by team and month only; a team's result needs {MIN_GROUP} "
                    f"answers and its comments {MIN_COMMENTS}, shown shuffled with names removed."
                )
            ]
        )
    )
    return [b.to_dict() for b in out]


def section_blocks(
    session: Session,
    partnership_id: int,
    month: str,
    names: Mapping[int, str],
    give_pct: Mapping[int, int | None],
) -> list[dict[str, Any]]:
    """Blocks for the digest of `month`; none when that month had no closed pulse."""
    found = section(session, partnership_id, month, names, give_pct)
    return blocks(found) if found is not None else []
