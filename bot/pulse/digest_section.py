"""The pulse in the leaders' digest: per team, beside what the same team does.

Per team: the share rating the collaboration effective (4-5), the mean, the
response rate and the trend against the previous pulse, with the study's
46 % as a reference; then perception beside behaviour ("IT: 38 % effective,
and IT gives 74 % of the help") and a next step reading both. A team with
fewer than 5 answers shows no result; comments appear only when a team has
at least 5, shuffled, with mentions and names removed. No line names a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from rituals.pulse import (
    MIN_COMMENTS,
    MIN_GROUP,
    STUDY_REFERENCE,
    TeamPulse,
    next_step,
    perception_line,
    team_pulse,
    trend,
    visible_comments,
)
from rituals.slack_text import escape, truncate
from storage import pulse

_MAX_COMMENTS_SHOWN = 5


def team_results(
    counts: Sequence[pulse.TeamCounts], asked: Mapping[int, int], names: Mapping[int, str]
) -> dict[int, TeamPulse]:
    by_team = {c.team_id: c.counts for c in counts}
    return {
        team: team_pulse(name, by_team.get(team, {}), asked.get(team, 0))
        for team, name in names.items()
    }


def _team_text(result: TeamPulse, before: TeamPulse | None) -> str:
    name = escape(result.team)
    if not result.shown:
        return f"*{name}*: fewer than {MIN_GROUP} answers, so no result is shown."
    rate = (
        f"{result.answers} of {result.asked} answered ({result.response_pct} %)"
        if result.asked
        else f"{result.answers} answered"
    )
    moved = trend(result.effective_pct, before.effective_pct if before else None)
    return (
        f"*{name}*: {result.effective_pct} % rate it effective (4–5) · mean {result.mean:.1f} of 5 · "
        f"{rate}" + (f" · {moved}" if moved else "")
    )


def section_blocks(
    session: Any,
    partnership_id: int,
    month: str,
    names: Mapping[int, str],
    give_pct: Mapping[int, int | None],
    scrub_names: Sequence[str],
) -> list[dict[str, Any]]:
    """Blocks for the digest of `month`; none when that month had no closed pulse."""
    rounds = pulse.closed_rounds(session, partnership_id, month)
    if not rounds or rounds[0].month != month:
        return []
    now_round = rounds[0]
    counts = pulse.team_counts(session, now_round.id)
    results = team_results(counts, now_round.asked, names)
    before: dict[int, TeamPulse] = {}
    if len(rounds) > 1:
        earlier = rounds[1]
        before = team_results(
            pulse.team_counts(session, earlier.id, with_comments=False), earlier.asked, names
        )
    lines = [_team_text(r, before.get(t)) for t, r in results.items()]
    lines.append(
        f"_Reference: in the study behind Tandem, {STUDY_REFERENCE} % of marketing leaders rate "
        "their collaboration with IT effective._"
    )
    beside: list[str] = []
    steps: list[str] = []
    for team, result in results.items():
        if result.effective_pct is None:
            continue
        beside.append(
            escape(perception_line(result.team, result.effective_pct, give_pct.get(team)))
        )
        others = " and ".join(n for t, n in names.items() if t != team) or "the other team"
        step = next_step(result.team, others, result.effective_pct, give_pct.get(team))
        if step:
            steps.append("• " + escape(step))
    comments: list[str] = []
    for c in counts:
        shown_team = results.get(c.team_id)
        if shown_team is None or not shown_team.shown:
            continue
        shown = visible_comments(c.comments, scrub_names, limit=_MAX_COMMENTS_SHOWN)
        if shown:
            comments.append(
                f"*{escape(names.get(c.team_id, 'A team'))}* said:\n"
                + "\n".join(
                    f"> {escape(truncate(text, 200))}" for text in shown[:_MAX_COMMENTS_SHOWN]
                )
            )
    text = "*How the collaboration feels* (monthly pulse)\n" + "\n".join(lines)
    if beside:
        text += "\n*Perception beside behaviour*\n" + "\n".join(beside)
    if steps:
        text += "\n" + "\n".join(steps)
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))]
    if comments:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(comments), 3000)))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Answers are stored by team and month only; a team's result needs {MIN_GROUP} "
                    f"answers and its comments {MIN_COMMENTS}, shown shuffled with names removed."
                )
            ]
        )
    )
    return [b.to_dict() for b in blocks]
