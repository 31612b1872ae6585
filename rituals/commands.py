"""The `/tandem` command language: its subcommands, and parsing of the admin setup ones.

Parsing lives here so every shape of text can be tested without Slack; the
bot only maps a parsed command to a service call and a reply.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from datetime import date

from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import MEMBER_LOCAL, PRESETS, validate_cron, validate_timezone
from rituals.slack_text import (
    ChannelMention,
    Text,
    UsergroupMention,
    UserMention,
    echo,
    record_id,
    tokenize,
)


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
    Subcommand(
        "kpi",
        "/tandem kpi [add|edit|remove|restore …|update NAME VALUE note…]",
        "Your joint KPIs; check in on one; admins and leaders add, edit and remove them.",
    ),
    Subcommand(
        "optout", "/tandem optout shadowing|standup|kudos|pulse", "Stop one ritual for you."
    ),
    Subcommand("optin", "/tandem optin shadowing|standup|kudos|pulse", "Join a ritual again."),
    Subcommand("away", "/tandem away until YYYY-MM-DD", "Pause every ritual for you until a date."),
    Subcommand("back", "/tandem back", "End your away time now."),
    Subcommand("mydata", "/tandem mydata", "Get everything Tandem keeps about you, as a file."),
    Subcommand(
        "forget",
        "/tandem forget me",
        "Erase your answers, reflections and profile (asks you to confirm first).",
    ),
    Subcommand(
        "admin",
        "/tandem admin team|partnership|ritual|status …",
        "Set up teams, partnerships and rituals (admins only). Try `/tandem admin help`.",
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
        "type=reciprocal|sequential|pooled [paused]",
        "Pair two or more teams around a joint channel, with its four rituals: weekly "
        "shadowing, weekday standups, a weekly kudos prompt and the monthly digest "
        "(`paused`: they wait until you resume them).",
    ),
    ("/tandem admin partnership list", "List partnerships."),
    ("/tandem admin partnership remove <name>", "Remove a partnership and its rituals."),
    ("/tandem admin status", "Outbox and scheduler health."),
    (
        "/tandem admin holiday add|remove <team> YYYY-MM-DD",
        "Mark a team holiday: nobody on the team is prompted that day.",
    ),
    ("/tandem admin holiday list [team]", "Upcoming team holidays."),
    ("/tandem admin rituals", "List rituals: id, schedule in words, next fire, paused."),
    (
        '/tandem admin ritual <id> schedule "30 9 * * 1-5"|<preset> [tz=Europe/London|member-local]',
        "Change a ritual's schedule (presets: " + ", ".join(PRESETS) + ").",
    ),
    (
        "/tandem admin ritual <id> pause|resume|run-now|delete",
        "Pause or resume a ritual, run it once now, or delete it.",
    ),
    (
        "/tandem admin ritual add <partnership> standup|shadowing|kudos_prompt|digest [preset] [tz=…]",
        "Add a ritual to a partnership with its kind's defaults.",
    ),
    ("/tandem admin audit [count]", "The last changes: who, what, before, after, when."),
)


@dataclass(frozen=True, slots=True)
class InvalidCommand:
    """The text is not a command we know; `message` tells the member how to write it."""

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


# --- a member's own data ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MyData:
    pass


@dataclass(frozen=True, slots=True)
class ForgetMe:
    confirmed: bool


MYDATA_USAGE = (
    "`/tandem mydata` takes no words after it: it sends you everything Tandem keeps about you."
)
FORGET_USAGE = (
    "To have Tandem forget you, send `/tandem forget me`; it tells you what goes and asks you "
    "to confirm with `/tandem forget me confirm`."
)


def parse_mydata(text: str) -> MyData | InvalidCommand:
    return MyData() if not text.strip() else InvalidCommand(MYDATA_USAGE)


def parse_forget(text: str) -> ForgetMe | InvalidCommand:
    """`me` asks what would go; `me confirm` (and only that) does it."""
    words = text.lower().split()
    if words == ["me"]:
        return ForgetMe(confirmed=False)
    if words == ["me", "confirm"]:
        return ForgetMe(confirmed=True)
    return InvalidCommand(FORGET_USAGE)


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
    paused: bool = False  # its starter rituals begin paused


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


@dataclass(frozen=True, slots=True)
class AddHoliday:
    team: str
    day: date


@dataclass(frozen=True, slots=True)
class RemoveHoliday:
    team: str
    day: date


@dataclass(frozen=True, slots=True)
class ListHolidays:
    team: str | None


@dataclass(frozen=True, slots=True)
class ListRituals:
    pass


@dataclass(frozen=True, slots=True)
class ScheduleRitual:
    """A new schedule: a cron expression or a preset name (exactly one), and maybe a zone."""

    ritual_id: int
    cron: str | None
    preset: str | None
    timezone: str | None  # None: keep the ritual's zone


@dataclass(frozen=True, slots=True)
class RitualAction:
    ritual_id: int
    action: str  # one of RITUAL_ACTIONS


@dataclass(frozen=True, slots=True)
class AddRitual:
    partnership: str  # a partnership's name or id
    kind: RitualKind
    preset: str | None
    timezone: str | None


@dataclass(frozen=True, slots=True)
class ShowAudit:
    limit: int = 20


RITUAL_ACTIONS = ("pause", "resume", "run-now", "delete")
MAX_AUDIT_ENTRIES = 50


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
    | AddHoliday
    | RemoveHoliday
    | ListHolidays
    | ListRituals
    | ScheduleRitual
    | RitualAction
    | AddRitual
    | ShowAudit
)

_TEAM_NAME = re.compile(r"^[\w][\w .&'-]{0,79}$")
_ADMIN_AREAS = ("team", "partnership", "status", "help", "holiday", "rituals", "ritual", "audit")


def quoted_words(text: str) -> list[str] | InvalidCommand:
    """Words split as a shell would, so "double quotes" keep a name with spaces whole."""
    try:
        return shlex.split(text)
    except ValueError:
        return InvalidCommand('A quote is not closed. Put names with spaces in "double quotes".')


def is_team_name(name: str) -> bool:
    """Whether `name` can name a team (the same rule `team add` applies)."""
    return _TEAM_NAME.match(name) is not None


def _valid_team_name(name: str) -> InvalidCommand | None:
    if not _TEAM_NAME.match(name):
        return InvalidCommand(
            f"`{echo(name)}` is not a usable team name: use letters, digits, spaces, . & ' - "
            "(at most 80 characters)."
        )
    return None


def _parse_source(raw: str) -> TeamSource | InvalidCommand:
    tokens = [t for t in tokenize(raw) if not (isinstance(t, Text) and not t.text.strip())]
    if len(tokens) == 1 and isinstance(tokens[0], UsergroupMention):
        return TeamSource("usergroup", tokens[0].usergroup_id)
    if len(tokens) == 1 and isinstance(tokens[0], ChannelMention):
        return TeamSource("channel", tokens[0].channel_id)
    return InvalidCommand(
        "Name the team's members with a user group (`@marketing`) or a channel (`#it-team`), "
        "picked from Slack's autocomplete so it becomes a link."
    )


def parse_admin(text: str) -> AdminCommand | InvalidCommand:
    area, rest = split_subcommand(text)
    if area in ("", "help"):
        return AdminHelp()
    if area == "status":
        return AdminStatus()
    if area == "team":
        return _parse_team(rest)
    if area == "partnership":
        return _parse_partnership(rest)
    if area == "holiday":
        return _parse_holiday(rest)
    if area == "rituals":
        return ListRituals()
    if area == "ritual":
        return _parse_ritual(rest)
    if area == "audit":
        return _parse_audit(rest)
    hint = suggest(area, _ADMIN_AREAS)
    return InvalidCommand(
        f"I don't know `admin {echo(area)}`." + (f" Did you mean `admin {hint}`?" if hint else "")
    )


def _parse_team(rest: str) -> AdminCommand | InvalidCommand:
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
            else InvalidCommand("Which team? `/tandem admin team remove Marketing`")
        )
    if action == "add":
        # The source is the last token (a Slack link); the name is everything before it.
        match = re.match(r"^(?P<name>.+?)\s+(?P<source><[^>]+>)\s*$", args)
        if not match:
            return InvalidCommand(
                "Usage: `/tandem admin team add Marketing @marketing` (a user group) "
                "or `/tandem admin team add IT #it-team` (a channel)."
            )
        name = match["name"].strip().strip('"')
        error = _valid_team_name(name)
        if error:
            return error
        source = _parse_source(match["source"])
        return source if isinstance(source, InvalidCommand) else AddTeam(name, source)
    hint = suggest(action, ("add", "list", "remove", "sync")) if action != "help" else None
    return InvalidCommand(
        "Team commands: `add`, `list`, `remove`, `sync`."
        + (f" Did you mean `{hint}`?" if hint else "")
    )


def _parse_partnership(rest: str) -> AdminCommand | InvalidCommand:
    action, args = split_subcommand(rest)
    if action == "list":
        return ListPartnerships()
    if action == "remove":
        name = args.strip().strip('"')
        return (
            RemovePartnership(name)
            if name
            else InvalidCommand(
                'Which partnership? `/tandem admin partnership remove "Marketing + IT"`'
            )
        )
    if action != "add":
        hint = suggest(action, ("add", "list", "remove"))
        return InvalidCommand(
            "Partnership commands: `add`, `list`, `remove`."
            + (f" Did you mean `{hint}`?" if hint else "")
        )
    words = quoted_words(args)
    if isinstance(words, InvalidCommand):
        return words
    teams: list[str] = []
    options: dict[str, str] = {}
    paused = False
    for word in words:
        key, eq, value = word.partition("=")
        if not eq and word.lower() == "paused":
            paused = True
        elif eq and key.lower() in ("channel", "leaders", "type", "name"):
            options[key.lower()] = value
        elif eq:
            return InvalidCommand(
                f"Unknown option `{echo(key)}=`; use channel=, leaders=, type= or name=."
            )
        else:
            teams.append(word)
    if len(teams) < 2:
        return InvalidCommand(
            "Name at least two teams: `/tandem admin partnership add Marketing IT channel=#mkt-it "
            "leaders=@ana,@raj type=reciprocal`"
        )
    if len({t.lower() for t in teams}) != len(teams):
        return InvalidCommand("A partnership needs different teams; a team was named twice.")
    channel = [t for t in tokenize(options.get("channel", "")) if isinstance(t, ChannelMention)]
    if len(channel) != 1:
        return InvalidCommand(
            "Give the joint channel as `channel=#channel-name` (pick it from autocomplete)."
        )
    leader_tokens = tokenize(options.get("leaders", ""))
    leaders = tuple(dict.fromkeys(t.user_id for t in leader_tokens if isinstance(t, UserMention)))
    stray = "".join(t.text for t in leader_tokens if isinstance(t, Text)).replace(",", "").strip()
    if not leaders or stray:
        return InvalidCommand(
            "Give leaders as `leaders=@ana,@raj` (people picked from autocomplete)."
        )
    raw_type = options.get("type", InterdependenceType.RECIPROCAL.value).lower()
    try:
        kind = InterdependenceType(raw_type)
    except ValueError:
        return InvalidCommand(f"`type={raw_type}` is not one of reciprocal, sequential, pooled.")
    name = options.get("name") or " + ".join(teams)
    return AddPartnership(tuple(teams), channel[0].channel_id, leaders, kind, name, paused)


def _parse_holiday(rest: str) -> AdminCommand | InvalidCommand:
    """`add|remove <team> YYYY-MM-DD` (team names with spaces in quotes) or `list [team]`."""
    action, args = split_subcommand(rest)
    words = quoted_words(args)
    if isinstance(words, InvalidCommand):
        return words
    if action == "list":
        return ListHolidays(" ".join(words) or None)
    if action not in ("add", "remove"):
        hint = suggest(action, ("add", "remove", "list"))
        return InvalidCommand(
            "Holiday commands: `add`, `remove`, `list`."
            + (f" Did you mean `{hint}`?" if hint else "")
        )
    usage = f"Usage: `/tandem admin holiday {action} Marketing 2026-12-24`"
    if len(words) < 2:
        return InvalidCommand(usage)
    try:
        day = date.fromisoformat(words[-1])
    except ValueError:
        return InvalidCommand(f"`{echo(words[-1])}` is not a date; write it as YYYY-MM-DD. {usage}")
    team = " ".join(words[:-1])
    return AddHoliday(team, day) if action == "add" else RemoveHoliday(team, day)


# --- rituals -------------------------------------------------------------------

_KIND_NAMES: dict[str, RitualKind] = {
    **{kind.value: kind for kind in RitualKind},
    "kudos": RitualKind.KUDOS_PROMPT,
    "kudos-prompt": RitualKind.KUDOS_PROMPT,
}
_ACTION_NAMES = {
    "pause": "pause",
    "resume": "resume",
    "run-now": "run-now",
    "run_now": "run-now",
    "run": "run-now",
    "delete": "delete",
}
# Slack clients may turn straight quotes into curly ones.
_CURLY_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})
_SCHEDULE_USAGE = (
    'Usage: `/tandem admin ritual 12 schedule "30 9 * * 1-5" tz=member-local` '
    "or `/tandem admin ritual 12 schedule weekdays_0930`."
)


def _parse_ritual(rest: str) -> AdminCommand | InvalidCommand:
    """`<id> schedule …`, `<id> pause|resume|run-now|delete` or `add <partnership> <kind> [preset]`."""
    words = quoted_words(rest.translate(_CURLY_QUOTES))
    if isinstance(words, InvalidCommand):
        return words
    if words and words[0].lower() == "add":
        return _parse_add_ritual(words[1:])
    if not words:
        return InvalidCommand(
            "Which ritual? Give its id: `/tandem admin ritual 12 pause` "
            "(`/tandem admin rituals` lists them), or `/tandem admin ritual add …`."
        )
    ritual_id = record_id(words[0].removeprefix("#"))
    if ritual_id is None:
        return InvalidCommand(
            f"Which ritual? `{echo(words[0], 20)}` is not a ritual id. Give its number: "
            "`/tandem admin ritual 12 pause` (`/tandem admin rituals` lists them), "
            "or `/tandem admin ritual add …`."
        )
    verb = words[1].lower() if len(words) > 1 else ""
    if verb == "schedule":
        return _parse_schedule(ritual_id, words[2:])
    action = _ACTION_NAMES.get(verb)
    if action is None:
        hint = suggest(verb, ("schedule", *RITUAL_ACTIONS)) if verb else None
        return InvalidCommand(
            "Ritual commands: `schedule`, `pause`, `resume`, `run-now`, `delete`."
            + (f" Did you mean `{hint}`?" if hint else "")
        )
    if len(words) > 2:
        return InvalidCommand(
            f"`{action}` takes nothing more: `/tandem admin ritual {ritual_id} {action}`"
        )
    return RitualAction(ritual_id, action)


def _split_options(words: list[str]) -> tuple[list[str], dict[str, str]] | InvalidCommand:
    plain: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key.lower() in ("tz", "timezone"):
            options["tz"] = value
        elif eq:
            return InvalidCommand(f"Unknown option `{echo(key)}=`; only `tz=` is understood here.")
        else:
            plain.append(word)
    return plain, options


def _zone_option(options: dict[str, str]) -> str | InvalidCommand | None:
    zone = options.get("tz")
    if zone is None:
        return None
    if zone.lower() in (MEMBER_LOCAL, "local", "member"):
        return MEMBER_LOCAL
    problem = validate_timezone(zone)
    if problem:
        return InvalidCommand(
            f"{problem}. Use an IANA name such as Europe/London, or member-local."
        )
    return zone


def _parse_schedule(ritual_id: int, words: list[str]) -> AdminCommand | InvalidCommand:
    split = _split_options(words)
    if isinstance(split, InvalidCommand):
        return split
    plain, options = split
    zone = _zone_option(options)
    if isinstance(zone, InvalidCommand):
        return zone
    if not plain:
        return InvalidCommand(_SCHEDULE_USAGE)
    if len(plain) == 1 and plain[0].lower() in PRESETS:
        return ScheduleRitual(ritual_id, None, plain[0].lower(), zone)
    cron = " ".join(" ".join(plain).split())
    problem = validate_cron(cron)
    if problem:
        return InvalidCommand(f"{problem}. {_SCHEDULE_USAGE}")
    return ScheduleRitual(ritual_id, cron, None, zone)


def _parse_add_ritual(words: list[str]) -> AdminCommand | InvalidCommand:
    usage = (
        'Usage: `/tandem admin ritual add "Marketing + IT" standup [preset] [tz=member-local]` '
        "with a kind among standup, shadowing, kudos_prompt, digest."
    )
    split = _split_options(words)
    if isinstance(split, InvalidCommand):
        return split
    plain, options = split
    at = next((i for i, word in enumerate(plain) if word.lower() in _KIND_NAMES), None)
    if at is None or at == 0:
        return InvalidCommand(usage)
    kind = _KIND_NAMES[plain[at].lower()]
    rest = plain[at + 1 :]
    if len(rest) > 1:
        return InvalidCommand(usage)
    preset = rest[0].lower() if rest else None
    if preset is not None and preset not in PRESETS:
        return InvalidCommand(
            f"`{echo(rest[0])}` is not a preset; use one of {', '.join(PRESETS)}."
        )
    zone = _zone_option(options)
    if isinstance(zone, InvalidCommand):
        return zone
    return AddRitual(" ".join(plain[:at]), kind, preset, zone)


def _parse_audit(rest: str) -> AdminCommand | InvalidCommand:
    text = rest.strip()
    if not text:
        return ShowAudit()
    count = record_id(text)
    if count is None or count > MAX_AUDIT_ENTRIES:
        return InvalidCommand(f"Usage: `/tandem admin audit [1-{MAX_AUDIT_ENTRIES}]`")
    return ShowAudit(count)
