"""The ritual edit form's meaning: which settings each kind has, reading a submitted form, checking it.

The form shows a schedule (a preset, or a custom cron), a time zone, a
channel and one text input per setting the ritual's kind reads. A setting is
written as JSON (`[1, 2]`, `{"after_minutes": 240}`, `true`) or as plain
text (`09:00`); an empty input removes it, so the kind's default applies.
Some settings a kind reads belong to the partnership (kudos values and
allowance, the digest's bands and leaders), because they exist whether or
not the ritual does; the form edits those too.

Checking uses each kind's own parser (`rituals.standup.StandupSettings`
through `bot.standup.config_of`, `rituals.pairing.PairingSettings` through
`bot.shadowing.parse_settings`, `rituals.balance.BandThresholds`), and
every problem is reported by the form block it belongs to, so the modal can
show it inline.

Standups fire on their cron, and their `time` and `days` settings (used to
tell members when their next prompt is) follow it: the form does not show
them and a save derives them from the cron, which must then name one time of
day and no day of month.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.shadowing import SettingsProblem, parse_settings
from bot.standup import config_of
from rituals.balance import BandThresholds
from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import (
    MEMBER_LOCAL,
    PRESETS,
    Schedule,
    next_fire_times,
    validate_cron,
    validate_timezone,
)
from rituals.standup import DAY_NAMES, StandupSettingsError
from storage.rituals import schedule_from, validate

CUSTOM = "custom"
PREVIEW_COUNT = 5

# Block ids of the form; settings are SETTING_PREFIX + key.
PRESET_BLOCK = "schedule_preset"
CRON_BLOCK = "schedule_cron"
TIMEZONE_BLOCK = "schedule_tz"
CHANNEL_BLOCK = "ritual_channel"
LEADERS_BLOCK = "digest_leaders"
SETTING_PREFIX = "setting:"


@dataclass(frozen=True, slots=True)
class SettingField:
    key: str
    label: str
    hint: str
    partnership: bool = False  # stored in the partnership's settings, not the ritual's
    multiline: bool = False

    @property
    def block_id(self) -> str:
        return SETTING_PREFIX + self.key


_GRACE = SettingField(
    "grace_minutes", "Grace (minutes)", "How late a firing may still run after an outage."
)

FIELDS: dict[RitualKind, tuple[SettingField, ...]] = {
    RitualKind.STANDUP: (
        SettingField(
            "questions",
            "Questions",
            'JSON list: ["What did you get done?", …] or [{"key": "done", "text": "…"}, …]',
            multiline=True,
        ),
        SettingField("cutoff", "Cutoff", '{"after_minutes": 240} or {"at": "17:00"}'),
        SettingField("channel_timezone", "Channel time zone", "Where a fixed cutoff is read."),
        SettingField("max_answer_length", "Longest answer (characters)", "1-3000"),
        SettingField("stale_ask_after_days", "Call out open asks after (days)", "0-365"),
        _GRACE,
    ),
    RitualKind.SHADOWING: (
        SettingField("pair_size", "Pair size", "2, or 3 to allow trios"),
        SettingField("allow_trios", "Allow trios", "true or false"),
        SettingField("recency_window", "Recency window (rounds)", "Rounds before a pair repeats."),
        SettingField("min_overlap_hours", "Working-hours overlap (hours)", "0-24"),
        SettingField("workday_start", "Workday start", "Local time, e.g. 09:00"),
        SettingField("workday_end", "Workday end", "Local time, e.g. 17:00"),
        SettingField("reminder_days", "Reminder after (days)", "0-60"),
        SettingField("session_minutes", "Session length (minutes)", "15-240"),
        SettingField(
            "agendas",
            "Agendas",
            'JSON: {"Marketing > IT": "What to show", …}',
            multiline=True,
        ),
        _GRACE,
    ),
    RitualKind.KUDOS_PROMPT: (
        SettingField(
            "kudos_values",
            "Kudos values",
            'JSON list or comma-separated: ["customer-first", "ownership"]',
            partnership=True,
        ),
        SettingField(
            "kudos_daily_limit",
            "Daily allowance",
            "People one person may thank per day.",
            partnership=True,
        ),
        SettingField(
            "kudos_cross_team_exempt",
            "Cross-team kudos exempt",
            "true: thanks to the other team do not count against the allowance.",
            partnership=True,
        ),
        SettingField(
            "kudos_leaderboard",
            "Monthly leaderboard",
            "true: post last month's most thanked people in the joint channel. Off by default.",
            partnership=True,
        ),
        _GRACE,
    ),
    RitualKind.DIGEST: (
        SettingField(
            "balance",
            "Bands",
            'JSON overrides: {"reach": {"green": 0.4, "amber": 0.2}, "min_asks": 5}',
            partnership=True,
            multiline=True,
        ),
        SettingField(
            "min_group_size",
            "Smallest team shown",
            "Teams below this are hidden.",
            partnership=True,
        ),
        SettingField(
            "timezone", "Month boundary zone", "IANA zone the months are cut in.", partnership=True
        ),
        SettingField(
            "leaders_channel", "Leaders' channel", "Channel id that also gets the digest."
        ),
        _GRACE,
    ),
    RitualKind.KPI_CHECKIN: (_GRACE,),
    RitualKind.PULSE: (_GRACE,),
}


def fields_for(kind: str) -> tuple[SettingField, ...]:
    try:
        return FIELDS[RitualKind(kind)]
    except ValueError:
        return (_GRACE,)


def encode(value: Any) -> str:
    """A setting as the form shows it."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def decode(key: str, text: str) -> Any:
    """A setting as typed: JSON when it parses, else the text (a list for kudos values)."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        if key == "kudos_values":
            return [part.strip() for part in stripped.split(",") if part.strip()]
        return stripped


# --- the form's state ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormState:
    """What the form holds, as text, whether it came from a ritual or from Slack."""

    preset: str  # a PRESETS key or CUSTOM
    cron: str
    timezone: str
    channel_id: str | None
    settings: dict[str, str] = field(default_factory=dict)  # setting key -> text
    leaders: tuple[str, ...] | None = None  # digests only


def matching_preset(cron: str, settings: Mapping[str, Any]) -> str:
    for name, preset in PRESETS.items():
        if (
            preset.cron == cron
            and preset.every_n_weeks == int(settings.get("every_n_weeks", 1) or 1)
            and preset.first_working_day_only == bool(settings.get("first_working_day_only"))
        ):
            return name
    return CUSTOM


def initial_state(
    kind: str,
    cron: str,
    timezone: str,
    channel_id: str | None,
    settings: Mapping[str, Any],
    partnership_settings: Mapping[str, Any],
    leaders: tuple[str, ...],
) -> FormState:
    texts = {
        f.key: encode((partnership_settings if f.partnership else settings).get(f.key))
        for f in fields_for(kind)
    }
    return FormState(
        preset=matching_preset(cron, settings),
        cron=cron,
        timezone=timezone,
        channel_id=channel_id,
        settings=texts,
        leaders=leaders if kind == RitualKind.DIGEST.value else None,
    )


def state_from_values(kind: str, values: Mapping[str, Any]) -> FormState:
    """The form as Slack submitted it (view.state.values: block id -> action id -> value)."""

    def element(block_id: str) -> Mapping[str, Any]:
        actions = values.get(block_id)
        if not isinstance(actions, Mapping) or not actions:
            return {}
        first = next(iter(actions.values()))
        return first if isinstance(first, Mapping) else {}

    def text(block_id: str) -> str:
        return str(element(block_id).get("value") or "")

    selected = element(PRESET_BLOCK).get("selected_option") or {}
    leaders = element(LEADERS_BLOCK).get("selected_users")
    return FormState(
        preset=str(selected.get("value") or CUSTOM),
        cron=" ".join(text(CRON_BLOCK).split()),
        timezone=text(TIMEZONE_BLOCK).strip(),
        channel_id=element(CHANNEL_BLOCK).get("selected_conversation") or None,
        settings={f.key: text(f.block_id) for f in fields_for(kind)},
        leaders=tuple(str(u) for u in leaders) if isinstance(leaders, list) else None,
    )


# --- the schedule and its preview ------------------------------------------------


def schedule_parts(state: FormState) -> tuple[str, dict[str, Any]]:
    """The cron and the preset's schedule keys (every_n_weeks, first_working_day_only)."""
    preset = PRESETS.get(state.preset)
    if preset is None:
        return state.cron, {"every_n_weeks": None, "first_working_day_only": None}
    return preset.cron, {
        "every_n_weeks": preset.every_n_weeks if preset.every_n_weeks > 1 else None,
        "first_working_day_only": True if preset.first_working_day_only else None,
    }


def preview(
    state: FormState, ritual_settings: Mapping[str, Any], default_tz: str, now: datetime
) -> tuple[list[datetime], str, str | None]:
    """The next fire times (UTC), the zone they are shown in, or why there are none."""
    cron, keys = schedule_parts(state)
    zone = state.timezone or default_tz
    problem = validate_cron(cron) if cron else "Pick a preset or write a cron expression."
    problem = problem or validate_timezone(zone)
    if problem:
        return [], zone, problem
    shown_in = default_tz if zone == MEMBER_LOCAL else zone
    try:
        schedule = schedule_from(cron, zone, _merged(ritual_settings, keys))
        return next_fire_times(schedule, now, PREVIEW_COUNT, tz=shown_in), shown_in, None
    except (TypeError, ValueError) as error:
        return [], shown_in, str(error)


# --- checking a submitted form ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RitualEdit:
    """A checked form: what to write to the ritual and to its partnership."""

    cron: str
    timezone: str
    channel_id: str | None
    settings: dict[str, Any]  # the ritual's whole new settings
    partnership_settings: dict[str, Any]  # keys to set (None: remove)
    leaders: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class FormErrors:
    errors: dict[str, str]  # block id -> message


def check(
    kind: str,
    state: FormState,
    ritual_settings: Mapping[str, Any],
    interdependence_type: str,
) -> RitualEdit | FormErrors:
    """The edit the form asks for, or every problem with it by block id. Nothing is written."""
    errors: dict[str, str] = {}
    cron, keys = schedule_parts(state)
    if not cron:
        errors[CRON_BLOCK] = "Pick a preset, or choose Custom and write a cron expression."
    elif problem := validate_cron(cron):
        errors[CRON_BLOCK if state.preset == CUSTOM else PRESET_BLOCK] = problem
    zone = state.timezone
    if not zone:
        errors[TIMEZONE_BLOCK] = f"Give an IANA time zone such as Europe/London, or {MEMBER_LOCAL}."
    elif problem := validate_timezone(zone):
        errors[TIMEZONE_BLOCK] = problem
    ritual_changes: dict[str, Any] = dict(keys)
    partnership_changes: dict[str, Any] = {}
    for f in fields_for(kind):
        value = decode(f.key, state.settings.get(f.key, ""))
        (partnership_changes if f.partnership else ritual_changes)[f.key] = value
    settings = _merged(ritual_settings, ritual_changes)
    if kind == RitualKind.STANDUP.value and cron and CRON_BLOCK not in errors:
        derived = standup_time_and_days(cron)
        if isinstance(derived, str):
            errors[CRON_BLOCK if state.preset == CUSTOM else PRESET_BLOCK] = derived
        else:
            settings.update(derived)
    errors.update(_kind_problems(kind, settings, partnership_changes, interdependence_type))
    if kind == RitualKind.DIGEST.value and state.leaders is not None and not state.leaders:
        errors[LEADERS_BLOCK] = "Name at least one leader to receive the digest."
    if not errors and (problem := validate(kind, cron, zone, settings)):
        errors[CRON_BLOCK if state.preset == CUSTOM else PRESET_BLOCK] = problem
    if errors:
        return FormErrors(errors)
    return RitualEdit(
        cron=cron,
        timezone=zone,
        channel_id=state.channel_id,
        settings=settings,
        partnership_settings=partnership_changes,
        leaders=state.leaders,
    )


def standup_time_and_days(cron: str) -> dict[str, Any] | str:
    """The `time` and `days` a standup's cron fires at, or why it cannot be a standup's."""
    fields = cron.split()
    needs = (
        "A standup fires once a day at one time: use a cron such as `30 9 * * 1-5` "
        "(minute and hour as numbers, any day of the month)."
    )
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        return needs
    if fields[2] != "*" or fields[3] != "*":
        return needs
    week = next_fire_times(
        Schedule(cron, "UTC"), datetime(2001, 1, 1, tzinfo=UTC) - timedelta(seconds=1), 7
    )
    days = sorted({moment.weekday() for moment in week})
    return {
        "time": f"{int(fields[1]):02d}:{int(fields[0]):02d}",
        "days": [DAY_NAMES[day] for day in days],
    }


def _merged(settings: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(settings)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _kind_problems(
    kind: str,
    settings: dict[str, Any],
    partnership: dict[str, Any],
    interdependence_type: str,
) -> dict[str, str]:
    if kind == RitualKind.STANDUP.value:
        try:
            config_of(settings)
        except StandupSettingsError as problem:
            return {_block_of(kind, name): message for name, message in problem.errors.items()}
        return {}
    if kind == RitualKind.SHADOWING.value:
        try:
            parse_settings(settings)
        except SettingsProblem as problem:
            return {_block_naming(kind, str(problem)): str(problem)}
        return {}
    if kind == RitualKind.KUDOS_PROMPT.value:
        return _kudos_problems(partnership)
    if kind == RitualKind.DIGEST.value:
        return _digest_problems(settings, partnership, interdependence_type)
    return {}


def _kudos_problems(partnership: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = partnership.get("kudos_values")
    if values is not None and (
        not isinstance(values, list)
        or not all(isinstance(v, str) and v.strip() and len(v) <= 75 for v in values)
        or len(values) > 10
    ):
        errors[SETTING_PREFIX + "kudos_values"] = (
            "Give up to 10 values, each a short text: customer-first, ownership"
        )
    limit = partnership.get("kudos_daily_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        errors[SETTING_PREFIX + "kudos_daily_limit"] = "A whole number, 0 or more."
    exempt = partnership.get("kudos_cross_team_exempt")
    if exempt is not None and not isinstance(exempt, bool):
        errors[SETTING_PREFIX + "kudos_cross_team_exempt"] = "true or false"
    board = partnership.get("kudos_leaderboard")
    if board is not None and not isinstance(board, bool):
        errors[SETTING_PREFIX + "kudos_leaderboard"] = "true or false"
    return errors


def _digest_problems(
    settings: Mapping[str, Any], partnership: Mapping[str, Any], interdependence_type: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    bands = partnership.get("balance")
    if bands is not None:
        if not isinstance(bands, dict):
            errors[SETTING_PREFIX + "balance"] = (
                "A JSON object of overrides, or empty for defaults."
            )
        else:
            try:
                kind = InterdependenceType(interdependence_type)
                BandThresholds.from_settings(kind, bands)
            except ValueError as error:
                errors[SETTING_PREFIX + "balance"] = str(error)
    size = partnership.get("min_group_size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        errors[SETTING_PREFIX + "min_group_size"] = "A whole number, 1 or more."
    zone = partnership.get("timezone")
    if zone is not None and (
        not isinstance(zone, str) or zone == MEMBER_LOCAL or validate_timezone(zone)
    ):
        errors[SETTING_PREFIX + "timezone"] = "An IANA time zone such as Europe/London."
    channel = settings.get("leaders_channel")
    if channel is not None and (not isinstance(channel, str) or not channel.startswith(("C", "G"))):
        errors[SETTING_PREFIX + "leaders_channel"] = "A channel id such as C0123456789."
    return errors


def _block_of(kind: str, key: str) -> str:
    if key in ("time", "days"):
        return CRON_BLOCK
    known = {f.key for f in fields_for(kind)}
    return SETTING_PREFIX + key if key in known else CRON_BLOCK


def _block_naming(kind: str, message: str) -> str:
    for f in fields_for(kind):
        if message.startswith(f.key) or f"{f.key} " in message:
            return f.block_id
    return CRON_BLOCK
