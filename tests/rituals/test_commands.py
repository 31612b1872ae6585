"""The `/tandem admin` language, over the shapes of text Slack actually sends."""

from __future__ import annotations

import pytest

from rituals.commands import (
    SUBCOMMAND_NAMES,
    AddPartnership,
    AddTeam,
    AdminHelp,
    AdminStatus,
    CommandError,
    ListPartnerships,
    ListTeams,
    RemovePartnership,
    RemoveTeam,
    SyncTeams,
    TeamSource,
    parse_admin,
    split_subcommand,
    suggest,
)
from rituals.interactions import InterdependenceType


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


@pytest.mark.parametrize(("typo", "meant"), [("kudo", "kudos"), ("hlep", "help"), ("balanse", "balance")])
def test_suggest_finds_the_nearest_subcommand(typo: str, meant: str) -> None:
    assert suggest(typo) == meant


def test_suggest_gives_up_on_nonsense() -> None:
    assert suggest("zzzzzz") is None
    assert "admin" in SUBCOMMAND_NAMES


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
        ("team add Marketing <!subteam^S0614|@marketing>", AddTeam("Marketing", TeamSource("usergroup", "S0614"))),
        ("team add Marketing <!subteam^S0614>", AddTeam("Marketing", TeamSource("usergroup", "S0614"))),
        ('team add "IT Ops" <#C024BE91L|it-ops>', AddTeam("IT Ops", TeamSource("channel", "C024BE91L"))),
        ("team add IT Ops <#C024BE91L|it-ops>", AddTeam("IT Ops", TeamSource("channel", "C024BE91L"))),
        (
            "partnership add Marketing IT channel=<#C1|mkt-it> leaders=<@U1|ana>,<@U2|raj> type=sequential",
            AddPartnership(("Marketing", "IT"), "C1", ("U1", "U2"), InterdependenceType.SEQUENTIAL, "Marketing + IT"),
        ),
        (
            'partnership add Marketing IT Sales channel=<#C1> leaders=<@U1> name="Go to market"',
            AddPartnership(
                ("Marketing", "IT", "Sales"), "C1", ("U1",), InterdependenceType.RECIPROCAL, "Go to market"
            ),
        ),
        (
            "partnership add Marketing IT channel=<#C1> leaders=<@U1>,<@U1> TYPE=Pooled",
            AddPartnership(("Marketing", "IT"), "C1", ("U1",), InterdependenceType.POOLED, "Marketing + IT"),
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
    assert isinstance(result, CommandError)
    assert fragment in result.message
