"""Joint standups: settings, answers, cutoffs, who is asked, and the day's summary.

Every member of the teams is prompted at the same local time in their own
time zone. The answers go to one summary message per day in the joint channel
(counts by team, blockers and cross-team asks first) with the answers in its
thread. Turning the summary into Block Kit is the bot's job; what it says is
decided here.

Answer texts are Slack's escaped message format (`<@U1>`, `&amp;`, …), so
they are rendered as mrkdwn as they are; display and team names are plain
text and are escaped before they are put into mrkdwn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from rituals.blockers import is_no_blocker
from rituals.slack_text import (
    Link,
    Text,
    UsergroupMention,
    UserMention,
    escape,
    sanitize,
    tokenize,
    user_ids,
)
from rituals.text_chunks import SECTION_TEXT_LIMIT, split_text

# Stable question keys: the modal's block ids and the keys answers are stored under.
DONE = "done"
TODAY = "today"
BLOCKERS = "blockers"
ASK = "ask"

OTHER_TEAM_PLACEHOLDER = "{other_team}"

# Answers to these questions that mean "nothing to report" are dropped
# (rituals.blockers decides: "No blockers", "nothing today", "—", "RAS", …).
# Only a whole answer counts: "none of the APIs respond" is still a blocker.
NOTHING_TO_REPORT_KEYS: frozenset[str] = frozenset({BLOCKERS, ASK})
# Stored with the answers when the member ticked "No blockers" in the modal.
# Not a question key (those start with a letter), so it can never clash with one.
NO_BLOCKER = "_no_blocker"

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS: frozenset[int] = frozenset(range(5))

MAX_QUESTIONS = 10  # more than this is a survey, not a standup
QUESTION_TEXT_LIMIT = 2000  # Slack's limit for an input block's label
ANSWER_LENGTH_LIMIT = 3000  # Slack's limit for a plain_text_input's max_length
_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    text: str

    def label(self, other_team: str) -> str:
        """The question as members read it, with the other team's name filled in."""
        return self.text.replace(OTHER_TEAM_PLACEHOLDER, other_team)


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question(DONE, "What did you get done?"),
    Question(TODAY, "What are you working on today?"),
    Question(BLOCKERS, "Anything blocking you?"),
    Question(ASK, "What do you need from {other_team}?"),
)


@dataclass(frozen=True, slots=True)
class CutoffAfter:
    """Answers are on time for this long after each member's own prompt."""

    duration: timedelta


@dataclass(frozen=True, slots=True)
class CutoffAt:
    """Answers are on time until this wall-clock time in the joint channel's time zone."""

    local_time: time


Cutoff = CutoffAfter | CutoffAt


class StandupSettingsError(ValueError):
    """Problems an admin must fix, by setting name, so a form can show each by its field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


class _Invalid(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StandupSettings:
    """How one partnership's standup runs; stored as JSON in the ritual's settings.

    `local_time` is each member's own wall clock; `days` are weekday numbers
    (Monday = 0) in each member's own calendar; `stale_ask_after_days` is
    when an unresolved cross-team ask gets called out again in the summary.
    """

    questions: tuple[Question, ...] = DEFAULT_QUESTIONS
    days: frozenset[int] = WEEKDAYS
    local_time: time = time(9, 30)
    cutoff: Cutoff = CutoffAfter(timedelta(hours=4))
    max_answer_length: int = 2000
    stale_ask_after_days: int = 3

    def __post_init__(self) -> None:
        errors = {
            name: message
            for name, message in (
                ("questions", _questions_problem(self.questions)),
                ("days", _days_problem(self.days)),
                ("time", _clock_problem(self.local_time)),
                ("cutoff", _cutoff_problem(self.cutoff)),
                (
                    "max_answer_length",
                    _range_problem(self.max_answer_length, 1, ANSWER_LENGTH_LIMIT),
                ),
                ("stale_ask_after_days", _range_problem(self.stale_ask_after_days, 0, 365)),
            )
            if message is not None
        }
        if errors:
            raise StandupSettingsError(errors)

    @classmethod
    def from_dict(cls, settings: Mapping[str, object]) -> StandupSettings:
        """Settings from their JSON form; missing fields take the defaults.

        Raises StandupSettingsError listing every problem at once.
        """
        errors: dict[str, str] = {}
        for name in settings:
            if name not in _FIELDS:
                errors[name] = f"unknown setting; known ones are {', '.join(_FIELDS)}"
        defaults = cls()

        def field(name: str, parse: Callable[[object], _T], default: _T) -> _T:
            if name not in settings:
                return default
            try:
                return parse(settings[name])
            except _Invalid as problem:
                errors[name] = str(problem)
                return default

        questions = field("questions", _parse_questions, defaults.questions)
        days = field("days", _parse_days, defaults.days)
        local_time = field("time", _parse_clock, defaults.local_time)
        cutoff = field("cutoff", _parse_cutoff, defaults.cutoff)
        max_answer_length = field(
            "max_answer_length",
            lambda value: _parse_int(value, 1, ANSWER_LENGTH_LIMIT),
            defaults.max_answer_length,
        )
        stale_ask_after_days = field(
            "stale_ask_after_days",
            lambda value: _parse_int(value, 0, 365),
            defaults.stale_ask_after_days,
        )
        if errors:
            raise StandupSettingsError(errors)
        return cls(questions, days, local_time, cutoff, max_answer_length, stale_ask_after_days)

    def to_dict(self) -> dict[str, object]:
        """The JSON form `from_dict` reads back; question keys are always written out."""
        cutoff: dict[str, object]
        if isinstance(self.cutoff, CutoffAfter):
            cutoff = {"after_minutes": int(self.cutoff.duration.total_seconds()) // 60}
        else:
            cutoff = {"at": _format_clock(self.cutoff.local_time)}
        return {
            "questions": [{"key": q.key, "text": q.text} for q in self.questions],
            "days": [DAY_NAMES[day] for day in sorted(self.days)],
            "time": _format_clock(self.local_time),
            "cutoff": cutoff,
            "max_answer_length": self.max_answer_length,
            "stale_ask_after_days": self.stale_ask_after_days,
        }


_FIELDS = ("questions", "days", "time", "cutoff", "max_answer_length", "stale_ask_after_days")


def _parse_questions(value: object) -> tuple[Question, ...]:
    """A list of {"key", "text"} or of plain texts.

    A plain text gets the key of the default question with that text, or a
    key made from its words ("How do you feel?" -> "how_do_you_feel"), which
    `to_dict` then writes out so it stays put when the text is reworded.
    """
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _Invalid("give a list of questions")
    questions: list[Question] = []
    for number, item in enumerate(value, start=1):
        key: object = None
        text: object = item
        if isinstance(item, Mapping):
            key, text = item.get("key"), item.get("text")
            extra = set(item) - {"key", "text"}
            if extra:
                raise _Invalid(f"question {number}: unknown field {sorted(map(str, extra))[0]!r}")
        if not isinstance(text, str):
            raise _Invalid(f"question {number}: give a text, or a key and a text")
        if key is not None and not isinstance(key, str):
            raise _Invalid(f"question {number}: the key must be text")
        text = text.strip()
        questions.append(Question(key if key is not None else _key_for(text), text))
    result = tuple(questions)
    problem = _questions_problem(result)
    if problem is not None:
        raise _Invalid(problem)
    return result


def _key_for(text: str) -> str:
    for question in DEFAULT_QUESTIONS:
        if question.text == text:
            return question.key
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not slug[:1].isalpha():
        slug = f"q_{slug}"
    return slug[:32].rstrip("_")


def _questions_problem(questions: tuple[Question, ...]) -> str | None:
    if not questions:
        return "ask at least one question"
    if len(questions) > MAX_QUESTIONS:
        return f"ask at most {MAX_QUESTIONS} questions (there are {len(questions)})"
    first_use: dict[str, int] = {}
    for number, question in enumerate(questions, start=1):
        if not question.text.strip():
            return f"question {number} needs a text"
        if len(question.text) > QUESTION_TEXT_LIMIT:
            return (
                f"question {number} is {len(question.text):,} characters long; "
                f"keep it under {QUESTION_TEXT_LIMIT:,}"
            )
        if not _KEY.fullmatch(question.key):
            return (
                f"question {number}: key {question.key!r} must start with a letter and use "
                "only a-z, 0-9 and _ (at most 32 characters)"
            )
        if question.key in first_use:
            return (
                f"question {number}: key {question.key!r} is already used by question "
                f"{first_use[question.key]}; give each question its own key"
            )
        first_use[question.key] = number
    return None


def _parse_days(value: object) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise _Invalid(f"give a list of days, for example {list(DAY_NAMES[:5])}")
    days: set[int] = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else None
        if name in DAY_NAMES:
            days.add(DAY_NAMES.index(name))
        elif name in _FULL_DAY_NAMES:
            days.add(_FULL_DAY_NAMES.index(name))
        else:
            raise _Invalid(f"unknown day {item!r}; use {', '.join(DAY_NAMES)}")
    result = frozenset(days)
    problem = _days_problem(result)
    if problem is not None:
        raise _Invalid(problem)
    return result


def _days_problem(days: frozenset[int]) -> str | None:
    if not days:
        return "choose at least one day"
    if not days <= frozenset(range(7)):
        return "days are weekday numbers from 0 (Monday) to 6 (Sunday)"
    return None


def _parse_clock(value: object) -> time:
    match = _HH_MM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _Invalid(f"use a 24-hour time like 09:30, not {value!r}")
    return time(int(match[1]), int(match[2]))


def _format_clock(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _clock_problem(moment: time) -> str | None:
    if moment.tzinfo is not None:
        return "give a wall-clock time without a time zone"
    if moment.second or moment.microsecond:
        return "use whole minutes"
    return None


def _parse_cutoff(value: object) -> Cutoff:
    if (
        not isinstance(value, Mapping)
        or len(value) != 1
        or not {"after_minutes", "at"} & set(value)
    ):
        raise _Invalid('give either {"after_minutes": 240} or {"at": "17:00"}')
    try:
        if "at" in value:
            return CutoffAt(_parse_clock(value["at"]))
        return CutoffAfter(timedelta(minutes=_parse_int(value["after_minutes"], 1, 24 * 60)))
    except _Invalid as problem:
        raise _Invalid(f"{next(iter(value))}: {problem}") from None


def _cutoff_problem(cutoff: Cutoff) -> str | None:
    if isinstance(cutoff, CutoffAt):
        return _clock_problem(cutoff.local_time)
    if not timedelta(minutes=1) <= cutoff.duration <= timedelta(hours=24):
        return "after_minutes must be between 1 and 1,440 (24 hours)"
    if cutoff.duration % timedelta(minutes=1):
        return "use whole minutes"
    return None


def _parse_int(value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"give a whole number between {low:,} and {high:,}, not {value!r}")
    problem = _range_problem(value, low, high)
    if problem is not None:
        raise _Invalid(problem)
    return value


def _range_problem(value: int, low: int, high: int) -> str | None:
    if not low <= value <= high:
        return f"must be between {low:,} and {high:,}, not {value:,}"
    return None


# --- Answers -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValidAnswers:
    """Trimmed answers by question key, in question order; unanswered questions are left out."""

    answers: dict[str, str]


@dataclass(frozen=True, slots=True)
class InvalidAnswers:
    """Messages by question key, ready for a modal's `response_action: errors` (block id = key)."""

    errors: dict[str, str]


AnswerValidation = ValidAnswers | InvalidAnswers


def validate_answers(
    raw: Mapping[str, str | None], settings: StandupSettings, *, no_blocker: bool = False
) -> AnswerValidation:
    """Check a submitted standup.

    Answers are trimmed; a blockers or ask answer that means nothing to
    report (`means_nothing`) is dropped (no blocker, no ask), and it does not
    count as answering. `no_blocker` is the modal's "No blockers" box: when
    it is ticked, whatever the blockers field holds is not a blocker, and
    the answers carry NO_BLOCKER. Keys that are not questions are ignored;
    missing ones are unanswered.
    """
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    said_nothing = False
    for question in settings.questions:
        text = (raw.get(question.key) or "").strip()
        if question.key == BLOCKERS and no_blocker:
            said_nothing = True
            continue
        if not text:
            continue
        if len(text) > settings.max_answer_length:
            errors[question.key] = (
                f"Answers are limited to {settings.max_answer_length:,} characters; "
                f"this one has {len(text):,}."
            )
        elif question.key in NOTHING_TO_REPORT_KEYS and means_nothing(text):
            said_nothing = True
        else:
            answers[question.key] = text
    if errors:
        return InvalidAnswers(errors)
    if not answers:
        message = "Answer at least one question."
        if said_nothing:
            message = "Answer at least one question; “none” on its own does not count."
        return InvalidAnswers({settings.questions[0].key: message})
    if no_blocker and any(q.key == BLOCKERS for q in settings.questions):
        answers[NO_BLOCKER] = "yes"
    return ValidAnswers(answers)


def means_nothing(answer: str) -> bool:
    """Whether a blockers or ask answer says there is nothing to report."""
    return is_no_blocker(answer)


def blocker_of(answers: Mapping[str, str]) -> str | None:
    """The answer's blocker, if it has one: not ticked away, and not a "nothing" answer.

    Applied when summarising and logging too, so answers stored before a
    wording was recognised do not count as blockers either.
    """
    text = (answers.get(BLOCKERS) or "").strip()
    if not text or answers.get(NO_BLOCKER) or is_no_blocker(text):
        return None
    return text


# --- Time ---------------------------------------------------------------------


def prompt_at(local_date: date, settings: StandupSettings, member_tz: tzinfo) -> datetime:
    """When a member is prompted on one of their local dates, in UTC."""
    return _wall_instant(local_date, settings.local_time, member_tz)


def cutoff_for(prompt_at_utc: datetime, settings: StandupSettings, channel_tz: tzinfo) -> datetime:
    """The instant (UTC) after which an answer to this prompt is late.

    A duration is elapsed time, whatever the clocks do. A fixed time is its
    first occurrence in the channel's time zone strictly after the prompt:
    with a 17:00 New York cutoff, a member prompted at 09:30 in Tokyo (19:30
    the evening before in New York) has until 17:00 the next New York day.
    A cutoff inside a spring-forward gap is the end of the gap; one that
    happens twice (fall-back) is its first occurrence.
    """
    prompt = _as_utc(prompt_at_utc, "prompt_at_utc")
    if isinstance(settings.cutoff, CutoffAfter):
        return prompt + settings.cutoff.duration
    local_day = prompt.astimezone(channel_tz).date()
    same_day = _wall_instant(local_day, settings.cutoff.local_time, channel_tz)
    if same_day > prompt:
        return same_day
    return _wall_instant(local_day + timedelta(days=1), settings.cutoff.local_time, channel_tz)


def is_late(answered_at: datetime, cutoff: datetime) -> bool:
    """An answer exactly at the cutoff is on time."""
    return _as_utc(answered_at, "answered_at") > _as_utc(cutoff, "cutoff")


def _wall_instant(day: date, at: time, zone: tzinfo) -> datetime:
    wall = datetime.combine(day, at)
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap fold=1 reads the wall time with the offset after the jump (an
    # instant before it) and fold=0 with the one before (an instant after it);
    # the jump is the first second in between whose wall time reaches `wall`.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(instant.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


# --- Who is prompted -----------------------------------------------------------


class SkipReason(StrEnum):
    """Why a member is not prompted on a date; checked in this order."""

    OPTED_OUT = "opted_out"
    NOT_A_STANDUP_DAY = "not_a_standup_day"
    TEAM_HOLIDAY = "team_holiday"
    AWAY = "away"


def should_prompt(
    member_local_date: date,
    settings: StandupSettings,
    away_until: date | None,
    team_holidays: Collection[date],
    opted_out: bool,
) -> SkipReason | None:
    """None when the member is prompted on their local date, else why not.

    `away_until` is the member's last day away (inclusive).
    """
    if opted_out:
        return SkipReason.OPTED_OUT
    if member_local_date.weekday() not in settings.days:
        return SkipReason.NOT_A_STANDUP_DAY
    if member_local_date in team_holidays:
        return SkipReason.TEAM_HOLIDAY
    if away_until is not None and member_local_date <= away_until:
        return SkipReason.AWAY
    return None


# --- Cross-team detection --------------------------------------------------------


def mentions_of_other_team(answer_text: str, other_team_user_ids: Collection[str]) -> list[str]:
    """Members of the other team mentioned in an answer, in order, without repeats."""
    return [user_id for user_id in user_ids(answer_text) if user_id in other_team_user_ids]


def blocker_names_other_team(
    blocker_text: str,
    other_team_name: str,
    other_team_aliases: Iterable[str],
    other_team_user_ids: Collection[str],
    other_team_usergroup_ids: Collection[str] = (),
) -> bool:
    """Whether a blocker points at the other team, which the balance counts as dependence.

    It does when it mentions one of the team's members or its user group, or
    says its name or an alias as a whole word in the text or a link's label
    (not in a URL or a channel name). Names are matched case-insensitively,
    except short acronyms (at most three letters, all capitals, like "IT" or
    "HR"), which must be written in capitals: "it" or "edit" never name IT.
    """
    patterns = [
        pattern
        for name in (other_team_name, *other_team_aliases)
        if (pattern := _name_pattern(name)) is not None
    ]
    for token in tokenize(blocker_text):
        if isinstance(token, UserMention):
            if token.user_id in other_team_user_ids:
                return True
        elif isinstance(token, UsergroupMention):
            if token.usergroup_id in other_team_usergroup_ids:
                return True
        elif isinstance(token, Text | Link):
            prose = token.text if isinstance(token, Text) else token.label or ""
            if any(pattern.search(prose) for pattern in patterns):
                return True
    return False


@lru_cache(maxsize=512)
def _name_pattern(name: str) -> re.Pattern[str] | None:
    words = name.split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    letters = [char for char in name if char.isalpha()]
    acronym = 0 < len(letters) <= 3 and all(char.isupper() for char in letters)
    return re.compile(rf"(?<!\w){body}(?!\w)", 0 if acronym else re.IGNORECASE)


# --- The day's summary ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamProfile:
    """What identifies a team in text: its name, aliases, members and user groups."""

    team_id: str
    name: str
    aliases: tuple[str, ...] = ()
    member_ids: frozenset[str] = frozenset()
    usergroup_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AnswerView:
    """One member's standup for the day, answers by question key (as `ValidAnswers` gives them)."""

    member_name: str
    team_id: str
    answers: Mapping[str, str]
    answered_at: datetime
    late: bool = False


@dataclass(frozen=True, slots=True)
class OpenAsk:
    """A cross-team ask from an earlier standup that nobody has marked resolved."""

    member_name: str
    team_id: str
    text: str
    asked_on: date
    permalink: str | None = None


@dataclass(frozen=True, slots=True)
class TeamCount:
    team_id: str
    team_name: str
    answered: int
    prompted: int


@dataclass(frozen=True, slots=True)
class Blocker:
    member_name: str
    team_id: str
    text: str
    named_team_ids: tuple[str, ...]  # the other teams it names, for the balance
    late: bool

    @property
    def names_other_team(self) -> bool:
        return bool(self.named_team_ids)


@dataclass(frozen=True, slots=True)
class Ask:
    member_name: str
    team_id: str
    text: str
    mentioned_user_ids: tuple[str, ...]  # other teams' members it mentions


@dataclass(frozen=True, slots=True)
class StaleAsk:
    ask: OpenAsk
    age_days: int


@dataclass(frozen=True, slots=True)
class AnswerSection:
    """One member's answers as mrkdwn, already cut to fit section blocks."""

    member_name: str
    team_id: str
    late: bool
    chunks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StandupSummary:
    """The day's parent message (counts, blockers, asks) and its thread (sections)."""

    day: date
    counts: tuple[TeamCount, ...]
    blockers: tuple[Blocker, ...]  # those naming another team first
    asks: tuple[Ask, ...]
    stale_asks: tuple[StaleAsk, ...]  # oldest first
    sections: tuple[AnswerSection, ...]  # in answering order

    @property
    def headline(self) -> str:
        """Plain text for notifications and the message's `text` fallback."""
        counts = ", ".join(
            f"{escape(count.team_name)} {count.answered}/{count.prompted}" for count in self.counts
        )
        line = f"Joint standup, {self.day:%a} {self.day.day} {self.day:%b}: {counts} answered"
        if self.blockers:
            line += f", {len(self.blockers)} blocker{'s' if len(self.blockers) != 1 else ''}"
        return line


def build_summary(
    day: date,
    answers: Sequence[AnswerView],
    teams: Sequence[TeamProfile],
    open_asks: Sequence[OpenAsk],
    stale_after_days: int,
    *,
    prompted: Mapping[str, int],
    questions: Sequence[Question] = DEFAULT_QUESTIONS,
) -> StandupSummary:
    """Everything the day's summary shows, for two or more teams.

    `prompted` is how many members of each team were prompted; a member who
    answered without a prompt counts as prompted, so a team never shows more
    answers than prompts. Open asks older than `stale_after_days` days (from
    before `day`) are called out again.
    """
    if len(teams) < 2:
        raise ValueError("a joint standup needs at least two teams")
    by_id = {team.team_id: team for team in teams}
    if len(by_id) != len(teams):
        raise ValueError("team ids must be unique")
    if stale_after_days < 0:
        raise ValueError(f"stale_after_days must be 0 or more, got {stale_after_days}")
    for view in answers:
        if view.team_id not in by_id:
            raise ValueError(f"{view.member_name!r} answered for unknown team {view.team_id!r}")

    others = {team.team_id: [other for other in teams if other is not team] for team in teams}
    other_members = {
        team_id: frozenset().union(*(other.member_ids for other in team_others))
        for team_id, team_others in others.items()
    }
    other_names = {
        team_id: " and ".join(other.name for other in team_others)
        for team_id, team_others in others.items()
    }
    ordered = sorted(answers, key=lambda view: (view.answered_at, view.member_name))

    blockers: list[Blocker] = []
    asks: list[Ask] = []
    for view in ordered:
        blocker = blocker_of(view.answers)
        if blocker:
            named = tuple(
                other.team_id
                for other in others[view.team_id]
                if blocker_names_other_team(
                    blocker, other.name, other.aliases, other.member_ids, other.usergroup_ids
                )
            )
            blockers.append(Blocker(view.member_name, view.team_id, blocker, named, view.late))
        ask = view.answers.get(ASK)
        if ask:
            mentioned = tuple(mentions_of_other_team(ask, other_members[view.team_id]))
            asks.append(Ask(view.member_name, view.team_id, ask, mentioned))
    blockers.sort(key=lambda blocker: not blocker.names_other_team)

    answered: dict[str, int] = {team.team_id: 0 for team in teams}
    for view in answers:
        answered[view.team_id] += 1
    counts = tuple(
        TeamCount(
            team.team_id,
            team.name,
            answered[team.team_id],
            max(prompted.get(team.team_id, 0), answered[team.team_id]),
        )
        for team in teams
    )

    stale = sorted(
        (
            StaleAsk(ask, (day - ask.asked_on).days)
            for ask in open_asks
            if (day - ask.asked_on).days > stale_after_days
        ),
        key=lambda item: (item.ask.asked_on, item.ask.member_name),
    )

    sections = tuple(
        AnswerSection(
            view.member_name,
            view.team_id,
            view.late,
            tuple(
                split_text(
                    render_answer(
                        view, by_id[view.team_id].name, other_names[view.team_id], questions
                    ),
                    SECTION_TEXT_LIMIT,
                )
            ),
        )
        for view in ordered
    )
    return StandupSummary(day, counts, tuple(blockers), tuple(asks), tuple(stale), sections)


def render_answer(
    view: AnswerView, team_name: str, other_team: str, questions: Sequence[Question]
) -> str:
    """One member's answers as mrkdwn: a header line, then each answered question and its answer.

    Answers to questions no longer in the settings are kept, under their key.
    """
    header = f"*{escape(view.member_name)}* · {escape(team_name)}"
    if view.late:
        header += " · _late_"
    parts = [header]
    known = {question.key for question in questions}
    labelled = [(question.label(other_team), question.key) for question in questions]
    # Keys that are not questions (NO_BLOCKER, "_…") are flags, not answers to show.
    labelled += [(key, key) for key in view.answers if key not in known and key[:1] != "_"]
    for label, key in labelled:
        text = sanitize(view.answers.get(key, "")).strip()
        if text:
            parts.append(f"*{escape(label)}*\n{text}")
    return "\n\n".join(parts)
