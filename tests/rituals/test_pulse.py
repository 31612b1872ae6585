"""The pulse's rules: its day, the minimum group size, and comment scrubbing."""

from __future__ import annotations

from datetime import date

from rituals.pulse import (
    REMOVED,
    month_key,
    scrub,
    second_to_last_working_day,
    team_pulse,
    trend,
    visible_comments,
)


def test_second_to_last_working_day() -> None:
    assert second_to_last_working_day(2026, 1) == date(2026, 1, 29)  # 30th is a Friday
    assert second_to_last_working_day(
        2026,
        5,
    ) == date(2026, 5, 28)  # 31st is a Sunday
    assert second_to_last_working_day(2026, 12) == date(2026, 12, 30)
    assert month_key(date(2026, 3, 9)) == "2026-03"


def test_a_team_under_five_answers_is_hidden() -> None:
    hidden = team_pulse("IT", {5: 2, 4: 2}, asked=9)
    assert not hidden.shown and hidden.mean is None and hidden.effective_pct is None
    shown = team_pulse("IT", {5: 1, 4: 1, 2: 3}, asked=10)
    assert shown.shown
    assert shown.effective_pct == 40
    assert shown.mean == 3.0
    assert shown.response_pct == 50


def test_comments_need_five_and_lose_mentions_and_names() -> None:
    raw = [
        "Ask <@U123ABC> earlier",
        "Ana from IT was great",
        "@bob should share plans",
        "<!channel> more demos",
        "shared roadmap",
    ]
    assert visible_comments(raw[:4], names=["Ana"]) == []
    shown = visible_comments(raw, names=["Ana"])
    assert len(shown) == 5
    assert visible_comments(list(reversed(raw)), names=["Ana"]) == shown  # order: the words alone
    assert len(visible_comments(raw, names=["Ana"], limit=2)) == 2
    joined = " ".join(shown)
    for leaked in ("U123ABC", "Ana", "bob", "<!channel>"):
        assert leaked not in joined
    assert f"{REMOVED} from IT was great" in shown


def test_scrub_keeps_words_that_merely_contain_a_name() -> None:
    assert scrub("Banana plans by Ana", ["Ana"]) == f"Banana plans by {REMOVED}"


def test_trend() -> None:
    assert trend(50, 40) == "↑ 10 pts"
    assert trend(40, 50) == "↓ 10 pts"
    assert trend(40, None) == ""


def test_first_and_last_names_go_alone_too_but_ordinary_words_stay() -> None:
    names = ["Ana Lopez", "Will Smith", "jo"]
    cleaned = scrub("ana lopez and Lopez and Ana; we will ask Will, and Jo; banana", names)
    assert cleaned == (
        f"{REMOVED} and {REMOVED} and {REMOVED}; we will ask {REMOVED}, and {REMOVED}; banana"
    )
