"""`/tandem kpi …`: the words members and admins type, parsed into typed commands.

/tandem kpi                                  your KPIs
/tandem kpi add "Name" baseline=10 target=20 by=2026-06-30 owners=@a,@b
                [unit=%] [lower] [monthly] [partnership="Marketing + IT"]
/tandem kpi update "Name" 14.5 a one-line note
/tandem kpi edit "Name" [name="New name"] [baseline=…] [target=…] [by=…] [unit=…]
                [lower|higher] [weekly|monthly] [owners=@a,@b] [partnership=…]
/tandem kpi remove "Name" [partnership=…]     (kept with its check-ins; restore brings it back)
/tandem kpi restore "Name" [partnership=…]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from rituals.commands import InvalidCommand, quoted_words
from rituals.kpi import MAX_NAME, MAX_NOTE, Cadence, Direction
from rituals.slack_text import Text, UserMention, echo, tokenize

ADD_USAGE = (
    'Usage: `/tandem kpi add "Lead time" baseline=12 target=5 by=2026-06-30 lower '
    "owners=@ana,@raj [unit=days] [monthly] [partnership=…]` (owners from each team)."
)
UPDATE_USAGE = 'Usage: `/tandem kpi update "Lead time" 9.5 what changed, in one line`.'
EDIT_USAGE = (
    'Usage: `/tandem kpi edit "Lead time" target=4 [name="…"] [baseline=…] [by=YYYY-MM-DD] '
    "[unit=…] [lower|higher] [weekly|monthly] [owners=@ana,@raj] [partnership=…]`."
)
_NAME = re.compile(r"^[\w][\w .&'%/+\-]{0,59}$")
_UNIT = re.compile(r"^[\w%$€£/ .\-]{0,20}$")
_OPTIONS = ("baseline", "target", "by", "owners", "unit", "partnership")
_EDIT_OPTIONS = ("name", *_OPTIONS)


@dataclass(frozen=True, slots=True)
class ListKpis:
    pass


@dataclass(frozen=True, slots=True)
class AddKpi:
    name: str
    baseline: float
    target: float
    target_date: date
    owner_ids: tuple[str, ...]
    unit: str
    direction: Direction
    cadence: Cadence
    partnership: str | None


@dataclass(frozen=True, slots=True)
class UpdateKpi:
    name: str
    value: float
    note: str


@dataclass(frozen=True, slots=True)
class EditKpi:
    """Only the fields given change; None leaves a field as it is."""

    name: str
    partnership: str | None
    new_name: str | None = None
    baseline: float | None = None
    target: float | None = None
    target_date: date | None = None
    unit: str | None = None
    direction: Direction | None = None
    cadence: Cadence | None = None
    owner_ids: tuple[str, ...] | None = None

    @property
    def changes_nothing(self) -> bool:
        return all(
            getattr(self, field) is None
            for field in (
                "new_name",
                "baseline",
                "target",
                "target_date",
                "unit",
                "direction",
                "cadence",
                "owner_ids",
            )
        )


@dataclass(frozen=True, slots=True)
class RemoveKpi:
    name: str
    partnership: str | None


@dataclass(frozen=True, slots=True)
class RestoreKpi:
    name: str
    partnership: str | None


KpiCommand = ListKpis | AddKpi | UpdateKpi | EditKpi | RemoveKpi | RestoreKpi


def parse_number(raw: str) -> float | None:
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and abs(value) < 1e15 else None


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name)) and len(name) <= MAX_NAME


def parse(text: str) -> KpiCommand | InvalidCommand:
    head, _, rest = text.strip().partition(" ")
    action = head.lower()
    if not action or action == "list":
        return ListKpis()
    if action == "add":
        return _parse_add(rest)
    if action == "update":
        return _parse_update(rest)
    if action == "edit":
        return _parse_edit(rest)
    if action in ("remove", "restore"):
        return _parse_named(action, rest)
    return InvalidCommand(
        f"`/tandem kpi {echo(head)}` is not a KPI command: try `/tandem kpi`, "
        "`/tandem kpi add …`, `update …`, `edit …`, `remove …` or `restore …`."
    )


def _parse_add(rest: str) -> AddKpi | InvalidCommand:
    words = quoted_words(rest)
    if isinstance(words, InvalidCommand):
        return words
    names: list[str] = []
    options: dict[str, str] = {}
    direction, cadence = Direction.HIGHER, Cadence.WEEKLY
    for word in words:
        key, eq, value = word.partition("=")
        lowered = word.lower()
        if not eq and lowered in ("lower", "higher"):
            direction = Direction(lowered)
        elif not eq and lowered in ("weekly", "monthly"):
            cadence = Cadence(lowered)
        elif eq and key.lower() in _OPTIONS:
            options[key.lower()] = value
        elif eq:
            return InvalidCommand(f"Unknown option `{echo(key)}=`. {ADD_USAGE}")
        else:
            names.append(word)
    name = " ".join(names).strip()
    if not name or not valid_name(name):
        return InvalidCommand(
            "Give the KPI a name of up to 60 letters, digits and spaces. " + ADD_USAGE
        )
    baseline = parse_number(options.get("baseline", ""))
    target = parse_number(options.get("target", ""))
    if baseline is None or target is None:
        return InvalidCommand("`baseline=` and `target=` must both be numbers. " + ADD_USAGE)
    try:
        target_date = date.fromisoformat(options.get("by", ""))
    except ValueError:
        return InvalidCommand("Give the target date as `by=YYYY-MM-DD`. " + ADD_USAGE)
    owners = _owners(options.get("owners", ""))
    if isinstance(owners, InvalidCommand):
        return owners
    unit = _unit(options.get("unit", ""))
    if isinstance(unit, InvalidCommand):
        return unit
    partnership = options.get("partnership", "").strip() or None
    return AddKpi(
        name, baseline, target, target_date, owners, unit, direction, cadence, partnership
    )


def _owners(raw: str) -> tuple[str, ...] | InvalidCommand:
    tokens = tokenize(raw)
    owners = tuple(dict.fromkeys(t.user_id for t in tokens if isinstance(t, UserMention)))
    stray = "".join(t.text for t in tokens if isinstance(t, Text)).replace(",", "").strip()
    if len(owners) < 2 or stray:
        return InvalidCommand(
            "Give owners as `owners=@ana,@raj` (picked from autocomplete), "
            "at least one from each team."
        )
    return owners


def _unit(raw: str) -> str | InvalidCommand:
    unit = raw.strip()
    if not _UNIT.match(unit):
        return InvalidCommand("`unit=` takes up to 20 letters or symbols, e.g. `unit=%`.")
    return unit


_FLAGS = ("lower", "higher", "weekly", "monthly")


def _name_and_options(
    rest: str, allowed: tuple[str, ...], usage: str, flag_words: tuple[str, ...] = _FLAGS
) -> tuple[str, dict[str, str], list[str]] | InvalidCommand:
    """The KPI's name (the bare words), its key=value options and its flag words."""
    words = quoted_words(rest)
    if isinstance(words, InvalidCommand):
        return words
    names: list[str] = []
    flags: list[str] = []
    options: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key.lower() in allowed:
            options[key.lower()] = value
        elif eq:
            return InvalidCommand(f"Unknown option `{echo(key)}=`. {usage}")
        elif word.lower() in flag_words:
            flags.append(word.lower())
        else:
            names.append(word)
    name = " ".join(names).strip()
    if not name:
        return InvalidCommand("Name the KPI, in quotes if it has spaces. " + usage)
    return name, options, flags


def _parse_edit(rest: str) -> EditKpi | InvalidCommand:
    found = _name_and_options(rest, _EDIT_OPTIONS, EDIT_USAGE)
    if isinstance(found, InvalidCommand):
        return found
    name, options, flags = found
    new_name = options["name"].strip() if "name" in options else None
    if new_name is not None and not valid_name(new_name):
        return InvalidCommand("A KPI's name takes up to 60 letters, digits and spaces.")
    numbers: dict[str, float] = {}
    for key in ("baseline", "target"):
        if key in options:
            number = parse_number(options[key])
            if number is None:
                return InvalidCommand(f"`{key}=` must be a number. " + EDIT_USAGE)
            numbers[key] = number
    target_date = None
    if "by" in options:
        try:
            target_date = date.fromisoformat(options["by"])
        except ValueError:
            return InvalidCommand("Give the target date as `by=YYYY-MM-DD`. " + EDIT_USAGE)
    owners = _owners(options["owners"]) if "owners" in options else None
    if isinstance(owners, InvalidCommand):
        return owners
    unit = _unit(options["unit"]) if "unit" in options else None
    if isinstance(unit, InvalidCommand):
        return unit
    directions = [Direction(f) for f in flags if f in ("lower", "higher")]
    cadences = [Cadence(f) for f in flags if f in ("weekly", "monthly")]
    if len(set(directions)) > 1 or len(set(cadences)) > 1:
        return InvalidCommand("Say `lower` or `higher` once, and `weekly` or `monthly` once.")
    command = EditKpi(
        name=name,
        partnership=options.get("partnership", "").strip() or None,
        new_name=new_name,
        baseline=numbers.get("baseline"),
        target=numbers.get("target"),
        target_date=target_date,
        unit=unit,
        direction=directions[0] if directions else None,
        cadence=cadences[0] if cadences else None,
        owner_ids=owners,
    )
    if command.changes_nothing:
        return InvalidCommand("Say what to change. " + EDIT_USAGE)
    return command


def _parse_named(action: str, rest: str) -> RemoveKpi | RestoreKpi | InvalidCommand:
    usage = f'Usage: `/tandem kpi {action} "Lead time" [partnership=…]`.'
    found = _name_and_options(rest, ("partnership",), usage, flag_words=())
    if isinstance(found, InvalidCommand):
        return found
    name, options, _ = found
    partnership = options.get("partnership", "").strip() or None
    return RemoveKpi(name, partnership) if action == "remove" else RestoreKpi(name, partnership)


def _parse_update(rest: str) -> UpdateKpi | InvalidCommand:
    words = quoted_words(rest)
    if isinstance(words, InvalidCommand):
        return words
    # The value is the first word that is a number; the name is before it.
    for index, word in enumerate(words):
        value = parse_number(word)
        if value is not None and index > 0:
            name = " ".join(words[:index])
            note = " ".join(words[index + 1 :]).strip()
            if len(note) > MAX_NOTE:
                return InvalidCommand(f"Keep the note to one line ({MAX_NOTE} characters at most).")
            return UpdateKpi(name, value, note)
    return InvalidCommand(UPDATE_USAGE)
