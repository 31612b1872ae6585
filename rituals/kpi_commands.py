"""`/tandem kpi …`: the words members and admins type, parsed into typed commands.

/tandem kpi                                  your KPIs
/tandem kpi add "Name" baseline=10 target=20 by=2026-06-30 owners=@a,@b
                [unit=%] [lower] [monthly] [partnership="Marketing + IT"]
/tandem kpi update "Name" 14.5 a one-line note
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
_NAME = re.compile(r"^[\w][\w .&'%/+\-]{0,59}$")
_UNIT = re.compile(r"^[\w%$€£/ .\-]{0,20}$")
_OPTIONS = ("baseline", "target", "by", "owners", "unit", "partnership")


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


KpiCommand = ListKpis | AddKpi | UpdateKpi


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
    return InvalidCommand(
        f"`/tandem kpi {echo(head)}` is not a KPI command: try `/tandem kpi`, "
        "`/tandem kpi add …` or `/tandem kpi update …`."
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
    owner_tokens = tokenize(options.get("owners", ""))
    owners = tuple(dict.fromkeys(t.user_id for t in owner_tokens if isinstance(t, UserMention)))
    stray = "".join(t.text for t in owner_tokens if isinstance(t, Text)).replace(",", "").strip()
    if len(owners) < 2 or stray:
        return InvalidCommand(
            "Give owners as `owners=@ana,@raj` (picked from autocomplete), "
            "at least one from each team."
        )
    unit = options.get("unit", "").strip()
    if not _UNIT.match(unit):
        return InvalidCommand("`unit=` takes up to 20 letters or symbols, e.g. `unit=%`.")
    partnership = options.get("partnership", "").strip() or None
    return AddKpi(
        name, baseline, target, target_date, owners, unit, direction, cadence, partnership
    )


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
