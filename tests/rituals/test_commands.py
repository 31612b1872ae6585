"""The `/tandem admin` language, over the shapes of text Slack actually sends."""

from __future__ import annotations

import pytest

from rituals.commands import (
    ADMIN_USAGE,
    SUBCOMMAND_NAMES,
    AddPartnership,
    AddRitual,
    AddTeam,
    AdminHelp,
    AdminStatus,
    ForgetMe,
    InvalidCommand,
    ListPartnerships,
    ListRituals,
    ListTeams,
    MyData,
    RemovePartnership,
    RemoveTeam,
    RitualAction,
    ScheduleRitual,
    ShowAudit,
    SyncTeams,
    TeamSource,
    parse_admin,
    parse_forget,
    parse_mydata,
    split_subcommand,
    suggest,
)
from rituals.interactions import InterdependenceType, RitualKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("help", "")),
        ("  KUDOS  <@U1|ana> for it ", ("kudos", "<@U1|ana> for it")),
        ("help", ("help", "")),
    ],
)
def test_split_subcommand(text: str, expected: tuple[str, str]) -> None:
    assert split_subcommand(text) == expected


@pytest.mark.parametrize(
    ("typo", "meant"), [("kudo", "kudos"), ("hlep", "help"), ("balanse", "balance")]
)
def test_suggest_finds_the_nearest_subcommand(typo: str, meant: str) -> None:
    assert suggest(typo) == meant


def test_suggest_gives_up_on_nonsense() -> None:
    assert suggest("zzzzzz") is None
    assert "admin" in SUBCOMMAND_NAMES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("me", ForgetMe(confirmed=False)),
        ("  ME  ", ForgetMe(confirmed=False)),
        ("me confirm", ForgetMe(confirmed=True)),
        ("Me   Confirm", ForgetMe(confirmed=True)),
    ],
)
def test_forget_me_asks_first_and_acts_on_confirm_only(text: str, expected: ForgetMe) -> None:
    assert parse_forget(text) == expected


@pytest.mark.parametrize(
    "text", ["", "confirm", "you", "me now", "me confirm please", "<@U123>", "me <!channel>"]
)
def test_forget_anything_else_explains_itself(text: str) -> None:
    error = parse_forget(text)
    assert isinstance(error, InvalidCommand) and "/tandem forget me" in error.message
    assert "<!channel>" not in error.message


def test_mydata_takes_no_words() -> None:
    assert parse_mydata("") == MyData() and parse_mydata("  ") == MyData()
    error = parse_mydata("for <@U1>")
    assert isinstance(error, InvalidCommand) and "/tandem mydata" in error.message
    assert {"mydata", "forget"} <= set(SUBCOMMAND_NAMES)
    assert suggest("forgetme") == "forget" and suggest("mydat") == "mydata"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AdminHelp()),
        ("help", AdminHelp()),
        ("status", AdminStatus()),
        ("team list", ListTeams()),
        ("team sync", SyncTeams(None)),
        ("team sync Marketing", SyncTeams("Marketing")),
        ("team remove IT", RemoveTeam("IT")),
        ("partnership list", ListPartnerships()),
        ('partnership remove "Marketing + IT"', RemovePartnership("Marketing + IT")),
        (
            "team add Marketing <!subteam^S0614|@marketing>",
            AddTeam("Marketing", TeamSource("usergroup", "S0614")),
        ),
        (
            "team add Marketing <!subteam^S0614>",
            AddTeam("Marketing", TeamSource("usergroup", "S0614")),
        ),
        (
            'team add "IT Ops" <#C024BE91L|it-ops>',
            AddTeam("IT Ops", TeamSource("channel", "C024BE91L")),
        ),
        (
            "team add IT Ops <#C024BE91L|it-ops>",
            AddTeam("IT Ops", TeamSource("channel", "C024BE91L")),
        ),
        (
            "partnership add Marketing IT channel=<#C1|mkt-it> leaders=<@U1|ana>,<@U2|raj> type=sequential",
            AddPartnership(
                ("Marketing", "IT"),
                "C1",
                ("U1", "U2"),
                InterdependenceType.SEQUENTIAL,
                "Marketing + IT",
            ),
        ),
        (
            'partnership add Marketing IT Sales channel=<#C1> leaders=<@U1> name="Go to market"',
            AddPartnership(
                ("Marketing", "IT", "Sales"),
                "C1",
                ("U1",),
                InterdependenceType.RECIPROCAL,
                "Go to market",
            ),
        ),
        (
            "partnership add Marketing IT channel=<#C1> leaders=<@U1>,<@U1> TYPE=Pooled",
            AddPartnership(
                ("Marketing", "IT"), "C1", ("U1",), InterdependenceType.POOLED, "Marketing + IT"
            ),
        ),
        (
            "partnership add Marketing IT Paused channel=<#C1> leaders=<@U1>",
            AddPartnership(
                ("Marketing", "IT"),
                "C1",
                ("U1",),
                InterdependenceType.RECIPROCAL,
                "Marketing + IT",
                paused=True,
            ),
        ),
    ],
)
def test_admin_commands_parse(text: str, expected: object) -> None:
    assert parse_admin(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tem list", "Did you mean `admin team`"),
        ("team ad Marketing <#C1>", "Did you mean `add`"),
        ("team add Marketing", "Usage"),
        ("team add Marketing @marketing", "Usage"),
        ("team add Marketing <@U1|ana>", "user group"),
        ("team add <bad> <#C1>", "not a usable team name"),
        ("team remove", "Which team"),
        ("partnership add Marketing channel=<#C1> leaders=<@U1>", "at least two teams"),
        ("partnership add Marketing marketing channel=<#C1> leaders=<@U1>", "named twice"),
        ("partnership add Marketing IT channel=#mkt leaders=<@U1>", "joint channel"),
        ("partnership add Marketing IT channel=<#C1> leaders=ana", "leaders"),
        ("partnership add Marketing IT channel=<#C1> leaders=<@U1> type=matrix", "not one of"),
        ("partnership add Marketing IT channel=<#C1> leaders=<@U1> colour=red", "Unknown option"),
        ('partnership add "Marketing IT channel=<#C1>', "quote"),
        ("partnership frobnicate", "Partnership commands"),
    ],
)
def test_admin_errors_explain_what_to_do(text: str, fragment: str) -> None:
    result = parse_admin(text)
    assert isinstance(result, InvalidCommand)
    assert fragment in result.message


# --- rituals and the audit log ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rituals", ListRituals()),
        (
            'ritual 12 schedule "30 9 * * 1-5" tz=member-local',
            ScheduleRitual(12, "30 9 * * 1-5", None, "member-local"),
        ),
        (
            "ritual 12 schedule \u201c30 9 * * 1-5\u201d",
            ScheduleRitual(12, "30 9 * * 1-5", None, None),
        ),
        (
            "ritual #7 schedule 0  15 * * 4 TZ=Europe/London",
            ScheduleRitual(7, "0 15 * * 4", None, "Europe/London"),
        ),
        ("ritual 3 schedule Weekdays_0930", ScheduleRitual(3, None, "weekdays_0930", None)),
        (
            "ritual 3 schedule weekly_thursday_1500 tz=local",
            ScheduleRitual(3, None, "weekly_thursday_1500", "member-local"),
        ),
        ("ritual 12 pause", RitualAction(12, "pause")),
        ("ritual 12 RESUME", RitualAction(12, "resume")),
        ("ritual 12 run-now", RitualAction(12, "run-now")),
        ("ritual 12 run_now", RitualAction(12, "run-now")),
        ("ritual 12 delete", RitualAction(12, "delete")),
        (
            'ritual add "Marketing + IT" standup',
            AddRitual("Marketing + IT", RitualKind.STANDUP, None, None),
        ),
        (
            "ritual add Marketing + IT kudos weekly_thursday_1500",
            AddRitual("Marketing + IT", RitualKind.KUDOS_PROMPT, "weekly_thursday_1500", None),
        ),
        (
            "ritual add 4 digest tz=Europe/Paris",
            AddRitual("4", RitualKind.DIGEST, None, "Europe/Paris"),
        ),
        ("audit", ShowAudit(20)),
        ("audit 5", ShowAudit(5)),
    ],
)
def test_ritual_commands_parse(text: str, expected: object) -> None:
    assert parse_admin(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ritual", "Which ritual?"),
        ("ritual pause", "Which ritual?"),
        ("ritual 12", "Ritual commands"),
        ("ritual 12 pase", "Did you mean `pause`"),
        ("ritual 12 pause now", "takes nothing more"),
        ("ritual 12 schedule", "Usage"),
        ('ritual 12 schedule "61 9 * * *"', "not valid"),
        ('ritual 12 schedule "0 9 30 2 *"', "never fires"),
        ("ritual 12 schedule 0 9 * *", "5 fields"),
        ('ritual 12 schedule "0 9 * * *" tz=Mars/Base', "Unknown time zone"),
        ('ritual 12 schedule "0 9 * * *" zone=UTC', "Unknown option"),
        ('ritual 12 schedule "0 9 * * *', "quote"),
        ("ritual add standup", "Usage"),
        ("ritual add Launch", "Usage"),
        ("ritual add Launch standup hourly", "not a preset"),
        ("ritual add Launch standup weekdays_0930 extra", "Usage"),
        ("audit 0", "Usage"),
        ("audit many", "Usage"),
        ("ritualz", "Did you mean `admin ritual"),
    ],
)
def test_ritual_command_errors_explain_what_to_do(text: str, fragment: str) -> None:
    result = parse_admin(text)
    assert isinstance(result, InvalidCommand), result
    assert fragment in result.message


def test_admin_help_lists_the_ritual_commands() -> None:
    usages = " ".join(usage for usage, _ in ADMIN_USAGE)
    for command in (
        "admin rituals",
        "admin ritual <id> schedule",
        "run-now",
        "ritual add",
        "admin audit",
    ):
        assert command in usages
