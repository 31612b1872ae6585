"""The collaboration pulse: when it is asked, and what leaders may see of it.

Anonymous by construction: an answer is stored with its team and month
only. Results for a team are shown only when at least MIN_GROUP members of
that team answered; free-text comments only when at least MIN_COMMENTS
exist, and then shuffled by a hash of their text (so their order says nothing
about who wrote when) with mentions and known names removed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

MIN_GROUP = 5
MIN_COMMENTS = 5
EFFECTIVE_FROM = 4  # a 4 or a 5 rates the collaboration effective
STUDY_REFERENCE = 46  # % of marketing leaders rating the collaboration with IT effective
MAX_COMMENT = 500
MAX_SHOWN_COMMENTS = 5  # per team, in the digest and `tandem digest --json`
SCALE: dict[int, str] = {
    1: "1 · Not at all",
    2: "2 · Slightly",
    3: "3 · Moderately",
    4: "4 · Very",
    5: "5 · Extremely",
}
REMOVED = "[removed]"

_MENTION = re.compile(r"<[@!#][^>]*>|@[\w.\-]+")
_NAME_PARTS = re.compile(r"[\s.\-_]+")


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def second_to_last_working_day(year: int, month: int) -> date:
    """The pulse's default day: the month's second-to-last Monday-Friday."""
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    day = nxt - timedelta(days=1)
    found = 0
    while True:
        if day.weekday() < 5:
            found += 1
            if found == 2:
                return day
        day -= timedelta(days=1)


def last_working_day(year: int, month: int) -> date:
    """The pulse's reminder day: the month's last Monday-Friday."""
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def valid_score(raw: str) -> int | None:
    return int(raw) if raw in {"1", "2", "3", "4", "5"} else None


def names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for every name, built once for all the comments.

    A whole name matches in any case ("ana lopez"); each part of a name of
    three letters or more matches as written, capitalised ("Ana helped"), so
    a first name alone goes too while the word "will" survives a "Will".
    Longest first, so "Ana Lopez" goes as one.
    """
    whole = {n.strip() for n in names if len(n.strip()) >= 2}
    parts = {p for n in whole for p in _NAME_PARTS.split(n) if len(p) >= 3} - whole
    if not whole:
        return None

    def alternation(found: set[str]) -> str:
        return "|".join(map(re.escape, sorted(found, key=len, reverse=True)))

    body = f"(?i:{alternation(whole)})" + (f"|{alternation(parts)}" if parts else "")
    return re.compile(r"(?<!\w)(?:" + body + r")(?!\w)")


def scrub(text: str, names: Iterable[str] | re.Pattern[str] | None) -> str:
    """The comment with Slack mentions, @words and the given names removed."""
    pattern = names if isinstance(names, re.Pattern) or names is None else names_pattern(names)
    cleaned = _MENTION.sub(REMOVED, text)
    if pattern is not None:
        cleaned = pattern.sub(REMOVED, cleaned)
    return cleaned.strip()[:MAX_COMMENT]


@dataclass(frozen=True, slots=True)
class TeamPulse:
    """One team's pulse for one month, as leaders may see it."""

    team: str
    answers: int
    asked: int
    effective_pct: int | None  # None: fewer than MIN_GROUP answers, hidden
    mean: float | None

    @property
    def shown(self) -> bool:
        return self.effective_pct is not None

    @property
    def response_pct(self) -> int | None:
        return round(100 * self.answers / self.asked) if self.asked else None


def team_pulse(
    team: str, counts: dict[int, int], asked: int, *, min_group: int = MIN_GROUP
) -> TeamPulse:
    """From score -> count; hidden below the minimum group size."""
    answers = sum(counts.values())
    if answers < min_group:
        return TeamPulse(team, answers, asked, None, None)
    effective = sum(n for score, n in counts.items() if score >= EFFECTIVE_FROM)
    mean = sum(score * n for score, n in counts.items()) / answers
    return TeamPulse(team, answers, asked, round(100 * effective / answers), round(mean, 1))


def visible_comments(
    comments: Sequence[str],
    names: Iterable[str],
    *,
    min_comments: int = MIN_COMMENTS,
    limit: int | None = None,
) -> list[str]:
    """Comments leaders may read: none below the minimum, else shuffled and scrubbed.

    The shuffle orders comments by a hash of their text, so the order depends
    on the words alone, never on who answered or when; only the comments
    shown (`limit`) are scrubbed.
    """
    written = [c for c in comments if c.strip()]
    if len(written) < min_comments:
        return []
    pattern = names_pattern(names)
    shown: list[str] = []
    for comment in sorted(written, key=lambda c: hashlib.sha256(c.encode()).digest()):
        cleaned = scrub(comment, pattern)
        if cleaned and cleaned != REMOVED:
            shown.append(cleaned)
        if limit is not None and len(shown) >= limit:
            break
    return shown


def trend(now: int | None, before: int | None) -> str:
    if now is None or before is None:
        return ""
    delta = now - before
    return "→ same as last month" if delta == 0 else f"{'↑' if delta > 0 else '↓'} {abs(delta)} pts"


def perception_line(team: str, effective_pct: int, give_pct: int | None) -> str:
    """Perception beside behaviour, e.g. "IT: 38 % effective, and IT gives 74 % of the help"."""
    if give_pct is None:
        return f"{team}: {effective_pct} % effective"
    return f"{team}: {effective_pct} % effective, and {team} gives {give_pct} % of the help"


def next_step(team: str, other: str, effective_pct: int, give_pct: int | None) -> str | None:
    """A step that reads both: how the team rates the partnership, and how much it gives."""
    if effective_pct >= STUDY_REFERENCE:
        return None
    if give_pct is not None and give_pct >= 60:
        return (
            f"{team} rates the collaboration low while giving most of the help: ask {team} "
            f"what it needs back from {other}, and plan one thing {other} delivers for {team}."
        )
    if give_pct is not None and give_pct <= 40:
        return (
            f"{team} rates the collaboration low and receives most of the help: ask whether "
            f"{other}'s help arrives in a form {team} can use, and pair one person each way."
        )
    return (
        f"{team} rates the collaboration below the study's {STUDY_REFERENCE} %: read the "
        "comments together and pick one change for next month."
    )
