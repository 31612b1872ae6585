from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rituals.standup import (
    ASK,
    BLOCKERS,
    DEFAULT_QUESTIONS,
    DONE,
    NO_BLOCKER,
    TODAY,
    AnswerView,
    CutoffAfter,
    CutoffAt,
    InvalidAnswers,
    OpenAsk,
    Question,
    SkipReason,
    StandupSettings,
    StandupSettingsError,
    TeamProfile,
    ValidAnswers,
    blocker_names_other_team,
    blocker_of,
    build_summary,
    cutoff_for,
    is_late,
    means_nothing,
    mentions_of_other_team,
    prompt_at,
    should_prompt,
    validate_answers,
)

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
DEFAULTS = StandupSettings()

# --- Settings -----------------------------------------------------------------


def test_defaults() -> None:
    assert DEFAULTS.questions == DEFAULT_QUESTIONS
    assert [q.key for q in DEFAULTS.questions] == [DONE, TODAY, BLOCKERS, ASK]
    assert DEFAULTS.questions[3].text == "What do you need from {other_team}?"
    assert DEFAULTS.days == frozenset({0, 1, 2, 3, 4})
    assert DEFAULTS.local_time == time(9, 30)
    assert DEFAULTS.cutoff == CutoffAfter(timedelta(hours=4))
    assert DEFAULTS.max_answer_length == 2000


def test_question_label_fills_in_the_other_team() -> None:
    assert DEFAULTS.questions[3].label("IT") == "What do you need from IT?"
    assert Question("x", "Braces {like this} stay").label("IT") == "Braces {like this} stay"


def test_empty_dict_gives_the_defaults() -> None:
    assert StandupSettings.from_dict({}) == DEFAULTS


def test_to_dict_round_trips() -> None:
    custom = StandupSettings(
        questions=(*DEFAULTS.questions[:2], Question("mood", "How do you feel?")),
        days=frozenset({0, 2, 4}),
        local_time=time(8, 5),
        cutoff=CutoffAt(time(17, 0)),
        max_answer_length=500,
        stale_ask_after_days=0,
    )
    assert custom.to_dict() == {
        "questions": [
            {"key": "done", "text": "What did you get done?"},
            {"key": "today", "text": "What are you working on today?"},
            {"key": "mood", "text": "How do you feel?"},
        ],
        "days": ["mon", "wed", "fri"],
        "time": "08:05",
        "cutoff": {"at": "17:00"},
        "max_answer_length": 500,
        "stale_ask_after_days": 0,
    }
    assert StandupSettings.from_dict(custom.to_dict()) == custom
    assert StandupSettings.from_dict(DEFAULTS.to_dict()) == DEFAULTS
    assert DEFAULTS.to_dict()["cutoff"] == {"after_minutes": 240}


def test_plain_text_questions_get_keys() -> None:
    settings = StandupSettings.from_dict(
        {"questions": ["What did you get done?", "  How do you feel?  ", "¿Qué tal?", "42?"]}
    )
    assert settings.questions == (
        Question("done", "What did you get done?"),
        Question("how_do_you_feel", "How do you feel?"),
        Question("que_tal", "¿Qué tal?"),
        Question("q_42", "42?"),
    )


def test_a_default_key_can_be_reworded() -> None:
    settings = StandupSettings.from_dict(
        {"questions": [{"key": "blockers", "text": "Any impediments?"}, {"text": "Mood?"}]}
    )
    assert settings.questions == (Question(BLOCKERS, "Any impediments?"), Question("mood", "Mood?"))


def test_days_accept_short_and_full_names_in_any_case() -> None:
    settings = StandupSettings.from_dict({"days": ["Mon", "TUESDAY", " sun "]})
    assert settings.days == frozenset({0, 1, 6})


def test_duration_cutoff() -> None:
    settings = StandupSettings.from_dict({"cutoff": {"after_minutes": 90}, "time": "7:45"})
    assert settings.cutoff == CutoffAfter(timedelta(minutes=90))
    assert settings.local_time == time(7, 45)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"dayz": ["mon"]}, "dayz", "unknown setting"),
        ({"days": []}, "days", "choose at least one day"),
        ({"days": ["mnday"]}, "days", "unknown day 'mnday'; use mon, tue"),
        ({"days": "mon"}, "days", "give a list of days"),
        ({"days": [1]}, "days", "unknown day 1"),
        ({"time": "9.30"}, "time", "use a 24-hour time like 09:30, not '9.30'"),
        ({"time": "24:00"}, "time", "24-hour"),
        ({"time": 930}, "time", "24-hour"),
        ({"cutoff": {}}, "cutoff", 'either {"after_minutes": 240} or {"at": "17:00"}'),
        ({"cutoff": {"after_minutes": 60, "at": "17:00"}}, "cutoff", "either"),
        ({"cutoff": "4h"}, "cutoff", "either"),
        ({"cutoff": {"after_minutes": 0}}, "cutoff", "after_minutes: must be between 1 and 1,440"),
        ({"cutoff": {"after_minutes": 1441}}, "cutoff", "between 1 and 1,440"),
        ({"cutoff": {"after_minutes": True}}, "cutoff", "after_minutes: give a whole number"),
        ({"cutoff": {"at": "5pm"}}, "cutoff", "at: use a 24-hour time"),
        ({"max_answer_length": 0}, "max_answer_length", "between 1 and 3,000, not 0"),
        ({"max_answer_length": 5000}, "max_answer_length", "not 5,000"),
        ({"max_answer_length": "2000"}, "max_answer_length", "give a whole number"),
        ({"max_answer_length": 2000.0}, "max_answer_length", "give a whole number"),
        ({"stale_ask_after_days": -1}, "stale_ask_after_days", "between 0 and 365"),
        ({"questions": []}, "questions", "ask at least one question"),
        ({"questions": "What?"}, "questions", "give a list of questions"),
        ({"questions": ["Ok?", "  "]}, "questions", "question 2 needs a text"),
        ({"questions": [{"key": "x"}]}, "questions", "question 1: give a text"),
        ({"questions": [{"key": 3, "text": "Ok?"}]}, "questions", "key must be text"),
        ({"questions": [{"text": "Ok?", "kind": "x"}]}, "questions", "unknown field 'kind'"),
        ({"questions": [{"key": "Mood", "text": "Ok?"}]}, "questions", "key 'Mood' must start"),
        ({"questions": [{"key": "1st", "text": "Ok?"}]}, "questions", "must start with a letter"),
        (
            {"questions": [{"key": "mood", "text": "A?"}, {"key": "mood", "text": "B?"}]},
            "questions",
            "question 2: key 'mood' is already used by question 1",
        ),
        ({"questions": ["Mood?", "Mood!"]}, "questions", "already used"),
        ({"questions": [f"Q{i}?" for i in range(11)]}, "questions", "at most 10 questions"),
        ({"questions": ["x" * 2001]}, "questions", "2,001 characters long"),
    ],
)
def test_invalid_settings_are_explained(raw: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(StandupSettingsError) as raised:
        StandupSettings.from_dict(raw)
    assert list(raised.value.errors) == [field]
    assert message in raised.value.errors[field]
    assert str(raised.value).startswith(f"{field}: ")


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(StandupSettingsError) as raised:
        StandupSettings.from_dict({"days": [], "time": "late", "max_answer_length": -5})
    assert set(raised.value.errors) == {"days", "time", "max_answer_length"}


def test_direct_construction_is_checked_too() -> None:
    with pytest.raises(StandupSettingsError, match="days: choose at least one day"):
        StandupSettings(days=frozenset())
    with pytest.raises(StandupSettingsError, match="cutoff: use whole minutes"):
        StandupSettings(cutoff=CutoffAfter(timedelta(minutes=5, seconds=30)))
    with pytest.raises(StandupSettingsError, match="time: use whole minutes"):
        StandupSettings(local_time=time(9, 30, 15))
    with pytest.raises(StandupSettingsError, match="time: give a wall-clock time"):
        StandupSettings(local_time=time(9, 30, tzinfo=UTC))


# --- Answers ------------------------------------------------------------------


def test_answers_are_trimmed_and_blank_ones_dropped() -> None:
    result = validate_answers(
        {ASK: "  ", DONE: "  shipped the page\n", TODAY: None, "noise": "ignored"}, DEFAULTS
    )
    assert result == ValidAnswers({DONE: "shipped the page"})


def test_answers_come_back_in_question_order() -> None:
    result = validate_answers({ASK: "a review", DONE: "x", BLOCKERS: "the VPN"}, DEFAULTS)
    assert isinstance(result, ValidAnswers)
    assert list(result.answers) == [DONE, BLOCKERS, ASK]


@pytest.mark.parametrize("raw", [{}, {DONE: "", TODAY: " \n\t "}, {"other": "text"}])
def test_nothing_answered_is_an_error_on_the_first_question(raw: dict[str, str]) -> None:
    assert validate_answers(raw, DEFAULTS) == InvalidAnswers(
        {DONE: "Answer at least one question."}
    )


@pytest.mark.parametrize(
    "word",
    [
        "none",
        "None.",
        "N/A",
        "n/a",
        "-",
        "—",
        "Nothing!",
        "nope",
        " no ",
        "No blockers",
        "nothing today",
        "all good",
        "Keine Blocker",
    ],
)
def test_nothing_to_report_means_no_blocker_and_no_ask(word: str) -> None:
    result = validate_answers({DONE: "x", BLOCKERS: word, ASK: word}, DEFAULTS)
    assert result == ValidAnswers({DONE: "x"})


def test_nothing_to_report_words_are_kept_in_other_questions() -> None:
    result = validate_answers({DONE: "nothing", TODAY: "none"}, DEFAULTS)
    assert result == ValidAnswers({DONE: "nothing", TODAY: "none"})


def test_only_whole_answers_mean_nothing() -> None:
    assert means_nothing("None.")
    assert not means_nothing("none of the APIs respond")
    result = validate_answers({BLOCKERS: "none of the APIs respond"}, DEFAULTS)
    assert result == ValidAnswers({BLOCKERS: "none of the APIs respond"})


def test_saying_none_alone_is_not_an_answer() -> None:
    result = validate_answers({BLOCKERS: "none", ASK: "n/a"}, DEFAULTS)
    assert isinstance(result, InvalidAnswers)
    assert list(result.errors) == [DONE]
    assert "“none” on its own does not count" in result.errors[DONE]


def test_over_long_answers_are_errors_with_limit_and_length() -> None:
    result = validate_answers({DONE: "x" * 2000, TODAY: "y" * 2345, ASK: "z" * 3000}, DEFAULTS)
    assert result == InvalidAnswers(
        {
            TODAY: "Answers are limited to 2,000 characters; this one has 2,345.",
            ASK: "Answers are limited to 2,000 characters; this one has 3,000.",
        }
    )


def test_length_is_measured_after_trimming() -> None:
    assert isinstance(validate_answers({DONE: "  " + "x" * 2000 + "\n\n"}, DEFAULTS), ValidAnswers)


def test_the_limit_comes_from_the_settings() -> None:
    settings = StandupSettings(max_answer_length=10)
    result = validate_answers({DONE: "x" * 11}, settings)
    assert result == InvalidAnswers(
        {DONE: "Answers are limited to 10 characters; this one has 11."}
    )


def test_custom_questions_validate_by_their_keys() -> None:
    settings = StandupSettings(questions=(Question("mood", "Mood?"), Question(BLOCKERS, "Stuck?")))
    assert validate_answers({}, settings) == InvalidAnswers(
        {"mood": "Answer at least one question."}
    )
    assert validate_answers({"mood": "good", DONE: "x"}, settings) == ValidAnswers({"mood": "good"})


# --- Time ---------------------------------------------------------------------


def test_prompt_is_at_the_members_local_time() -> None:
    assert prompt_at(date(2026, 1, 14), DEFAULTS, TOKYO) == datetime(2026, 1, 14, 0, 30, tzinfo=UTC)
    assert prompt_at(date(2026, 1, 14), DEFAULTS, NEW_YORK) == datetime(
        2026, 1, 14, 14, 30, tzinfo=UTC
    )
    # Summer time moves the UTC instant, not the wall time.
    assert prompt_at(date(2026, 7, 14), DEFAULTS, NEW_YORK) == datetime(
        2026, 7, 14, 13, 30, tzinfo=UTC
    )


def test_a_prompt_in_a_spring_forward_gap_is_at_the_end_of_the_gap() -> None:
    settings = StandupSettings(local_time=time(2, 30))
    # 2026-03-08 02:00 EST jumps to 03:00 EDT = 07:00 UTC.
    assert prompt_at(date(2026, 3, 8), settings, NEW_YORK) == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_a_prompt_at_an_ambiguous_time_is_at_its_first_occurrence() -> None:
    settings = StandupSettings(local_time=time(1, 30))
    # 2026-11-01 01:30 happens in EDT (05:30 UTC) and again in EST (06:30 UTC).
    assert prompt_at(date(2026, 11, 1), settings, NEW_YORK) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


def test_duration_cutoff_is_elapsed_time() -> None:
    prompt = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # 00:30 EST, the night clocks jump
    assert cutoff_for(prompt, DEFAULTS, NEW_YORK) == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)


def test_duration_cutoff_accepts_any_aware_datetime() -> None:
    prompt = datetime(2026, 1, 14, 9, 30, tzinfo=TOKYO)
    assert cutoff_for(prompt, DEFAULTS, NEW_YORK) == datetime(2026, 1, 14, 4, 30, tzinfo=UTC)


def test_fixed_cutoff_is_later_the_same_channel_day() -> None:
    settings = StandupSettings(cutoff=CutoffAt(time(17, 0)))
    prompt = prompt_at(date(2026, 1, 14), settings, NEW_YORK)
    assert cutoff_for(prompt, settings, NEW_YORK) == datetime(2026, 1, 14, 22, tzinfo=UTC)
    prompt = prompt_at(date(2026, 1, 14), settings, LOS_ANGELES)  # 12:30 in New York
    assert cutoff_for(prompt, settings, NEW_YORK) == datetime(2026, 1, 14, 22, tzinfo=UTC)


def test_fixed_cutoff_for_a_member_ahead_of_the_channel_is_the_next_channel_day() -> None:
    settings = StandupSettings(cutoff=CutoffAt(time(17, 0)))
    prompt = prompt_at(date(2026, 1, 15), settings, TOKYO)  # 19:30 on the 14th in New York
    assert cutoff_for(prompt, settings, NEW_YORK) == datetime(2026, 1, 15, 22, tzinfo=UTC)


def test_fixed_cutoff_already_passed_moves_to_the_next_day() -> None:
    settings = StandupSettings(cutoff=CutoffAt(time(10, 0)))
    prompt = prompt_at(date(2026, 1, 14), settings, LOS_ANGELES)  # 12:30 in New York
    assert cutoff_for(prompt, settings, NEW_YORK) == datetime(2026, 1, 15, 15, tzinfo=UTC)


def test_fixed_cutoff_at_the_prompt_instant_is_the_next_day() -> None:
    settings = StandupSettings(local_time=time(17, 0), cutoff=CutoffAt(time(17, 0)))
    prompt = prompt_at(date(2026, 1, 14), settings, NEW_YORK)
    assert cutoff_for(prompt, settings, NEW_YORK) == prompt + timedelta(days=1)


def test_fixed_cutoff_in_a_gap_is_the_end_of_the_gap() -> None:
    settings = StandupSettings(cutoff=CutoffAt(time(2, 30)))
    prompt = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert cutoff_for(prompt, settings, NEW_YORK) == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="prompt_at_utc must be timezone-aware"):
        cutoff_for(datetime(2026, 1, 14, 9, 30), DEFAULTS, NEW_YORK)
    with pytest.raises(ValueError, match="answered_at must be timezone-aware"):
        is_late(datetime(2026, 1, 14, 9, 30), datetime(2026, 1, 14, 9, 30, tzinfo=UTC))


def test_late_means_strictly_after_the_cutoff() -> None:
    cutoff = datetime(2026, 1, 14, 22, tzinfo=UTC)
    assert not is_late(cutoff - timedelta(seconds=1), cutoff)
    assert not is_late(cutoff, cutoff)
    assert is_late(cutoff + timedelta(microseconds=1), cutoff)
    assert not is_late(datetime(2026, 1, 14, 17, tzinfo=NEW_YORK), cutoff)


# --- Who is prompted -----------------------------------------------------------

WEDNESDAY = date(2026, 1, 14)
SATURDAY = date(2026, 1, 17)


def test_a_member_is_prompted_on_a_plain_standup_day() -> None:
    assert should_prompt(WEDNESDAY, DEFAULTS, None, set(), opted_out=False) is None


def test_days_outside_the_schedule_are_skipped() -> None:
    assert should_prompt(SATURDAY, DEFAULTS, None, set(), False) is SkipReason.NOT_A_STANDUP_DAY
    weekend = StandupSettings(days=frozenset({5}))
    assert should_prompt(SATURDAY, weekend, None, set(), False) is None
    assert should_prompt(WEDNESDAY, weekend, None, set(), False) is SkipReason.NOT_A_STANDUP_DAY


def test_team_holidays_are_skipped() -> None:
    holidays = {WEDNESDAY}
    assert should_prompt(WEDNESDAY, DEFAULTS, None, holidays, False) is SkipReason.TEAM_HOLIDAY
    assert should_prompt(WEDNESDAY + timedelta(days=1), DEFAULTS, None, holidays, False) is None


def test_away_until_is_the_last_day_away() -> None:
    assert should_prompt(WEDNESDAY, DEFAULTS, WEDNESDAY, set(), False) is SkipReason.AWAY
    assert should_prompt(WEDNESDAY, DEFAULTS, date(2026, 2, 1), set(), False) is SkipReason.AWAY
    assert should_prompt(WEDNESDAY, DEFAULTS, WEDNESDAY - timedelta(days=1), set(), False) is None


def test_opted_out_members_are_never_prompted() -> None:
    assert should_prompt(WEDNESDAY, DEFAULTS, None, set(), True) is SkipReason.OPTED_OUT


def test_skip_reasons_are_checked_in_order() -> None:
    assert should_prompt(SATURDAY, DEFAULTS, SATURDAY, {SATURDAY}, True) is SkipReason.OPTED_OUT
    assert (
        should_prompt(SATURDAY, DEFAULTS, SATURDAY, {SATURDAY}, False)
        is SkipReason.NOT_A_STANDUP_DAY
    )
    assert (
        should_prompt(WEDNESDAY, DEFAULTS, WEDNESDAY, {WEDNESDAY}, False) is SkipReason.TEAM_HOLIDAY
    )


# --- Cross-team detection --------------------------------------------------------

IT_MEMBERS = frozenset({"U_IT1", "U_IT2"})


def test_mentions_of_other_team_keeps_order_and_drops_repeats_and_own_team() -> None:
    text = "pairing with <@U_IT2>, <@U_MKT1|bea> and <@U_IT1|carl>; thanks <@U_IT2>"
    assert mentions_of_other_team(text, IT_MEMBERS) == ["U_IT2", "U_IT1"]
    assert mentions_of_other_team("no mentions here", IT_MEMBERS) == []


def names_it(text: str) -> bool:
    return blocker_names_other_team(text, "IT", ["Platform", "Help Desk"], IT_MEMBERS, {"S_IT"})


@pytest.mark.parametrize(
    "text",
    [
        "waiting on <@U_IT1> for VPN access",
        "waiting on <@U_IT1|carl> for VPN access",
        "<!subteam^S_IT|@it-team> hasn't replied",
        "IT hasn't approved the DNS change",
        "blocked by IT.",
        "IT's ticket queue",
        "need the IT-approved laptop",
        "the platform team owes us a fix",
        "PLATFORM outage",
        "ticket with the help desk",
        "ticket with the help\ndesk",
        "see <https://tickets.example.com/42|the IT ticket>",
    ],
)
def test_blockers_that_name_the_other_team(text: str) -> None:
    assert names_it(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "waiting on <@U_MKT1> for the copy",
        "<!subteam^S_MKT|@marketing> owes us copy",
        "it is slow to edit",  # a short all-caps name is case-sensitive
        "It broke again",
        "the ITSM form is down",
        "waiting for the platforms vendor",  # whole words only
        "replatforming the site",
        "see <https://it.example.com/platform>",  # URLs are not prose
        "ask in <#C1|platform>",  # nor are channel names
    ],
)
def test_blockers_that_do_not_name_the_other_team(text: str) -> None:
    assert not names_it(text)


def test_longer_names_match_in_any_case() -> None:
    assert blocker_names_other_team("marketing owes us copy", "Marketing", [], set())
    assert blocker_names_other_team("MARKETING owes us copy", "Marketing", [], set())
    assert not blocker_names_other_team("remarketing campaign", "Marketing", [], set())


def test_names_with_symbols_match_the_unescaped_text() -> None:
    assert blocker_names_other_team("waiting on R&amp;D", "R&D", [], set())
    assert not blocker_names_other_team("waiting on r&amp;d", "R&D", [], set())


def test_blank_names_never_match() -> None:
    assert not blocker_names_other_team("anything at all", " ", ["", "  "], set())


# --- The day's summary ---------------------------------------------------------

DAY = date(2026, 1, 14)
MARKETING = TeamProfile(
    "T_MKT", "Marketing", ("Growth",), frozenset({"U_MKT1", "U_MKT2"}), frozenset({"S_MKT"})
)
IT = TeamProfile("T_IT", "IT", ("Platform",), IT_MEMBERS, frozenset({"S_IT"}))
TEAMS = (MARKETING, IT)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 14, hour, minute, tzinfo=UTC)


def view(
    name: str, team: TeamProfile, when: datetime, late: bool = False, **answers: str
) -> AnswerView:
    return AnswerView(name, team.team_id, answers, when, late)


def test_counts_by_team() -> None:
    answers = [
        view("Ana", MARKETING, at(14), done="copy"),
        view("Bea", MARKETING, at(15), done="brief"),
        view("Carl", IT, at(1), today="DNS"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={"T_MKT": 5, "T_IT": 1})
    assert [(c.team_name, c.answered, c.prompted) for c in summary.counts] == [
        ("Marketing", 2, 5),
        ("IT", 1, 1),
    ]


def test_an_answer_without_a_prompt_counts_as_prompted() -> None:
    answers = [view("Carl", IT, at(1), today="DNS"), view("Dan", IT, at(2), today="VPN")]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={"T_IT": 1})
    assert [(c.answered, c.prompted) for c in summary.counts] == [(0, 0), (2, 2)]


def test_blockers_naming_the_other_team_come_first() -> None:
    answers = [
        view("Ana", MARKETING, at(14), blockers="my laptop died"),
        view("Bea", MARKETING, at(15), blockers="IT hasn't approved the DNS change", late=True),
        view("Carl", IT, at(1), blockers="waiting on <@U_MKT2> for copy"),
        view("Dan", IT, at(2), done="patched"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    assert [(b.member_name, b.named_team_ids, b.late) for b in summary.blockers] == [
        ("Carl", ("T_MKT",), False),
        ("Bea", ("T_IT",), True),
        ("Ana", (), False),
    ]
    assert [b.names_other_team for b in summary.blockers] == [True, True, False]


def test_answers_saying_no_blocker_are_not_blockers_in_the_summary_or_headline() -> None:
    """Answers stored as they were typed, before the wording was recognised, or ticked away."""
    answers = [
        view("Ana", MARKETING, at(14), blockers="No blockers today, thanks!"),
        view("Bea", MARKETING, at(15), blockers="—"),
        view("Carl", IT, at(1), blockers="rien à signaler"),
        view("Dan", IT, at(2), blockers="waiting on <@U_MKT2>", **{NO_BLOCKER: "yes"}),
        view("Eve", IT, at(3), blockers="the VPN is down"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    assert [b.member_name for b in summary.blockers] == ["Eve"]
    assert summary.headline.endswith(", 1 blocker")
    assert all(NO_BLOCKER not in s for section in summary.sections for s in section.chunks)


def test_the_no_blocker_box_drops_the_blocker_text_and_is_kept() -> None:
    raw = {DONE: "x", BLOCKERS: "IT has not approved the DNS"}
    result = validate_answers(raw, DEFAULTS, no_blocker=True)
    assert result == ValidAnswers({DONE: "x", NO_BLOCKER: "yes"})
    assert blocker_of(result.answers) is None  # type: ignore[union-attr]
    unticked = validate_answers(raw, DEFAULTS)
    assert blocker_of(unticked.answers) == "IT has not approved the DNS"  # type: ignore[union-attr]
    # The box alone is not an answer, and without a blockers question it is not kept.
    assert isinstance(validate_answers({}, DEFAULTS, no_blocker=True), InvalidAnswers)
    no_blockers_question = StandupSettings(questions=(Question(DONE, "Done?"),))
    assert validate_answers(raw, no_blockers_question, no_blocker=True) == ValidAnswers({DONE: "x"})


def test_a_blocker_naming_your_own_team_is_not_cross_team() -> None:
    answers = [view("Carl", IT, at(1), blockers="IT is short-staffed, <@U_IT2> is out")]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    assert not summary.blockers[0].names_other_team


def test_asks_carry_the_other_teams_mentions() -> None:
    answers = [
        view("Ana", MARKETING, at(14), ask="a review from <@U_IT1> and <@U_MKT2>"),
        view("Carl", IT, at(1), ask="final copy"),
        view("Dan", IT, at(2), done="patched"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    assert [(a.member_name, a.text, a.mentioned_user_ids) for a in summary.asks] == [
        ("Carl", "final copy", ()),
        ("Ana", "a review from <@U_IT1> and <@U_MKT2>", ("U_IT1",)),
    ]


def test_stale_asks_are_open_asks_older_than_the_threshold() -> None:
    open_asks = [
        OpenAsk("Ana", "T_MKT", "three days old", DAY - timedelta(days=3)),
        OpenAsk("Carl", "T_IT", "four days old", DAY - timedelta(days=4), "https://x/p1"),
        OpenAsk("Bea", "T_MKT", "ten days old", DAY - timedelta(days=10)),
        OpenAsk("Dan", "T_IT", "from today", DAY),
    ]
    summary = build_summary(DAY, [], TEAMS, open_asks, 3, prompted={})
    assert [(s.ask.text, s.age_days) for s in summary.stale_asks] == [
        ("ten days old", 10),
        ("four days old", 4),
    ]
    assert summary.stale_asks[1].ask.permalink == "https://x/p1"


def test_with_no_threshold_every_earlier_open_ask_is_stale() -> None:
    open_asks = [
        OpenAsk("Ana", "T_MKT", "yesterday", DAY - timedelta(days=1)),
        OpenAsk("Dan", "T_IT", "today", DAY),
    ]
    summary = build_summary(DAY, [], TEAMS, open_asks, 0, prompted={})
    assert [s.ask.text for s in summary.stale_asks] == ["yesterday"]


def test_sections_render_each_answer_in_answering_order() -> None:
    answers = [
        view("Bea <admin>", MARKETING, at(15), late=True, done="brief", ask="a review"),
        view("Carl", IT, at(1), today="DNS &amp; VPN", blockers="<@UMKT2>"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    assert [(s.member_name, s.late) for s in summary.sections] == [
        ("Carl", False),
        ("Bea <admin>", True),
    ]
    assert summary.sections[0].chunks == (
        "*Carl* · IT\n\n"
        "*What are you working on today?*\nDNS &amp; VPN\n\n"
        "*Anything blocking you?*\n<@UMKT2>",
    )
    assert summary.sections[1].chunks == (
        "*Bea &lt;admin&gt;* · Marketing · _late_\n\n"
        "*What did you get done?*\nbrief\n\n"
        "*What do you need from IT?*\na review",
    )


def test_sections_use_custom_questions_and_keep_answers_to_removed_ones() -> None:
    questions = (Question("mood", "How is {other_team} doing?"),)
    answers = [view("Carl", IT, at(1), mood="fine", done="patched")]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={}, questions=questions)
    assert summary.sections[0].chunks == (
        "*Carl* · IT\n\n*How is Marketing doing?*\nfine\n\n*done*\npatched",
    )


def test_long_answers_are_cut_to_section_size() -> None:
    long_answer = ("word " * 2000).strip()  # 9,999 characters
    answers = [view("Ana", MARKETING, at(14), done=long_answer, today=long_answer)]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={})
    chunks = summary.sections[0].chunks
    assert all(len(chunk) <= 3000 for chunk in chunks)
    assert "".join(chunks).count("word") == 4000
    assert chunks[0].startswith("*Ana* · Marketing")


def test_three_teams_each_see_the_others() -> None:
    sales = TeamProfile("T_SALES", "Sales", member_ids=frozenset({"U_S1"}))
    answers = [view("Ana", MARKETING, at(14), blockers="Sales and IT", ask="<@U_S1>, <@U_IT1>")]
    summary = build_summary(DAY, answers, (*TEAMS, sales), [], 3, prompted={})
    assert summary.blockers[0].named_team_ids == ("T_IT", "T_SALES")
    assert summary.asks[0].mentioned_user_ids == ("U_S1", "U_IT1")
    assert "*What do you need from IT and Sales?*" in summary.sections[0].chunks[0]


def test_headline() -> None:
    answers = [
        view("Ana", MARKETING, at(14), blockers="IT"),
        view("Carl", IT, at(1), done="x"),
    ]
    summary = build_summary(DAY, answers, TEAMS, [], 3, prompted={"T_MKT": 4, "T_IT": 3})
    assert (
        summary.headline == "Joint standup, Wed 14 Jan: Marketing 1/4, IT 1/3 answered, 1 blocker"
    )


def test_an_empty_day() -> None:
    summary = build_summary(DAY, [], TEAMS, [], 3, prompted={"T_MKT": 4, "T_IT": 3})
    assert not (summary.blockers or summary.asks or summary.stale_asks or summary.sections)
    assert summary.headline == "Joint standup, Wed 14 Jan: Marketing 0/4, IT 0/3 answered"


def test_summary_input_errors() -> None:
    with pytest.raises(ValueError, match="at least two teams"):
        build_summary(DAY, [], (IT,), [], 3, prompted={})
    with pytest.raises(ValueError, match="unique"):
        build_summary(DAY, [], (IT, IT), [], 3, prompted={})
    with pytest.raises(ValueError, match="stale_after_days"):
        build_summary(DAY, [], TEAMS, [], -1, prompted={})
    stranger = AnswerView("Eve", "T_OTHER", {DONE: "x"}, at(1))
    with pytest.raises(ValueError, match="unknown team 'T_OTHER'"):
        build_summary(DAY, [stranger], TEAMS, [], 3, prompted={})


def test_a_thousand_answers() -> None:
    teams = (
        TeamProfile("T_MKT", "Marketing", ("Growth",), frozenset(f"U_M{i}" for i in range(500))),
        TeamProfile("T_IT", "IT", ("Platform",), frozenset(f"U_I{i}" for i in range(500))),
    )
    answers = []
    for i in range(1000):
        team, other = ("T_MKT", "I") if i % 2 else ("T_IT", "M")
        answers.append(
            AnswerView(
                f"Member {i}",
                team,
                {
                    DONE: f"finished task {i} " * 20,
                    TODAY: f"working on the launch with <@U_{other}{i % 500}>",
                    BLOCKERS: "waiting on Platform" if i % 3 == 0 else "slow laptop",
                    ASK: f"a review from <@U_{other}{(i + 1) % 500}>",
                },
                at(0) + timedelta(seconds=i),
                late=i % 10 == 0,
            )
        )
    open_asks = [OpenAsk(f"Member {i}", "T_IT", "old", DAY - timedelta(days=i)) for i in range(50)]

    summary = build_summary(DAY, answers, teams, open_asks, 3, prompted={"T_MKT": 600, "T_IT": 550})

    assert [(c.answered, c.prompted) for c in summary.counts] == [(500, 600), (500, 550)]
    assert len(summary.sections) == 1000
    assert summary.sections[0].member_name == "Member 0"
    assert len(summary.blockers) == 1000
    assert sum(b.names_other_team for b in summary.blockers) == 167  # Marketing blockers on IT
    assert all(len(a.mentioned_user_ids) == 1 for a in summary.asks)
    assert len(summary.stale_asks) == 46
    assert sum(s.late for s in summary.sections) == 100
