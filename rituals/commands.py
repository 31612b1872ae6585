"""The `/tandem` command language: its subcommands, and parsing of the admin setup ones.

Parsing lives here so every shape of text can be tested without Slack; the
bot only maps a parsed command to a service call and a reply.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass

from rituals.interactions import InterdependenceType
from rituals.slack_text import ChannelMention, Text, UsergroupMention, UserMention, tokenize


@dataclass(frozen=True, slots=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    admin: bool = False


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "/tandem help", "Show this list."),
    Subcommand(
        "kudos",
        "/tandem kudos @someone for …",
        "Thank someone in public; cross-team kudos are marked.",
    ),
    Subcommand("pair", "/tandem pair", "Your current shadowing pairing and its status."),
    Subcommand("standup", "/tandem standup", "Answer today's joint standup."),
    Subcommand("balance", "/tandem balance", "Your own give and take this month, privately."),
    Subcommand("optout", "/tandem optout shadowing|standup|kudos", "Stop one ritual for you."),
    Subcommand("optin", "/tandem optin shadowing|standup|kudos", "Join a ritual again."),
    Subcommand("away", "/tandem away until YYYY-MM-DD", "Pause every ritual for you until a date."),
    Subcommand("back", "/tandem back", "End your away time now."),
    Subcommand(
        "admin",
        "/tandem admin team|partnership|status …",
        "Set up teams and partnerships (admins only). Try `/tandem admin help`.",
        admin=True,
    ),
)

SUBCOMMAND_NAMES: tuple[str, ...] = tuple(s.name for s in SUBCOMMANDS)

ADMIN_USAGE: tuple[tuple[str, str], ...] = (
    (
        "/tandem admin team add <name> <@usergroup or #channel>",
        "Define a team from a user group or channel.",
    ),
    ("/tandem admin team list", "List teams with member counts and last sync."),
    ("/tandem admin team remove <name>", "Remove a team (its partnerships must go first)."),
    ("/tandem admin team sync [name]", "Re-read team membership from Slack now."),
    (
        "/tandem admin partnership add <TeamA> <TeamB> channel=#joint leaders=@a,@b "
        "type=reciprocal|sequential|pooled",
        "Pair two or more teams around a joint channel.",
    ),
    ("/tandem admin partnership list", "List partnerships."),
    ("/tandem admin partnership remove <name>", "Remove a partnership and its rituals."),
    ("/tandem admin status", "Outbox and scheduler health."),
)


@dataclass(frozen=True, slots=True)
class CommandError:
    message: str


def split_subcommand(text: str) -> tuple[str, str]:
    """First word (lower-cased) and the untouched rest."""
    stripped = text.strip()
    if not stripped:
        return "help", ""
    head, _, rest = stripped.partition(" ")
    return head.lower(), rest.strip()


def suggest(word: str, choices: tuple[str, ...] = SUBCOMMAND_NAMES) -> str | None:
    matches = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


# --- admin setup commands ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamSource:
    kind: str  # "usergroup" | "channel"
    slack_id: str


@dataclass(frozen=True, slots=True)
class AddTeam:
    name: str
    source: TeamSource


@dataclass(frozen=True, slots=True)
class RemoveTeam:
    name: str


@dataclass(frozen=True, slots=True)
class ListTeams:
    pass


@dataclass(frozen=True, slots=True)
class SyncTeams:
    name: str | None


@dataclass(frozen=True, slots=True)
class AddPartnership:
    team_names: tuple[str, ...]
    channel_id: str
    leader_ids: tuple[str, ...]
    interdependence: InterdependenceType
    name: str


@dataclass(frozen=True, slots=True)
class RemovePartnership:
    name: str


@dataclass(frozen=True, slots=True)
class ListPartnerships:
    pass


@dataclass(frozen=True, slots=True)
class AdminStatus:
    pass


@dataclass(frozen=True, slots=True)
class AdminHelp:
    pass


AdminCommand = (
    AddTeam
    | RemoveTeam
    | ListTeams
    | SyncTeams
    | AddPartnership
    | RemovePartnership
    | ListPartnerships
    | AdminStatus
    | AdminHelp
)

_TEAM_NAME = re.compile(r"^[\w][\w .&'-]{0,79}$")
_ADMIN_AREAS = ("team", "partnership", "status", "help")


def _words(text: str) -> list[str] | CommandError:
    try:
        return shlex.split(text)
    except ValueError:
        return CommandError('A quote is not closed. Put names with spaces in "double quotes".')


def _valid_team_name(name: str) -> CommandError | None:
    if not _TEAM_NAME.match(name):
        return CommandError(
            f"`{name}` is not a usable team name: use letters, digits, spaces, . & ' - "
            "(at most 80 characters)."
        )
    return None


def _parse_source(raw: str) -> TeamSource | CommandError:
    tokens = [t for t in tokenize(raw) if not (isinstance(t, Text) and not t.text.strip())]
    if len(tokens) == 1 and isinstance(tokens[0], UsergroupMention):
        return TeamSource("usergroup", tokens[0].usergroup_id)
    if len(tokens) == 1 and isinstance(tokens[0], ChannelMention):
        return TeamSource("channel", tokens[0].channel_id)
    return CommandError(
        "Name the team's members with a user group (`@marketing`) or a channel (`#it-team`), "
        "picked from Slack's autocomplete so it becomes a link."
    )


def parse_admin(text: str) -> AdminCommand | CommandError:
    area, rest = split_subcommand(text)
    if area in ("", "help"):
        return AdminHelp()
    if area == "status":
        return AdminStatus()
    if area == "team":
        return _parse_team(rest)
    if area == "partnership":
        return _parse_partnership(rest)
    hint = suggest(area, _ADMIN_AREAS)
    return CommandError(
        f"I don't know `admin {area}`." + (f" Did you mean `admin {hint}`?" if hint else "")
    )


def _parse_team(rest: str) -> AdminCommand | CommandError:
    action, args = split_subcommand(rest)
    if action == "list":
        return ListTeams()
    if action == "sync":
        return SyncTeams(args.strip().strip('"') or None)
    if action == "remove":
        name = args.strip().strip('"')
        return (
            RemoveTeam(name)
            if name
            else CommandError("Which team? `/tandem admin team remove Marketing`")
        )
    if action == "add":
        # The source is the last token (a Slack link); the name is everything before it.
        match = re.match(r"^(?P<name>.+?)\s+(?P<source><[^>]+>)\s*$", args)
        if not match:
            return CommandError(
                "Usage: `/tandem admin team add Marketing @marketing` (a user group) "
                "or `/tandem admin team add IT #it-team` (a channel)."
            )
        name = match["name"].strip().strip('"')
        error = _valid_team_name(name)
        if error:
            return error
        source = _parse_source(match["source"])
        return source if isinstance(source, CommandError) else AddTeam(name, source)
    hint = suggest(action, ("add", "list", "remove", "sync")) if action != "help" else None
    return CommandError(
        "Team commands: `add`, `list`, `remove`, `sync`."
        + (f" Did you mean `{hint}`?" if hint else "")
    )


def _parse_partnership(rest: str) -> AdminCommand | CommandError:
    action, args = split_subcommand(rest)
    if action == "list":
        return ListPartnerships()
    if action == "remove":
        name = args.strip().strip('"')
        return (
            RemovePartnership(name)
            if name
            else CommandError(
                'Which partnership? `/tandem admin partnership remove "Marketing + IT"`'
            )
        )
    if action != "add":
        hint = suggest(action, ("add", "list", "remove"))
        return CommandError(
            "Partnership commands: `add`, `list`, `remove`."
            + (f" Did you mean `{hint}`?" if hint else "")
        )
    words = _words(args)
    if isinstance(words, CommandError):
        return words
    teams: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key.lower() in ("channel", "leaders", "type", "name"):
            options[key.lower()] = value
        elif eq:
            return CommandError(f"Unknown option `{key}=`; use channel=, leaders=, type= or name=.")
        else:
            teams.append(word)
    if len(teams) < 2:
        return CommandError(
            "Name at least two teams: `/tandem admin partnership add Marketing IT channel=#mkt-it "
            "leaders=@ana,@raj type=reciprocal`"
        )
    if len({t.lower() for t in teams}) != len(teams):
        return CommandError("A partnership needs different teams; a team was named twice.")
    channel = [t for t in tokenize(options.get("channel", "")) if isinstance(t, ChannelMention)]
    if len(channel) != 1:
        return CommandError(
            "Give the joint channel as `channel=#channel-name` (pick it from autocomplete)."
        )
    leader_tokens = tokenize(options.get("leaders", ""))
    leaders = tuple(dict.fromkeys(t.user_id for t in leader_tokens if isinstance(t, UserMention)))
    stray = "".join(t.text for t in leader_tokens if isinstance(t, Text)).replace(",", "").strip()
    if not leaders or stray:
        return CommandError(
            "Give leaders as `leaders=@ana,@raj` (people picked from autocomplete)."
        )
    raw_type = options.get("type", InterdependenceType.RECIPROCAL.value).lower()
    try:
        kind = InterdependenceType(raw_type)
    except ValueError:
        return CommandError(f"`type={raw_type}` is not one of reciprocal, sequential, pooled.")
    name = options.get("name") or " + ".join(teams)
    return AddPartnership(tuple(teams), channel[0].channel_id, leaders, kind, name)
